# The per-sample loop of intercom.media.tones compiled by MicroPython's viper
# emitter (MicroPython only): the same integer arithmetic as
# ToneGenerator's plain loop, so both give identical samples
# (tests/unit/test_media_tones.py runs both on the same cadences).
#
#   synthesise(buffer, offset, count, state, quarter, peak)
#       count samples into buffer from byte offset: the sum of one sine
#       sample at each frequency's phase, faded over the first and last 32
#       samples of the step. state, an array('i'): position in the step,
#       the step's length, the number of frequencies n, then n phases and
#       n phase increments; the position and the phases are written back.
#       quarter: tones.QUARTER_WAVE, an array('H'); peak: each
#       frequency's peak. The sample at phase index i (0..255) is
#       tones.sine_sample(i, peak): the quarter wave mirrored, scaled and
#       rounded the same way.
#
# Samples are written a byte at a time (a caller's buffer may start at an
# odd address, where the RP2040 faults on 16-bit access); the quarter
# wave, an array, is aligned. The literals are tones.TABLE_SHIFT (16),
# PHASE_MASK (2**24 - 1), FADE_SAMPLES (32) and FADE_SHIFT (5): viper reads
# no module globals as machine ints. Products stay below 2**31 (a 15-bit
# quarter wave times a peak of at most 32767; 16-bit sums, fades of 5
# bits). tones imports this only on MicroPython, inside try/except
# ImportError. Ship it as .mpy built with the board's -march (armv6m on
# RP2040).

import micropython


@micropython.viper
def _synthesise(buffer: ptr8, offset: int, count: int, state: ptr32, quarter: ptr16, peak: int):  # noqa: F821
    position = state[0]
    length = state[1]
    frequencies = state[2]
    end = offset + 2 * count
    while offset < end:
        value = 0
        index = 0
        while index < frequencies:
            phase = state[3 + index]
            step = phase >> 16
            mirrored = step & 63
            if step & 64:
                mirrored = 64 - mirrored
            sample = (quarter[mirrored] * peak + 16383) >> 15
            if step & 128:
                sample = 0 - sample
            value += sample
            state[3 + index] = (phase + state[3 + frequencies + index]) & 0xFFFFFF
            index += 1
        fade = length - 1 - position
        if position < fade:
            fade = position
        if fade < 32:
            value = (value * fade) >> 5
        buffer[offset] = value & 0xFF
        buffer[offset + 1] = (value >> 8) & 0xFF
        offset += 2
        position += 1
    state[0] = position


def synthesise(buffer, offset, count, state, quarter, peak):
    """See the top."""
    _synthesise(buffer, offset, count, state, quarter, peak)
