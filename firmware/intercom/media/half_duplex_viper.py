# The per-sample loops of intercom.media.half_duplex compiled by
# MicroPython's viper emitter (MicroPython only): the same integer
# arithmetic as level_plain and apply_gain_plain, so both give identical
# results (tests/unit/test_media_half_duplex.py runs both on the same input).
#
#   level(pcm, count)        mean |sample| of count 16-bit LE samples
#   apply_gain(source, target, count, start_gain, gain)
#                            target = source x gain (Q14), ramping from
#                            start_gain over the first 32 samples
#
# Samples are read and written a byte at a time (a caller's memoryview may
# start at an odd address, where the RP2040 faults on 16-bit access).
# Products stay below 2**30 (16-bit samples, Q14 gains), inside a 32-bit
# machine word. The literals 5 and 32 are half_duplex.RAMP_SHIFT and
# RAMP_SAMPLES (viper reads no module globals as machine ints).
# half_duplex imports this only on MicroPython, inside try/except
# ImportError. Ship it as .mpy built with the board's -march (armv6m on
# RP2040).

import micropython


@micropython.viper
def _sum_abs(index: int, end: int, pcm: ptr8) -> int:  # noqa: F821
    total = 0
    while index < end:
        value = pcm[index] | (pcm[index + 1] << 8)
        if value >= 0x8000:
            value = 0x10000 - value
        total += value
        index += 2
    return total


def level(pcm, count):
    """Mean absolute value of the first count samples of 16-bit LE pcm."""
    return _sum_abs(0, 2 * count, pcm) // count


@micropython.viper
def _scale(sample: int, count: int, source: ptr8, target: ptr8, start_gain: int, gain: int):  # noqa: F821
    step = gain - start_gain
    while sample < count:
        index = 2 * sample
        value = source[index] | (source[index + 1] << 8)
        if value >= 0x8000:
            value -= 0x10000
        current = gain
        if sample < 32:
            current = start_gain + ((step * sample) >> 5)
        value = (value * current) >> 14
        target[index] = value & 0xFF
        target[index + 1] = (value >> 8) & 0xFF
        sample += 1


def apply_gain(source, target, count, start_gain, gain):
    """target = source x gain (Q14), ramping from start_gain over 32 samples."""
    _scale(0, count, source, target, start_gain, gain)
