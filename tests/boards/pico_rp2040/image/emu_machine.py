# A stand-in for the `machine` module (test code on the emulated call's
# littlefs image): the real module's every name (Pin, WDT, Timer... work on
# the emulated RP2040 as on a Pico), except I2S. rp2040js runs PIO state
# machines on wall time, not on the emulated clock, so the rp2 I2S driver
# (PIO + DMA) cannot be paced there; this I2S keeps its interface and
# pacing instead, modelled on ports/rp2/machine_i2s.c:
#   RX  delivers a 400 Hz tone (24-bit left slot of 32-bit stereo frames, as
#       the INMP441 sends it) at 8000 frames per emulated second. The rp2
#       driver's two chained DMA channels move 128 bytes each (16 frames,
#       2 ms) into its ring buffer and interrupt the CPU; poll() is readable
#       while the ring holds data. Here a 2 ms timer wakes the CPU as that
#       interrupt would, and a poll() finds whole 128-byte blocks readable.
#       (The TX channel's interrupt, every 8 ms, falls on every fourth of
#       these wake-ups.)
#   TX  takes every frame at once.
# The stand-in is Python from the filesystem, so its cycles are counted
# apart from the door's (host_tools/rp2040/profile.py: bytecode in RAM);
# it allocates nothing per call, so it adds no garbage the DMA-fed driver
# does not have.

import io
import time

import machine as _machine
import micropython
from micropython import const

for _name in dir(_machine):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_machine, _name)

_STREAM_POLL = const(3)
_POLLIN = const(1)
_POLLOUT = const(4)
_DMA_BYTES = const(128)
_WAKE_MS = const(2)
_TONE_HZ = const(400)
_AMPLITUDE = const(8000)
_FRAME_SAMPLES = const(160)  # 20 ms at 8 kHz: 8 whole periods of the tone


def _tone_frames():
    import math

    # Two copies of one 20 ms frame: from any phase in the first, a whole
    # frame's bytes follow without a wrap.
    frame = 8 * _FRAME_SAMPLES
    raw = bytearray(2 * frame)
    for index in range(_FRAME_SAMPLES):
        value = int(_AMPLITUDE * math.sin(2 * math.pi * _TONE_HZ * index / 8000)) & 0xFFFF
        for at in (8 * index, frame + 8 * index):
            raw[at + 2] = value & 0xFF
            raw[at + 3] = value >> 8
    return raw


def _wake(timer):
    pass


@micropython.viper
def _copy(target: ptr8, at: int, source: ptr8, start: int, count: int):  # noqa: F821 (viper)
    index = 0
    while index < count:
        target[at + index] = source[start + index]
        index += 1


class I2S(io.IOBase):
    RX = const(0)
    TX = const(1)
    MONO = const(0)
    STEREO = const(1)

    def __init__(
        self, id, sck=None, ws=None, sd=None, mode=0, bits=16, format=0, rate=8000, ibuf=0
    ):
        self.mode = mode
        self.rate = rate
        self._timer = None
        if mode == self.RX:
            # Small ints only, no copies, no slices: no garbage.
            self._pattern = _tone_frames()
            self._frame_bytes = len(self._pattern) // 2
            self._phase = 0
            self._arrived = 0  # bytes in, not read yet
            self._credit_us = 0
            self._last_us = time.ticks_us()
            self._us_per_frame = 1000000 // rate
            self._timer = _machine.Timer(period=_WAKE_MS, callback=_wake)

    def _update(self):
        now = time.ticks_us()
        self._credit_us += time.ticks_diff(now, self._last_us)
        self._last_us = now
        frames = self._credit_us // self._us_per_frame
        self._credit_us -= frames * self._us_per_frame
        self._arrived = min(self._arrived + 8 * frames, 2 * self._frame_bytes)
        return self._arrived

    def readinto(self, buffer):
        arrived = self._update()
        # Whole DMA blocks only, as the driver's ring receives them.
        count = min(len(buffer), arrived - arrived % _DMA_BYTES)
        count -= count % 8
        frame_bytes = self._frame_bytes
        done = 0
        while done < count:
            part = min(count - done, frame_bytes)
            _copy(buffer, done, self._pattern, self._phase, part)
            self._phase = (self._phase + part) % frame_bytes
            done += part
        self._arrived -= count
        return count

    def write(self, data):
        return len(data)

    def ioctl(self, request, argument):
        if request != _STREAM_POLL:
            return 0
        if self.mode == self.RX:
            return argument & _POLLIN if self._update() >= _DMA_BYTES else 0
        return argument & _POLLOUT

    def deinit(self):
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None
