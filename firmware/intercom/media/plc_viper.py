# The concealment loop of intercom.media.plc compiled by MicroPython's viper
# emitter (MicroPython only): the same integer arithmetic as
# Concealer.conceal's plain loop, so both give identical samples
# (tests/unit/test_media_jitter.py runs both on the same losses).
#
#   conceal(out, count, period, state)
#       count samples into out (16-bit LE, written a byte at a time: a
#       caller's buffer may start at an odd address): the pitch period
#       repeated at the loss's gain. period: array('h'); state, an
#       array('i'): the pitch, the phase in the period, the samples
#       concealed so far; the phase and that count are written back.
#
# The literals are plc.FULL_LEVEL_SAMPLES (80), FULL_LEVEL_SAMPLES +
# FADE_SAMPLES (480) and FADE_SAMPLES (400), with Q14 gains (16384): viper
# reads no module globals as machine ints. Products stay below 2**30.
# plc imports this only on MicroPython, inside try/except ImportError. Ship
# it as .mpy built with the board's -march (armv6m on RP2040).

import micropython


@micropython.viper
def _conceal(out: ptr8, count: int, period: ptr16, state: ptr32):  # noqa: F821
    pitch = state[0]
    phase = state[1]
    elapsed = state[2]
    index = 0
    while index < count:
        value = period[phase]
        if value >= 0x8000:
            value -= 0x10000
        if elapsed >= 80:
            if elapsed < 480:
                value = (value * (16384 - ((elapsed - 80) * 16384) // 400)) >> 14
            else:
                value = 0
        out[2 * index] = value & 0xFF
        out[2 * index + 1] = (value >> 8) & 0xFF
        phase += 1
        if phase == pitch:
            phase = 0
        elapsed += 1
        index += 1
    state[1] = phase
    state[2] = elapsed


def conceal(out, count, period, state):
    """See the top."""
    _conceal(out, count, period, state)
