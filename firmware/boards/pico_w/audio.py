# I2S audio on the Pico W (machine.I2S, rp2): an INMP441 microphone on one
# I2S instance (RX) and a MAX98357A amplifier on the other (TX), 8000 Hz,
# pins from intercom.pins.I2S_PINS["pico_w"] (ws = sck + 1 on rp2).
#
#   mic  RX reads 32-bit stereo frames (8 buffer bytes per sample); the
#        INMP441 with L/R to GND sends its 24-bit sample in the left slot,
#        MSB first: the top 16 bits (bytes 2 and 3 of each little-endian
#        8-byte frame) are our 16-bit sample.
#   amp  TX writes 16-bit mono frames as they are.
#
# Pacing: the mic's clock paces RTP. The rp2 driver's DMA moves the mic's
# bytes into its ring buffer in blocks of 128 bytes (2 ms) and the ring is
# readable as soon as it holds one, so polling the RX object woke
# the loop ten times per 20 ms frame, and the door spent about a fifth of
# the RP2040 at 125 MHz on those wakes, idle or in a call (make bench,
# emulated Pico). Instead, one poll at attach switches the driver to its
# asyncio mode (readinto() returns what the ring holds without blocking,
# extmod/machine_i2s.c), and a loop timer wakes once per frame:
#   - a whole frame goes to exchange(); if the ring held a newer whole
#     frame too (the loop was late), the older one is dropped and counted
#     (late_frames), so the mic's delay never grows past a frame;
#   - in step, a periodic ptime timer started when a frame was found whole:
#     the mic and the timer run from the same crystal, so each tick finds
#     the next frame whole (a late tick keeps the cadence);
#   - a frame not yet whole (the first one, or the I2S clock drifting
#     against the timer) is looked at again once its missing bytes are in
#     for sure, (missing bytes) / (bytes per ms) + 2 ms later, and the
#     periodic timer restarts from there. The loop clock counts whole
#     milliseconds, so a timer may fire up to 1 ms before its exact time:
#     one of the 2 ms covers that for this look, the other for every tick
#     after it (without it, ticks could fall just before the frame is whole
#     and restart the timer frame after frame). Only these restarts
#     allocate (a timer).
# TX writes never wait: what the ring buffer cannot take is dropped and
# counted (the amp then plays a gap rather than stall the loop).
#
# The mic conversion runs 50 times a second, idle or in a call: as a
# bytecode loop it took about 350,000 cycles a frame, 15-19 % of the RP2040
# at 125 MHz (make bench, emulated Pico); it is a viper loop (MicroPython
# only, like intercom.media.g711_viper; this module never runs on CPython).

import select

import micropython
from intercom.compat import const

MIC_ID = const(0)
AMP_ID = const(1)
RATE = const(8000)
RX_FRAMES_BUFFERED = const(4)  # I2S ring buffers hold this many frames
# The rp2 driver's DMA moves the mic's bytes into its ring buffer in blocks
# of this size (ports/rp2/machine_i2s.c, half its DMA buffer), 2 ms of
# 32-bit stereo; a frame (ptime a multiple of 10 ms) is a whole number of them.
DMA_BLOCK_BYTES = const(128)
RAW_BYTES_PER_MS = const(64)  # 8 samples a ms, 8 bytes each
TX_FRAMES_BUFFERED = const(4)


@micropython.viper
def stereo32_to_mono16(raw: ptr8, out: ptr8, samples: int):  # noqa: F821 (viper built-ins)
    """out[2i:2i+2] = the top 16 bits of the left slot of raw frame i."""
    source = 2
    target = 0
    end = samples << 1
    while target < end:
        out[target] = raw[source]
        out[target + 1] = raw[source + 1]
        source += 8
        target += 2


class PicoAudio:
    def __init__(self, machine, pins, ptime_ms):
        self.ptime_ms = ptime_ms
        self.frame_samples = 8 * ptime_ms
        raw_bytes = 8 * self.frame_samples
        mic = pins["mic"]
        amp = pins["amp"]
        Pin = machine.Pin  # noqa: N806 (the class)
        I2S = machine.I2S  # noqa: N806
        self.rx = I2S(
            MIC_ID,
            sck=Pin(mic["sck"]),
            ws=Pin(mic["ws"]),
            sd=Pin(mic["sd"]),
            mode=I2S.RX,
            bits=32,
            format=I2S.STEREO,
            rate=RATE,
            ibuf=raw_bytes * RX_FRAMES_BUFFERED,
        )
        self.tx = I2S(
            AMP_ID,
            sck=Pin(amp["sck"]),
            ws=Pin(amp["ws"]),
            sd=Pin(amp["sd"]),
            mode=I2S.TX,
            bits=16,
            format=I2S.MONO,
            rate=RATE,
            ibuf=2 * self.frame_samples * TX_FRAMES_BUFFERED,
        )
        self._raw = bytearray(raw_bytes)
        self._raw_view = memoryview(self._raw)
        # The ring delivers whole DMA blocks, so a frame is filled from a
        # block's start: one view per block start, made here, spares a
        # slice (an allocation) per read.
        self._block_views = [self._raw_view[at:] for at in range(0, raw_bytes, DMA_BLOCK_BYTES)]
        self._filled = 0
        self._mic = bytearray(2 * self.frame_samples)
        self._loop = None
        self._exchange = None
        self._timer = None
        self.frames = 0
        self.late_frames = 0
        self.dropped = 0

    def attach(self, loop, exchange):
        """Run the frames from the loop: exchange(mic) -> speaker PCM once per frame."""
        switch = select.poll()  # one poll: the driver's non-blocking (asyncio) mode
        switch.register(self.rx, select.POLLIN)
        switch.poll(0)
        switch.unregister(self.rx)
        self._loop = loop
        self._exchange = exchange
        self._timer = loop.call_later(0, self._on_frame_not_in_step)

    # The callbacks read the attach() state into locals (three names from
    # three names build no tuple in MicroPython): a helper returning them
    # would allocate a tuple per frame, and on the Pico every allocation
    # searches the heap (10,000-25,000 cycles measured, make bench).

    def _on_frame_due(self):
        """The periodic tick, in step with the mic."""
        loop, exchange, timer = self._loop, self._exchange, self._timer
        if loop is None or exchange is None or timer is None:
            return  # closed
        if self._pull():
            self._deliver(exchange)
            return
        timer.cancel()
        self._timer = loop.call_later(self._wait_ms(), self._on_frame_not_in_step)

    def _on_frame_not_in_step(self):
        loop, exchange = self._loop, self._exchange
        if loop is None or exchange is None:
            return  # closed
        if self._pull():
            self._timer = loop.call_every(self.ptime_ms, self._on_frame_due)
            self._deliver(exchange)
        else:
            self._timer = loop.call_later(self._wait_ms(), self._on_frame_not_in_step)

    def _wait_ms(self):
        missing = len(self._raw) - self._filled
        return (missing + RAW_BYTES_PER_MS - 1) // RAW_BYTES_PER_MS + 2

    def _deliver(self, exchange):
        self._take(self._mic)
        while self._pull():  # a newer whole frame waited: the older one is late
            self.late_frames += 1
            self._take(self._mic)
        self.play_frame(exchange(self._mic))

    def play_frame(self, pcm):
        written = self.tx.write(pcm)
        if written is not None and written < len(pcm):
            self.dropped += 1

    def _pull(self):
        """Read what the RX ring buffer has, up to a frame; True when the frame is whole."""
        filled = self._filled
        if filled % DMA_BLOCK_BYTES:
            count = self.rx.readinto(self._raw_view[filled:])
        else:
            count = self.rx.readinto(self._block_views[filled // DMA_BLOCK_BYTES])
        if count:
            self._filled = filled + count
        return self._filled == len(self._raw)

    def _take(self, buffer):
        stereo32_to_mono16(self._raw, buffer, self.frame_samples)  # pyright: ignore[reportArgumentType]
        self._filled = 0
        self.frames += 1

    def close(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None
        self.rx.deinit()
        self.tx.deinit()
