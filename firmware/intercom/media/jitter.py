# Adaptive jitter buffer: RTP payloads in, one frame of linear PCM out per
# get() call (the board calls it every frame, 20 ms). Packet loss is
# concealed by plc.Concealer. Sans-I/O: arrival and playout times are now_ms.
#
# Public API
#
#   JitterBuffer(decoder, frame_samples=160, frame_bytes=None, clock_rate=8000,
#                min_delay_ms=20, max_delay_ms=200, quiet_level=64)
#       decoder(src, dst): decodes one frame of payload bytes (a memoryview
#       of frame_bytes) into dst, a bytearray of 2 * frame_samples bytes of
#       16-bit little-endian PCM: g711.ulaw_decode_into or alaw_decode_into.
#       frame_bytes defaults to frame_samples (G.711: one octet per sample).
#     .put(timestamp, payload, now_ms, marker=False)
#         timestamp: the RTP timestamp (only its low 16 bits are used),
#         payload: bytes-like, a whole number of frames (else counted as
#         malformed). Copied into a preallocated slot, so the caller may
#         reuse its receive buffer.
#     .get(now_ms) -> bytearray: the frame to play now, 16-bit little-endian
#         PCM. It belongs to the buffer: read it before the next get().
#     .counters  dict: played, concealed, silent, skipped, late, duplicate,
#                overflow, malformed, resynced
#     .delay_ms  playout delay of the last frame played (ms after the
#                earliest arrival seen for its position in the stream)
#     .target_ms the delay the buffer currently aims for
#
# What the buffer holds: encoded payloads (one octet per sample for G.711,
# half the memory of PCM), decoded on get() straight into one of two
# preallocated output frames. The previous output frame is the history the
# concealer searches for a pitch period. Nothing is allocated per frame.
#
# Timing model (all arithmetic in RTP timestamp units modulo 2**16, so it
# stays in small ints on a Pico; valid while delays stay under 4 s):
#   transit   = arrival - timestamp              for every packet
#   base      = minimum transit over the last 1..2 windows of 64 packets
#               (two-bucket sliding minimum: follows clock drift either way)
#   jitter    = transit - base                   (>= 0)
#   target    = clamp(max jitter over the last 1..2 windows of 128 packets,
#                     min_delay, max_delay)
#   delay     = now - timestamp_of_next_frame - base    at each get()
#
# Playout rules, in order, at each get(now):
#   not started (no packet yet)          -> silence
#   delay < target                       -> grow: output a filler frame
#                                           (concealment when in a talk
#                                           spurt, else silence); the play
#                                           position stays
#   delay >= target + 1 frame            -> shrink: skip the frame at the play
#                                           position while it is quiet (mean
#                                           |sample| below quiet_level) or
#                                           missing outside a talk spurt, or
#                                           whatever it holds while delay >=
#                                           target + 3 frames or delay >
#                                           max_delay
#   delay off by more than the ring (the board stalled, a clock jumped)
#                                        -> first jump the play position to
#                                           the target, emptying the ring
#   then play the frame at the play position:
#     present                            -> decode it (blend after a loss)
#     missing, inside a talk spurt       -> conceal (plc; fades out in 60 ms,
#                                           then the spurt has ended)
#     missing, before a marker packet or
#     outside a talk spurt               -> silence
# Arrivals:
#   timestamp before the play position   -> late (dropped)
#   slot already holds that timestamp    -> duplicate (dropped)
#   beyond the ring (max_delay + 4 frames) -> overflow (dropped)
#   10 late/overflow packets in a row, or a marked packet more than the
#   ring away                            -> resync: restart on this packet
#                                           (the sender restarted its clock)
#   packets more than the ring away do not feed the delay statistics

from array import array

from intercom.media.plc import Concealer

MIN_WINDOW_PACKETS = 64
PEAK_WINDOW_PACKETS = 128
RESYNC_MISFITS = 10
FORCED_SKIP_FRAMES = 3
SPARE_SLOTS = 4

COUNTERS = (
    "played",
    "concealed",
    "silent",
    "skipped",
    "late",
    "duplicate",
    "overflow",
    "malformed",
    "resynced",
)


def _signed16(value):
    value &= 0xFFFF
    return value - 0x10000 if value >= 0x8000 else value


class JitterBuffer:
    def __init__(
        self,
        decoder,
        frame_samples=160,
        frame_bytes=None,
        clock_rate=8000,
        min_delay_ms=20,
        max_delay_ms=200,
        quiet_level=64,
    ):
        if not 0 <= min_delay_ms <= max_delay_ms:
            raise ValueError("need 0 <= min_delay_ms <= max_delay_ms")
        self._decoder = decoder
        self._frame = frame_samples
        self._frame_bytes = frame_bytes or frame_samples
        self._units_per_ms = clock_rate // 1000
        frame_ms = frame_samples // self._units_per_ms
        self._min_delay = min_delay_ms * self._units_per_ms
        self._max_delay = max_delay_ms * self._units_per_ms
        self._quiet_sum = quiet_level * ((frame_samples + 3) // 4)
        self._slots = max_delay_ms // frame_ms + SPARE_SLOTS
        storage = memoryview(bytearray(self._slots * self._frame_bytes))
        self._slot_views = [
            storage[index * self._frame_bytes : (index + 1) * self._frame_bytes]
            for index in range(self._slots)
        ]
        self._filled = bytearray(self._slots)
        self._stored_ts = array("H", [0] * self._slots)
        self._outputs = (bytearray(2 * frame_samples), bytearray(2 * frame_samples))
        self._output_index = 0
        self._concealer = Concealer(frame_samples)
        self.counters = {}
        for name in COUNTERS:
            self.counters[name] = 0
        self.delay_ms = 0
        self.target_ms = min_delay_ms
        self._started = False
        self._talking = False
        self._gap_end = 0
        self._in_gap = False
        self._misfits = 0
        self._play_ts = 0
        self._play_slot = 0
        self._reset_windows(0)

    # --- arrivals ---------------------------------------------------------------

    def put(self, timestamp, payload, now_ms, marker=False):
        length = len(payload)
        if length == 0 or length % self._frame_bytes:
            self._count("malformed")
            return
        timestamp &= 0xFFFF
        transit = (self._units(now_ms) - timestamp) & 0xFFFF
        if not self._started:
            self._anchor(timestamp, transit)
        ahead = _signed16(timestamp - self._play_ts)
        frames = length // self._frame_bytes
        # Nearest frame of the playout grid (a sender may be off-grid).
        offset = (ahead + (self._frame >> 1)) // self._frame
        if ahead < 0 or offset + frames > self._slots:
            # Far off: not jitter but a new timeline (the sender restarted).
            far = ahead < -self._slots * self._frame or offset >= 2 * self._slots
            self._misfits += 1
            if (marker and far) or self._misfits >= RESYNC_MISFITS:
                self._count("resynced")
                self._anchor(timestamp, transit)
                offset = 0
            else:
                if not far:
                    self._observe(transit)  # a late packet measures jitter too
                self._count("late" if ahead < 0 else "overflow")
                return
        self._misfits = 0
        self._observe(transit)
        if marker and offset > 0:
            self._gap_end = timestamp
            self._in_gap = True
        for index in range(frames):
            position = offset + index
            self._store(
                (self._play_slot + position) % self._slots,
                (self._play_ts + position * self._frame) & 0xFFFF,
                payload,
                index,
                frames,
            )

    def _store(self, slot, timestamp, payload, index, frames):
        if self._filled[slot] and self._stored_ts[slot] == timestamp:
            self._count("duplicate")
            return
        if frames == 1:
            self._slot_views[slot][:] = payload
        else:
            start = index * self._frame_bytes
            self._slot_views[slot][:] = payload[start : start + self._frame_bytes]
        self._filled[slot] = 1
        self._stored_ts[slot] = timestamp

    def _anchor(self, timestamp, transit):
        self._started = True
        self._play_ts = timestamp
        self._play_slot = 0
        for slot in range(self._slots):
            self._filled[slot] = 0
        self._misfits = 0
        self._in_gap = False
        self._reset_windows(transit)

    def _reset_windows(self, transit):
        self._min_current = transit
        self._min_previous = transit
        self._min_count = 0
        self._peak_current = 0
        self._peak_previous = 0
        self._peak_count = 0

    def _observe(self, transit):
        # Two-bucket sliding minimum of transit and maximum of jitter.
        if _signed16(transit - self._min_current) < 0:
            self._min_current = transit
        jitter = _signed16(transit - self._base())
        if jitter > self._peak_current:
            self._peak_current = jitter
        self._min_count += 1
        if self._min_count >= MIN_WINDOW_PACKETS:
            self._min_previous = self._min_current
            self._min_current = transit
            self._min_count = 0
        self._peak_count += 1
        if self._peak_count >= PEAK_WINDOW_PACKETS:
            self._peak_previous = self._peak_current
            self._peak_current = 0
            self._peak_count = 0

    def _base(self):
        if _signed16(self._min_current - self._min_previous) < 0:
            return self._min_current
        return self._min_previous

    def _target(self):
        peak = self._peak_current
        if self._peak_previous > peak:
            peak = self._peak_previous
        if peak < self._min_delay:
            return self._min_delay
        if peak > self._max_delay:
            return self._max_delay
        return peak

    # --- playout ------------------------------------------------------------------

    def get(self, now_ms):
        self._output_index ^= 1
        out = self._outputs[self._output_index]
        history = self._outputs[self._output_index ^ 1]
        if not self._started:
            self._silence(out)
            return out
        target = self._target()
        self.target_ms = target // self._units_per_ms
        delay = _signed16(self._units(now_ms) - self._play_ts - self._base())
        ring = self._slots * self._frame
        if delay < -ring or delay > target + ring:
            # The board stalled (or its clock jumped): move the play
            # position to the target in one step, emptying the ring.
            behind = (delay - target) // self._frame
            self._play_ts = (self._play_ts + behind * self._frame) & 0xFFFF
            delay -= behind * self._frame
            for slot in range(self._slots):
                self._filled[slot] = 0
        if delay < target:
            self._fill(history, out)
            self.delay_ms = (delay if delay > 0 else 0) // self._units_per_ms
            return out
        skips = 0
        while delay - self._frame >= target and skips < self._slots:
            forced = delay >= target + FORCED_SKIP_FRAMES * self._frame or delay > self._max_delay
            if not forced and not self._skippable(out):
                break
            self._advance()
            self._count("skipped")
            delay -= self._frame
            skips += 1
        self.delay_ms = delay // self._units_per_ms
        self._play(history, out)
        self._advance()
        return out

    def _skippable(self, out):
        slot = self._play_slot
        if not self._present(slot):
            # Missing inside a talk spurt may just be on its way: keep it.
            return not self._talking or self._in_gap
        self._decoder(self._slot_views[slot], out)
        total = 0
        for index in range(0, 2 * self._frame, 8):
            value = out[index] | (out[index + 1] << 8)
            total += 0x10000 - value if value >= 0x8000 else value
        return total < self._quiet_sum

    def _present(self, slot):
        return self._filled[slot] and self._stored_ts[slot] == self._play_ts

    def _play(self, history, out):
        slot = self._play_slot
        if self._present(slot):
            self._decoder(self._slot_views[slot], out)
            self._concealer.recover(out)
            self._talking = True
            self._count("played")
            return
        if self._in_gap and _signed16(self._gap_end - self._play_ts) > 0:
            # Before a marked packet: silence between talk spurts, not loss.
            self._talking = False
            self._concealer.stop()
            self._silence(out)
            return
        self._fill(history, out)

    def _fill(self, history, out):
        if self._talking:
            self._talking = self._concealer.conceal(history, out)
            self._count("concealed")
        else:
            self._silence(out)

    def _silence(self, out):
        for index in range(2 * self._frame):
            out[index] = 0
        self._count("silent")

    def _advance(self):
        self._filled[self._play_slot] = 0
        self._play_slot = (self._play_slot + 1) % self._slots
        self._play_ts = (self._play_ts + self._frame) & 0xFFFF
        if self._in_gap and _signed16(self._gap_end - self._play_ts) <= 0:
            self._in_gap = False

    def _units(self, now_ms):
        return ((now_ms & 0xFFFF) * self._units_per_ms) & 0xFFFF

    def _count(self, name):
        self.counters[name] = (self.counters[name] + 1) & 0xFFFFFFFF
