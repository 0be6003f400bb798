# Adaptive jitter buffer: RTP payloads of any packet time in, one frame of
# linear PCM out per get() call (the board calls it every frame: its own
# audio.ptime, whatever packet time the peer sends). Packet loss is
# concealed by plc.Concealer. Sans-I/O: arrival and playout times are now_ms.
#
# Public API
#
#   JitterBuffer(decoder, frame_samples=160, block_samples=80, clock_rate=8000,
#                min_delay_ms=20, max_delay_ms=200, quiet_level=64,
#                max_packet_ms=60)
#       decoder(src, dst): decodes payload bytes (a memoryview of one octet
#       per sample) into dst, 16-bit little-endian PCM:
#       g711.ulaw_decode_into or alaw_decode_into.
#       frame_samples: the frame get() returns; block_samples: the packet
#       granularity (10 ms), which divides it; max_packet_ms: the longest
#       packet the ring makes room for (sdp.MAX_RECEIVE_PTIME).
#     .put(timestamp, payload, now_ms, marker=False)
#         timestamp: the RTP timestamp (only its low 16 bits are used),
#         payload: bytes-like, a whole number of blocks (else counted as
#         malformed): a packet of any length from one block to the ring.
#         Copied into a preallocated ring, so the caller may reuse its
#         receive buffer.
#     .get(now_ms) -> bytearray: the frame to play now, 16-bit little-endian
#         PCM. It belongs to the buffer: read it before the next get().
#     .restart(decoder=None)  a new stream (another SSRC, another codec):
#         what it holds is dropped, the next packet starts it again
#         (with decoder from then on when given)
#     .counters  dict: played, concealed, silent, skipped, late, duplicate,
#                overflow, malformed, resynced
#     .delay_ms  playout delay of the last frame played (ms after the
#                earliest arrival seen for its position in the stream)
#     .target_ms the delay the buffer currently aims for
#
# What the buffer holds: encoded payloads (one octet per sample for G.711,
# half the memory of PCM) in a ring of frame slots, each slot filled block
# by block (a bit per block: a 10 ms packet fills half of a 20 ms slot, a
# 30 ms packet one slot and half the next), decoded on get() straight into
# one of three preallocated output frames, in turn: the two played before
# are the history the concealer searches for a pitch period. Nothing is
# allocated per frame while packets land whole in the ring; a packet that
# straddles the ring's end, or whose start was already played, costs one
# memoryview.
#
# Timing model (all arithmetic in RTP timestamp units modulo 2**16, so it
# stays in small ints on a Pico; valid while delays stay under 4 s):
#   transit   = arrival - start of the first frame a packet completes
#               (fills its last block): when that frame could first be
#               played; a packet completing no frame measures nothing
#   base      = minimum transit over the last 1..2 windows of 64 transits
#               (two-bucket sliding minimum: follows clock drift either way)
#   jitter    = transit - base                   (>= 0; a packet time that
#                                                is not a whole number of
#                                                frames shows up here as the
#                                                wait for a frame's last
#                                                block, e.g. 10 ms for 30 ms
#                                                packets into 20 ms frames)
#   target    = clamp(max jitter over the last 1..2 windows of 128 transits,
#                     min_delay, max_delay)
#   (window lengths are for 20 ms frames, scaled to keep their time)
#   delay     = now - timestamp_of_next_frame - base    at each get()
#   settled   = the last SETTLE_TRANSITS transits were each less than a
#               frame above the base, counted from its last fall: a single
#               packet that looks a frame early (a late frame tick of the
#               board read it) lowers the base for a window or two, and a
#               quiet skip on it would need a filler when the window forgets
#               it: a frame left out and one played twice on a clean link.
#               A base that really fell (the sender's clock runs fast, the
#               board skipped a tick) settles in SETTLE_TRANSITS packets.
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
#                                           missing outside a talk spurt, once
#                                           the base has settled (above),
#                                           or whatever it holds while delay >=
#                                           target + 3 frames or delay >
#                                           max_delay
#   delay off by more than the ring (the board stalled, a clock jumped)
#                                        -> first jump the play position to
#                                           the target, emptying the ring
#   then play the frame at the play position:
#     complete (every block)             -> decode it (blend after a loss)
#     some blocks only                   -> filler as below, the blocks that
#                                           came decoded over it
#     missing, inside a talk spurt       -> conceal (plc; fades out in 60 ms,
#                                           then the spurt has ended)
#     missing, before a marker packet or
#     outside a talk spurt               -> silence
# Arrivals (a packet lands on the nearest block of the playout grid):
#   every block before the play position -> late (dropped); blocks of a
#                                           packet partly before it are
#                                           stored from the play position on
#   every block already held             -> duplicate (dropped)
#   beyond the ring                      -> overflow (dropped)
#   10 late/overflow packets in a row, or a marked packet more than the
#   ring away                            -> resync: restart on this packet
#                                           (the sender restarted its clock)
#   packets more than the ring away do not feed the delay statistics

from array import array

from intercom.compat import const
from intercom.media.plc import Concealer

# const(): MicroPython's compiler puts the values where they are used (no
# global lookup per packet or frame).
MIN_WINDOW_MS = const(1280)
PEAK_WINDOW_MS = const(2560)
RESYNC_MISFITS = const(10)
FORCED_SKIP_FRAMES = const(3)
SETTLE_TRANSITS = const(4)
SPARE_SLOTS = const(4)

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
    # (where only the sign matters, bit 15 of the value says it, with no call)
    value &= 0xFFFF
    return value - 0x10000 if value >= 0x8000 else value


class JitterBuffer:
    def __init__(
        self,
        decoder,
        frame_samples=160,
        block_samples=80,
        clock_rate=8000,
        min_delay_ms=20,
        max_delay_ms=200,
        quiet_level=64,
        max_packet_ms=60,
    ):
        if not 0 <= min_delay_ms <= max_delay_ms:
            raise ValueError("need 0 <= min_delay_ms <= max_delay_ms")
        if frame_samples % block_samples:
            raise ValueError("a frame must be a whole number of blocks")
        self._decoder = decoder
        self._frame = frame_samples
        self._block = block_samples
        self._blocks_per_frame = frame_samples // block_samples
        self._full = (1 << self._blocks_per_frame) - 1
        self._units_per_ms = clock_rate // 1000
        frame_ms = frame_samples // self._units_per_ms
        self._min_delay = min_delay_ms * self._units_per_ms
        self._max_delay = max_delay_ms * self._units_per_ms
        self._quiet_sum = quiet_level * ((frame_samples + 3) // 4)
        self._min_window = max(1, MIN_WINDOW_MS // frame_ms)
        self._peak_window = max(1, PEAK_WINDOW_MS // frame_ms)
        packet_slots = (max_packet_ms + frame_ms - 1) // frame_ms
        self._slots = max_delay_ms // frame_ms + SPARE_SLOTS + packet_slots
        self._ring_blocks = self._slots * self._blocks_per_frame
        self._ring_bytes = self._slots * frame_samples  # one octet per sample
        self._storage = memoryview(bytearray(self._slots * frame_samples))
        self._slot_views = [
            self._storage[index * frame_samples : (index + 1) * frame_samples]
            for index in range(self._slots)
        ]
        self._filled = bytearray(self._slots)  # a bit per block held
        self._stored_ts = array("H", [0] * self._slots)
        # Three output frames in turn: the one being filled and the two
        # played before it (the history a loss starts from).
        self._outputs = (
            bytearray(2 * frame_samples),
            bytearray(2 * frame_samples),
            bytearray(2 * frame_samples),
        )
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
        self._arrival = 0  # of the packet put() is taking, in timestamp units
        self._reset_windows(0)

    def restart(self, decoder=None):
        if decoder is not None:
            self._decoder = decoder
        self._started = False  # the next put() anchors on its packet

    # --- arrivals ---------------------------------------------------------------

    # put()'s parts are small functions too (see get() below); the
    # packet's arrival is kept for them in _arrival, in timestamp units.

    def put(self, timestamp, payload, now_ms, marker=False):
        self._arrival = ((now_ms & 0xFFFF) * self._units_per_ms) & 0xFFFF
        first = self._position(timestamp & 0xFFFF, len(payload), marker)
        if first is not None:
            self._store(payload, first)

    def _position(self, timestamp, length, marker):
        """The packet's first block relative to the play position, on the
        nearest block of the playout grid (a sender may be off-grid); None
        when it is dropped (counted). length: its samples."""
        if length == 0 or length % self._block or length > self._ring_bytes:
            self._count("malformed")
            return None
        if not self._started:
            self._anchor(timestamp, length)
        first = (_signed16(timestamp - self._play_ts) + (self._block >> 1)) // self._block
        end = first + length // self._block
        if end <= 0 or end > self._ring_blocks:
            return self._misfit(timestamp, length, marker)
        self._misfits = 0
        self._observe(timestamp, first, end)
        if marker and first > 0:
            self._gap_end = timestamp
            self._in_gap = True
        return first

    def _misfit(self, timestamp, length, marker):
        """A packet that does not fit the ring (before the play position or
        beyond the ring): dropped as late or overflow (None), or the stream
        starts again on it (0, its first block)."""
        block = self._block
        ahead = _signed16(timestamp - self._play_ts)
        first = (ahead + (block >> 1)) // block
        end = first + length // block
        # Far off: not jitter but a new timeline (the sender restarted).
        far = ahead < -self._ring_blocks * block or first >= 2 * self._ring_blocks
        self._misfits += 1
        if (marker and far) or self._misfits >= RESYNC_MISFITS:
            self._count("resynced")
            self._anchor(timestamp, length)
            self._observe(timestamp, 0, length // block)
            return 0
        if not far:  # measures nothing when far
            self._observe(timestamp, first, end)
        self._count("late" if end <= 0 else "overflow")
        return None

    def _store(self, payload, first):
        """Copies the packet's blocks into the ring, from the play position
        on (blocks of a packet partly before it are dropped); counts a
        duplicate when every block was held already."""
        start = first if first > 0 else 0
        if self._mark_blocks(start, first + len(payload) // self._block):
            self._count("duplicate")
            return
        if start > first:
            payload = memoryview(payload)[(start - first) * self._block :]
        begin = (self._play_slot * self._frame + start * self._block) % self._ring_bytes
        if begin + len(payload) <= self._ring_bytes:
            self._storage[begin : begin + len(payload)] = payload
        else:
            self._straddle(payload, begin)

    def _straddle(self, payload, begin):
        """Copies a payload that straddles the ring's end."""
        split = self._ring_bytes - begin
        payload = memoryview(payload)
        self._storage[begin:] = payload[:split]
        self._storage[: len(payload) - split] = payload[split:]

    def _mark_blocks(self, start, end):
        """Sets the bits of blocks [start, end) (relative to the play
        position), frame by frame; True when every one of them was held
        already."""
        held = True
        while start < end:
            relative = start // self._blocks_per_frame
            take = min(end, (relative + 1) * self._blocks_per_frame) - start
            bits = ((1 << take) - 1) << (start % self._blocks_per_frame)
            if self._set_bits(relative, bits):
                held = False
            start += take
        return held

    def _set_bits(self, relative, bits):
        """Sets bits in the slot of the frame relative to the play position
        (emptied first when it held another frame); True when some of them
        were not set yet."""
        slot = (self._play_slot + relative) % self._slots
        frame_ts = (self._play_ts + relative * self._frame) & 0xFFFF
        filled = self._filled
        if self._stored_ts[slot] != frame_ts:
            filled[slot] = 0
            self._stored_ts[slot] = frame_ts
        if filled[slot] & bits == bits:
            return False
        filled[slot] |= bits
        return True

    def _anchor(self, timestamp, length):
        """The stream starts on this packet (length: its samples)."""
        # A packet shorter than the frame: its frame completes when the rest
        # arrives, as many units later as it is short.
        short = self._frame - length
        self._started = True
        self._play_ts = timestamp
        self._play_slot = 0
        for slot in range(self._slots):
            self._filled[slot] = 0
        self._misfits = 0
        self._in_gap = False
        self._reset_windows((self._arrival - timestamp + (short if short > 0 else 0)) & 0xFFFF)

    def _reset_windows(self, transit):
        self._min_current = transit
        self._min_previous = transit
        self._base = transit
        self._min_count = 0
        self._peak_current = 0
        self._peak_previous = 0
        self._peak_count = 0
        self._settled = 0

    def _observe(self, timestamp, first, end):
        """A packet of blocks [first, end) that brings the last block of a
        frame measures the transit of the first such frame: when it could
        first be played (a packet of several frames makes the later ones
        playable early). Late packets measure too. Two-bucket sliding
        minimum of transit (the base: the lower bucket's) and maximum of
        jitter."""
        if first // self._blocks_per_frame >= end // self._blocks_per_frame:
            return  # completes no frame
        before = first % self._blocks_per_frame  # blocks of that frame before the packet
        transit = (self._arrival - timestamp + before * self._block) & 0xFFFF
        jitter = (transit - self._base) & 0xFFFF
        if jitter & 0x8000:  # negative: a new low, the base falls to it, settled counted again
            self._min_current = transit
            self._base = transit
            self._settled = 0
            jitter = 0
        elif (transit - self._min_current) & 0x8000:  # below this bucket's minimum
            self._min_current = transit  # the base (the previous bucket's) stays
        if jitter > self._peak_current:
            self._peak_current = jitter
        if jitter >= self._frame:
            self._settled = 0
        elif self._settled < SETTLE_TRANSITS:
            self._settled += 1
        self._min_count += 1
        if self._min_count >= self._min_window:
            self._min_previous = self._min_current
            self._min_current = transit
            if (transit - self._min_previous) & 0x8000:
                self._base = transit
            else:
                self._base = self._min_previous
            self._min_count = 0
        self._peak_count += 1
        if self._peak_count >= self._peak_window:
            self._peak_previous = self._peak_current
            self._peak_current = 0
            self._peak_count = 0

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
        index = self._output_index + 1
        if index == 3:
            index = 0
        self._output_index = index
        out = self._outputs[index]
        if not self._started:
            self._silence(out)
            return out
        self._play_at(out, ((now_ms & 0xFFFF) * self._units_per_ms) & 0xFFFF)
        return out

    # get()'s parts are small functions: MicroPython keeps a call's frame on
    # the C stack only up to 11 words (arguments, locals, value stack) and
    # allocates a larger one from the heap at every call.

    def _play_at(self, out, now_units):
        target = self._target()
        self.target_ms = target // self._units_per_ms
        delay = _signed16(now_units - self._play_ts - self._base)
        ring = self._slots * self._frame
        if delay < -ring or delay > target + ring:
            delay = self._jump(delay, target)
        if delay < target:
            self._fill(out)
            self.delay_ms = (delay if delay > 0 else 0) // self._units_per_ms
            return
        if delay - self._frame >= target:
            delay = self._skip_quiet(out, delay, target)
        self.delay_ms = delay // self._units_per_ms
        self._play(out)
        self._advance()

    def _jump(self, delay, target):
        """The board stalled (or its clock jumped): the play position moves
        to the target in one step, emptying the ring; the new delay."""
        behind = (delay - target) // self._frame
        self._play_ts = (self._play_ts + behind * self._frame) & 0xFFFF
        for slot in range(self._slots):
            self._filled[slot] = 0
        return delay - behind * self._frame

    def _skip_quiet(self, out, delay, target):
        """Skips frames while the delay exceeds the target by one (quiet
        ones, or any beyond FORCED_SKIP_FRAMES or the maximum); the delay
        left."""
        skips = 0
        while delay - self._frame >= target and skips < self._slots:
            if not self._forced(delay, target) and not self._skippable(out):
                break
            self._advance()
            self._count("skipped")
            delay -= self._frame
            skips += 1
        return delay

    def _forced(self, delay, target):
        return delay >= target + FORCED_SKIP_FRAMES * self._frame or delay > self._max_delay

    def _skippable(self, out):
        if self._settled < SETTLE_TRANSITS:
            return False  # the base just fell: it may be one early packet
        slot = self._play_slot
        if self._stored_ts[slot] != self._play_ts or self._filled[slot] != self._full:
            # Missing inside a talk spurt may just be on its way: keep it.
            return not self._talking or self._in_gap
        self._decoder(self._slot_views[slot], out)
        total = 0
        for index in range(0, 2 * self._frame, 8):
            value = out[index] | (out[index + 1] << 8)
            total += 0x10000 - value if value >= 0x8000 else value
        return total < self._quiet_sum

    def _play(self, out):
        slot = self._play_slot
        # the block bits of the frame at the play position (none when its
        # slot holds another frame)
        held = self._filled[slot] if self._stored_ts[slot] == self._play_ts else 0
        if held == self._full:
            self._decoder(self._slot_views[slot], out)
            if self._concealer.losing:  # the first good frame after a loss: blended in
                self._concealer.recover(out)
            self._talking = True
            self._count("played")
            return
        if held:
            # Some blocks came: filler, with what came decoded over it.
            self._talking = True
            self._fill(out)
            self._decode_blocks(slot, held, out)
            return
        if self._in_gap and _signed16(self._gap_end - self._play_ts) > 0:
            # Before a marked packet: silence between talk spurts, not loss.
            self._talking = False
            self._concealer.stop()
            self._silence(out)
            return
        self._fill(out)

    def _decode_blocks(self, slot, held, out):
        block = self._block
        source = self._slot_views[slot]
        target = memoryview(out)
        for index in range(self._blocks_per_frame):
            if held & (1 << index):
                start = index * block
                self._decoder(
                    source[start : start + block], target[2 * start : 2 * (start + block)]
                )

    def _fill(self, out):
        if self._talking:
            index = self._output_index
            previous = self._outputs[index - 1]  # index -1 is the last
            older = self._outputs[index - 2]
            self._talking = self._concealer.conceal(out, previous, older)
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

    def _count(self, name):
        self.counters[name] = (self.counters[name] + 1) & 0xFFFFFFFF
