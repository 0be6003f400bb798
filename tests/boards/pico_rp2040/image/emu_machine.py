# A stand-in for the `machine` module (test code on the emulated call's
# littlefs image): the real module's every name (Pin, WDT, Timer... work on
# the emulated RP2040 as on a Pico), except I2S. rp2040js runs PIO state
# machines on wall time, not on the emulated clock, so the rp2 I2S driver
# (PIO + DMA) cannot be paced there; this I2S keeps its interface and
# pacing instead:
#   RX  delivers a 400 Hz tone (24-bit left slot of 32-bit stereo frames, as
#       the INMP441 sends it) at 8000 frames per emulated second; poll()
#       reports it readable once a DMA buffer's worth (256 bytes, as the rp2
#       driver's) has come in, and a 4 ms timer wakes the CPU as the DMA
#       interrupt would.
#   TX  takes every frame at once and counts the bytes and the loudest
#       sample the door played (written_bytes, peak).

import io
import time

import machine as _machine
from micropython import const

for _name in dir(_machine):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_machine, _name)

_STREAM_POLL = const(3)
_POLLIN = const(1)
_POLLOUT = const(4)
_DMA_BYTES = const(256)
_WAKE_MS = const(4)
_TONE_HZ = const(400)
_AMPLITUDE = const(8000)
_FRAME_SAMPLES = const(160)  # 20 ms at 8 kHz: 8 whole periods of the tone


def _tone_frames():
    import math

    raw = bytearray(8 * _FRAME_SAMPLES)
    for index in range(_FRAME_SAMPLES):
        value = int(_AMPLITUDE * math.sin(2 * math.pi * _TONE_HZ * index / 8000)) & 0xFFFF
        raw[8 * index + 2] = value & 0xFF
        raw[8 * index + 3] = value >> 8
    return raw


def _wake(timer):
    pass


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
        self.written_bytes = 0
        self.peak = 0
        self._timer = None
        if mode == self.RX:
            # Small ints only and no copies: the stand-in must not add heap
            # garbage or CPU that the DMA-fed driver does not have.
            self._pattern = memoryview(_tone_frames())
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
        self._arrived = min(self._arrived + 8 * frames, 2 * len(self._pattern))
        return self._arrived

    def readinto(self, buffer):
        count = min(len(buffer), self._update())
        count -= count % 8
        pattern = self._pattern
        size = len(pattern)
        done = 0
        while done < count:
            part = min(count - done, size - self._phase)
            buffer[done : done + part] = pattern[self._phase : self._phase + part]
            self._phase = (self._phase + part) % size
            done += part
        self._arrived -= count
        return count

    def write(self, data):
        self.written_bytes += len(data)
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
