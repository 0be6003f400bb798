# MicroPython script: half-duplex echo control allocates nothing per frame.
#
#   MICROPYPATH=firmware micropython tests/core/half_duplex_heap.py [MODE]
#
# A far end talking in bursts, its echo and a visitor breaking in, frame by
# frame through HalfDuplex.process and .played (the runtime's order) on the
# fast path (viper); after a warm-up, 300 frames run under
# micropython.heap_lock(): any allocation raises MemoryError and the script
# exits non-zero. MODE "plain" runs the plain loops instead; "control" adds
# one deliberate allocation per frame (bytes(out)) to show that the lock
# catches it. Prints "OK <path> <muted frames> <break-ins>" on success.

import sys

import micropython
from intercom.media.half_duplex import HalfDuplex

FRAME = 160
WARM_UP = 60
LOCKED = 300


def frame(peak, period):
    """One frame of a triangle wave (16-bit LE), whole periods."""
    out = bytearray(2 * FRAME)
    for index in range(FRAME):
        phase = index % period
        quarter = period // 4
        if phase < quarter:
            value = peak * phase // quarter
        elif phase < 3 * quarter:
            value = peak - peak * (phase - quarter) // quarter
        else:
            value = -peak + peak * (phase - 3 * quarter) // quarter
        out[2 * index] = value & 0xFF
        out[2 * index + 1] = (value >> 8) & 0xFF
    return out


def main(mode):
    stage = HalfDuplex(FRAME, 20, 20, 160, 40, fast=mode != "plain")
    far = frame(9000, 16)
    echo = frame(5000, 16)
    visitor = frame(30000, 20)
    silence = bytearray(2 * FRAME)
    # per 40 frames: 16 far talking (its echo on the mic), 4 quiet, the
    # visitor over the far end for 8, 12 quiet
    script = []
    for index in range(40):
        talking = index < 16 or 20 <= index < 28
        mic = echo if index < 16 else (visitor if talking else silence)
        script.append((mic, far if talking else silence))
    sink = [None]

    def one(index):
        mic, speaker = script[index % 40]
        out = stage.process(mic)
        if mode == "control":
            sink[0] = bytes(out)
        stage.played(speaker)

    for index in range(WARM_UP):
        one(index)
    micropython.heap_lock()
    try:
        for index in range(WARM_UP, WARM_UP + LOCKED):
            one(index)
    finally:
        micropython.heap_unlock()
    print("OK", stage.path, stage.muted_frames, stage.break_ins)


main(sys.argv[1] if len(sys.argv) > 1 else "viper")
