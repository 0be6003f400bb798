# The Goertzel filter bank of intercom.media.dtmf_inband compiled by
# MicroPython's viper emitter (MicroPython only): the same integer
# arithmetic as InbandDtmfDetector's plain loop, so both give identical
# states (tests/core runs both on the same input).
#
#   filter_samples(index, end, pcm, state, fixed)
#       runs the eight filters over the 16-bit little-endian samples in
#       pcm[index:end] (byte offsets, end - index even), updating state in
#       place: array('i') of 17 words, s1 and s2 of each filter stored as
#       value + STATE_OFFSET (so that a 32-bit load needs no sign extension
#       on a 64-bit machine), then the block's energy. fixed: array('i') of
#       the eight Q12 coefficients.
#
# |state| stays below 2**17 (dtmf_inband.INPUT_SHIFT keeps samples to 11
# bits), so products stay below 2**30 on a 32-bit port. dtmf_inband imports
# this only on MicroPython, inside try/except ImportError. The literal
# 1 << 18 in filter_samples is STATE_OFFSET (viper reads no module globals
# as machine ints). Ship it as .mpy built with the board's -march (armv6m on
# RP2040).

import micropython

STATE_OFFSET = 1 << 18


@micropython.viper
def filter_samples(index: int, end: int, pcm: ptr8, state: ptr32, fixed: ptr32):  # noqa: F821
    c0 = fixed[0]
    c1 = fixed[1]
    c2 = fixed[2]
    c3 = fixed[3]
    c4 = fixed[4]
    c5 = fixed[5]
    c6 = fixed[6]
    c7 = fixed[7]
    offset = 1 << 18
    a0 = state[0] - offset
    b0 = state[1] - offset
    a1 = state[2] - offset
    b1 = state[3] - offset
    a2 = state[4] - offset
    b2 = state[5] - offset
    a3 = state[6] - offset
    b3 = state[7] - offset
    a4 = state[8] - offset
    b4 = state[9] - offset
    a5 = state[10] - offset
    b5 = state[11] - offset
    a6 = state[12] - offset
    b6 = state[13] - offset
    a7 = state[14] - offset
    b7 = state[15] - offset
    energy = state[16]
    while index < end:
        value = pcm[index] | (pcm[index + 1] << 8)
        if value >= 0x8000:
            value -= 0x10000
        x = value >> 5
        energy += x * x
        t = x + ((c0 * a0) >> 12) - b0
        b0 = a0
        a0 = t
        t = x + ((c1 * a1) >> 12) - b1
        b1 = a1
        a1 = t
        t = x + ((c2 * a2) >> 12) - b2
        b2 = a2
        a2 = t
        t = x + ((c3 * a3) >> 12) - b3
        b3 = a3
        a3 = t
        t = x + ((c4 * a4) >> 12) - b4
        b4 = a4
        a4 = t
        t = x + ((c5 * a5) >> 12) - b5
        b5 = a5
        a5 = t
        t = x + ((c6 * a6) >> 12) - b6
        b6 = a6
        a6 = t
        t = x + ((c7 * a7) >> 12) - b7
        b7 = a7
        a7 = t
        index += 2
    state[0] = a0 + offset
    state[1] = b0 + offset
    state[2] = a1 + offset
    state[3] = b1 + offset
    state[4] = a2 + offset
    state[5] = b2 + offset
    state[6] = a3 + offset
    state[7] = b3 + offset
    state[8] = a4 + offset
    state[9] = b4 + offset
    state[10] = a5 + offset
    state[11] = b5 + offset
    state[12] = a6 + offset
    state[13] = b6 + offset
    state[14] = a7 + offset
    state[15] = b7 + offset
    state[16] = energy
