# Stand-in `machine` module for the MicroPython unix port (board tests of
# boards/pico_w/board.py). The unix port's own `machine` has no Pin, I2S or WDT;
# this file, first on MICROPYPATH, replaces it. Names, signatures and
# constants follow MicroPython's rp2 port.
#
# Test hooks, all through environment variables (os.getenv):
#   PICO_PIN_CONTROL  a file the test appends lines to: "press N",
#       "release N" (a button to the rail opposite its pull), "level N 0|1",
#       "bounce N pressed|released EDGES", "interrupt". Read whenever the
#       firmware calls a Pin method (the board samples its button pin every
#       few ms), so edges reach irq() handlers then, on the firmware's own
#       thread (like a soft IRQ on the Pico). "interrupt" raises
#       KeyboardInterrupt from that Pin call, as Ctrl-C on a Pico's USB
#       console does at the next bytecode. Tests stop the door this way, not
#       with SIGINT: the unix port raises SIGINT's KeyboardInterrupt from the
#       signal handler, even in the middle of a garbage collection, which
#       leaves the heap locked.
#   PICO_PIN_LOG      every output level written: "T_MS PIN LEVEL" lines.
#   PICO_I2S_MIC      raw 16-bit mono PCM the I2S microphone (RX) hears;
#       served as 32-bit stereo frames, the sample in the top 16 bits of the
#       left slot (an INMP441 with L/R to GND), zeros after the end. As on
#       rp2, readinto() blocks for the whole buffer until the object is
#       polled once; from then on (the driver's asyncio mode) it returns
#       what has arrived: the samples of the time since that poll, in DMA
#       blocks of 128 bytes, at most the ring's ibuf bytes (the oldest
#       beyond that are lost), and the poll is readable while any wait.
#   PICO_I2S_MIC_LOST "SAMPLE COUNT" per loss: COUNT samples of the mic
#       file from sample SAMPLE on were lost to a full ring (the door did not
#       read for longer than the ring holds, as a busy machine may make it).
#   PICO_I2S_AMP      raw 16-bit mono PCM file the amplifier (TX) writes.
#   PICO_WDT_LOG      one "T_MS" line per WDT feed (and "start TIMEOUT").

import io
import os
import time

_STREAM_POLL = 3
_POLLIN = 1
_EINVAL = 22
_DMA_BLOCK_BYTES = 128


def _env(name):
    value = os.getenv(name)
    return value if value else None


def _append(path, line):
    with open(path, "a") as log:
        log.write(line + "\n")


class _Board:
    """Pin levels and the control file's read position (one per process)."""

    def __init__(self):
        self.pins = {}
        self.control_offset = 0

    def poll_control(self):
        path = _env("PICO_PIN_CONTROL")
        if path is None:
            return
        try:
            with open(path, "rb") as control:
                control.seek(self.control_offset)
                data = control.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self.control_offset += end
        interrupt = False
        for line in data[:end].decode().split("\n"):
            words = line.split()
            if words == ["interrupt"]:
                interrupt = True
            elif words:
                self.run(words)
        if interrupt:
            raise KeyboardInterrupt

    def run(self, words):
        pin = self.pins.get(int(words[1]))
        if pin is None:
            print("machine stand-in: pin %s is not set up" % words[1])
            return
        active = 0 if pin._pull == Pin.PULL_UP else 1
        if words[0] == "press":
            pin._drive(active)
        elif words[0] == "release":
            pin._drive(1 - active)
        elif words[0] == "level":
            pin._drive(int(words[2]))
        elif words[0] == "bounce":
            final = active if words[2] == "pressed" else 1 - active
            edges = int(words[3])
            for index in range(edges):
                pin._drive(final if (edges - 1 - index) % 2 == 0 else 1 - final)


_board = _Board()


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self.id = id
        self._mode = self.IN
        self._pull = None
        self._level = 0
        self._handler = None
        self._trigger = 0
        _board.pins[id] = self
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None):
        if value is not None:
            self._level = 1 if value else 0
        if mode != -1:
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if self._mode == self.IN and value is None:
            self._level = 1 if self._pull == self.PULL_UP else 0
        if self._mode == self.OUT:
            self._log()

    def value(self, level=None):
        _board.poll_control()
        if level is None:
            return self._level
        self._level = 1 if level else 0
        if self._mode == self.OUT:
            self._log()
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self._handler = handler
        self._trigger = trigger

    def _drive(self, level):
        if level == self._level:
            return
        self._level = level
        edge = self.IRQ_RISING if level else self.IRQ_FALLING
        if self._handler is not None and self._trigger & edge:
            self._handler(self)

    def _log(self):
        path = _env("PICO_PIN_LOG")
        if path:
            _append(path, "%d %d %d" % (time.ticks_ms(), self.id, self._level))


class I2S(io.IOBase):
    RX = 0
    TX = 1
    MONO = 0
    STEREO = 1

    def __init__(self, id, *, sck, ws, sd, mode, bits, format, rate, ibuf, mck=None):
        if id not in (0, 1):
            raise ValueError("invalid id")
        if ws.id != sck.id + 1:
            raise ValueError("invalid ws (must be sck+1)")
        self.id = id
        self.mode = mode
        self.bits = bits
        self.format = format
        self.rate = rate
        if ibuf <= 0:
            raise ValueError("invalid ibuf")
        # rp2's machine_i2s.c allocates the ring buffer (ibuf bytes) on the
        # MicroPython heap: so does the stand-in, for the heap figures.
        self._ring = bytearray(ibuf)
        self._polled_at_us = None  # asyncio mode from the first poll on
        self._taken = 0  # bytes handed out (or lost) since then
        self._file = None
        if mode == self.RX:
            path = _env("PICO_I2S_MIC")
            self._file = open(path, "rb") if path else None
        else:
            path = _env("PICO_I2S_AMP")
            self._file = open(path, "wb") if path else None

    def ioctl(self, request, argument):
        if request != _STREAM_POLL:
            return -_EINVAL
        if self._polled_at_us is None:
            self._polled_at_us = time.ticks_us()
        return argument & _POLLIN if self._waiting() else 0

    def _waiting(self):
        """Bytes in the ring (asyncio mode): arrived whole blocks not taken."""
        elapsed_us = time.ticks_diff(time.ticks_us(), self._polled_at_us)
        arrived = 8 * (elapsed_us * self.rate // 1000000)
        arrived -= arrived % _DMA_BLOCK_BYTES
        lost = arrived - self._taken - len(self._ring)
        if lost > 0:
            if self._file:
                path = _env("PICO_I2S_MIC_LOST")
                if path:
                    _append(path, "%d %d" % (self._file.tell() // 2, lost // 8))
                self._file.seek(2 * (lost // 8), 1)  # 2 file bytes a frame
            self._taken += lost
        return arrived - self._taken

    def readinto(self, buf):
        if self.mode != self.RX:
            raise OSError(1)  # EPERM, as the port raises
        if self._polled_at_us is None:
            return self._fill(buf, len(buf) // 8)
        count = min(len(buf), self._waiting())
        count -= count % 8
        self._taken += count
        return self._fill(buf, count // 8)

    def _fill(self, buf, frames):
        # The samples pass through the ring buffer, a chunk at a time (no
        # garbage per frame: a Pico's DMA makes none either); zeros after
        # the end of the file.
        ring = memoryview(self._ring)
        chunk = len(self._ring) // 2
        done = 0
        while done < frames:
            count = min(chunk, frames - done)
            got = self._file.readinto(ring[: 2 * count]) if self._file else 0
            for index in range(count):
                base = 8 * (done + index)
                if 2 * index + 1 < got:
                    low = ring[2 * index]
                    high = ring[2 * index + 1]
                else:
                    low = high = 0
                buf[base] = 0
                buf[base + 1] = 0
                buf[base + 2] = low
                buf[base + 3] = high
                buf[base + 4] = buf[base + 5] = buf[base + 6] = buf[base + 7] = 0
            done += count
        return 8 * frames

    def write(self, buf):
        if self.mode != self.TX:
            raise OSError(1)
        if self._file:
            self._file.write(buf)
            self._file.flush()
        return len(buf)

    def irq(self, handler):
        raise OSError(95)  # not in the stand-in: the board polls instead

    def deinit(self):
        self._ring = bytearray(0)  # rp2 frees the ring buffer
        if self._file:
            self._file.close()
            self._file = None


class Timer:
    """A periodic timer whose callback never runs: on the unix port the
    door's process ends right after the board starts one (the watchdog
    feeder after Ctrl-C), and the WDT stand-in never resets anything."""

    def __init__(self, id=-1, *, mode=1, period=-1, callback=None):
        self.period = period
        self.callback = callback

    def deinit(self):
        self.callback = None


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout > 8388:
            raise ValueError("timeout too large")
        self.timeout = timeout
        path = _env("PICO_WDT_LOG")
        if path:
            _append(path, "start %d" % timeout)

    def feed(self):
        path = _env("PICO_WDT_LOG")
        if path:
            _append(path, "%d" % time.ticks_ms())


def reset():
    raise SystemExit(99)


def unique_id():
    return b"\xe6\x61\x38\x10\x13\x47\x2a\x2f"


def freq(hz=None):
    return 125000000
