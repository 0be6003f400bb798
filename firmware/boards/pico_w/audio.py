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
# Pacing (two ways, the board picks):
#   device  on rp2 the RX object goes into the loop's poll (I2S supports
#           stream poll; polling switches it to its asyncio mode, where
#           readinto() returns what the ring buffer holds without blocking).
#           Each readable wake pulls into the frame buffer; a full frame is
#           one audio tick, so the mic's clock paces RTP.
#   timer   the runtime's audio timer asks for a frame every ptime ms
#           (read_frame): used where poll cannot take the I2S object (the
#           unix port's stand-in is a Python object; MicroPython's poll
#           accepts only native streams). An incomplete frame is silence
#           and counted.
# TX writes never wait: what the ring buffer cannot take is dropped and
# counted (the amp then plays a gap rather than stall the loop).

try:
    from micropython import const
except ImportError:

    def const(__value):  # positional-only by its name, like micropython.const
        return __value


MIC_ID = const(0)
AMP_ID = const(1)
RATE = const(8000)
RX_FRAMES_BUFFERED = const(4)  # I2S ring buffers hold this many frames
TX_FRAMES_BUFFERED = const(4)


def stereo32_to_mono16(raw, out, samples):
    """out[2i:2i+2] = the top 16 bits of the left slot of raw frame i."""
    source = 2
    target = 0
    for _ in range(samples):
        out[target] = raw[source]
        out[target + 1] = raw[source + 1]
        source += 8
        target += 2


class PicoAudio:
    def __init__(self, machine, pins, ptime_ms):
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
        self._filled = 0
        self._mic = bytearray(2 * self.frame_samples)
        self._loop = None
        self.frames = 0
        self.short_frames = 0
        self.dropped = 0

    # -- device pacing (rp2) -------------------------------------------------

    def attach(self, loop, exchange):
        """Poll the RX object; exchange(mic) -> speaker PCM once per frame."""
        self._loop = loop

        def on_readable(source, poll_events):
            if self._pull():
                self._take(self._mic)
                self.play_frame(exchange(self._mic))

        loop.add_reader(self.rx, on_readable)

    # -- timer pacing -----------------------------------------------------------

    def read_frame(self, buffer):
        """Fill buffer with the next mic frame (silence when it is not there)."""
        if self._pull():
            self._take(buffer)
            return
        self.short_frames += 1
        for index in range(len(buffer)):
            buffer[index] = 0

    def play_frame(self, pcm):
        written = self.tx.write(pcm)
        if written is not None and written < len(pcm):
            self.dropped += 1

    # -- both ---------------------------------------------------------------------

    def _pull(self):
        """Read what the RX ring buffer has; True when a whole frame is in."""
        if self._filled < len(self._raw):
            count = self.rx.readinto(self._raw_view[self._filled :])
            if count:
                self._filled += count
        return self._filled >= len(self._raw)

    def _take(self, buffer):
        stereo32_to_mono16(self._raw, buffer, self.frame_samples)
        self._filled = 0
        self.frames += 1

    def close(self):
        if self._loop is not None:
            self._loop.remove_reader(self.rx)
            self._loop = None
        self.rx.deinit()
        self.tx.deinit()
