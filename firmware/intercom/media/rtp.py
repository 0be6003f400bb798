# RTP packets (RFC 3550 section 5, RFC 3551): build what we send, parse and
# filter what we receive. Sans-I/O and allocation-free in steady state.
#
# Public API
#
#   RtpSender(payload_type, random_bytes, samples_per_frame=160, max_payload=1280,
#             buffers=1)
#       random_bytes(n) -> n random bytes (the core cannot import os); the
#       SSRC, first sequence number and first timestamp come from it
#       (RFC 3550 section 5.1: random initial values). samples_per_frame:
#       the samples one packet carries (its timestamp step). buffers: how
#       many packets stay valid at once (several packets per audio frame).
#     .payload            memoryview to write the next payload into
#                         (e.g. g711.ulaw_encode_into(pcm, sender.payload))
#     .packet(length, marker=False) -> memoryview of the whole packet
#                         (header + the first `length` payload bytes), valid
#                         until `buffers` more packets are built; advances
#                         the sequence number and the timestamp by one
#                         frame, and .payload to the next buffer. The marker bit is
#                         also set on the first packet after skip_frame()
#                         and on the very first packet (RFC 3551 section 4.1:
#                         first packet of a talk spurt).
#     .event_packet(length, payload_type, timestamp, marker) -> memoryview
#                         a packet with an explicit payload type and
#                         timestamp (RFC 4733 events); the frame clock still
#                         advances by one frame.
#     .skip_frame()       a frame of silence not sent (DTX): the timestamp
#                         advances, the next packet starts a talk spurt.
#     .ssrc .sequence .timestamp   current values (ints)
#     .packets_sent .octets_sent   counters (payload octets, RFC 3550 6.4.1)
#
#   RtpReceiver(payload_types, remote=None, latch_host=None)
#       payload_types: the negotiated payload type numbers (any iterable);
#       remote: the (host, port) from the SDP; latch_host: symmetric RTP
#       (RFC 4961) for a peer behind NAT, whose SDP names an address its
#       packets do not come from: the host the call's SIP comes from, the
#       only one whose stream may take remote's place (rules below).
#     .receive(data, addr, length=-1) -> RtpPacket or None
#         parses data[:length]; None when dropped. Never raises on peer
#         input. The returned RtpPacket is one object reused for every
#         packet, its payload a memoryview into `data` (no copy): use it
#         before the next receive().
#     .set_remote(addr)   new negotiated address (re-INVITE); clears a latch
#     .remote .latched    current source, whether it came from latching
#     .drops              dict reason -> count: short, version, padding,
#                         csrc, extension, empty, payload_type, source,
#                         probation
#     .stray_address      the address of the first packet dropped as
#                         "source" (the SDP named another one), or None:
#                         what the call's diagnosis reports (NAT)
#     .accepted           packets returned
#
# Sources (what receive() accepts, after the packet checks below):
#   from remote                          -> accepted
#   from the negotiated address after a
#   latch moved away from it             -> accepted; remote is the
#                                           negotiated address again
#   from latch_host (another port), while
#   the negotiated address has sent
#   nothing valid and nothing latched yet -> probation: accepted once
#                                           MIN_SEQUENTIAL packets in a row
#                                           came from that address with one
#                                           SSRC and consecutive sequence
#                                           numbers (RFC 3550 A.1; the ones
#                                           before are dropped as probation),
#                                           then remote is that address
#   anything else                        -> dropped (source): once the
#                                           negotiated address sent, no
#                                           other source can take over (RTP
#                                           injection), and no host but the
#                                           SIP peer's ever can
#
#   RtpPacket fields: marker, payload_type, sequence, timestamp_high,
#     timestamp_low (16-bit halves, so a Pico never builds a big int on the
#     audio path), ssrc_high, ssrc_low, csrc_count, payload (memoryview);
#     properties timestamp and ssrc give the 32-bit values.
#
# Header (RFC 3550 section 5.1):
#   0: V(2) P(1) X(1) CC(4)   1: M(1) PT(7)   2-3: sequence   4-7: timestamp
#   8-11: SSRC   then CC CSRCs, then the extension (section 5.3.1: 16-bit
#   profile, 16-bit length in 32-bit words, data), then the payload, then
#   padding whose last octet counts the padding octets (section 5.1 "P").

from intercom.compat import const

HEADER_SIZE = const(12)
RTP_VERSION = const(2)


class RtpSender:
    def __init__(
        self, payload_type, random_bytes, samples_per_frame=160, max_payload=1280, buffers=1
    ):
        if not 0 <= payload_type <= 127:
            raise ValueError("payload type out of range")
        seed = random_bytes(10)
        self.payload_type = payload_type
        self.samples_per_frame = samples_per_frame
        self._buffers = []
        self._views = []
        self._payloads = []
        for _ in range(buffers):
            buffer = bytearray(HEADER_SIZE + max_payload)
            buffer[0] = RTP_VERSION << 6
            buffer[8:12] = seed[0:4]
            view = memoryview(buffer)
            self._buffers.append(buffer)
            self._views.append(view)
            self._payloads.append(view[HEADER_SIZE:])
        self._rotating = buffers > 1
        self._current = 0
        self._buffer = self._buffers[0]
        self.payload = self._payloads[0]
        self.ssrc = (seed[0] << 24) | (seed[1] << 16) | (seed[2] << 8) | seed[3]
        self.sequence = (seed[4] << 8) | seed[5]
        self._timestamp_high = (seed[6] << 8) | seed[7]
        self._timestamp_low = (seed[8] << 8) | seed[9]
        self._talk_spurt_start = True
        self._packet_lengths = [-1] * buffers
        self._packet_views = [self._views[0]] * buffers
        self.packets_sent = 0
        self.octets_sent = 0

    @property
    def timestamp(self):
        return (self._timestamp_high << 16) | self._timestamp_low

    def packet(self, length, marker=False):
        marker = marker or self._talk_spurt_start
        self._talk_spurt_start = False
        self._write_header(
            length, self.payload_type, self._timestamp_high, self._timestamp_low, marker
        )
        self._advance_frame()
        return self._packet(length)

    def event_packet(self, length, payload_type, timestamp, marker):
        self._write_header(
            length, payload_type, (timestamp >> 16) & 0xFFFF, timestamp & 0xFFFF, marker
        )
        self._advance_frame()
        return self._packet(length)

    def skip_frame(self):
        self._advance_frame()
        self._talk_spurt_start = True

    def _write_header(self, length, payload_type, timestamp_high, timestamp_low, marker):
        if length > len(self.payload):
            raise ValueError("payload longer than the sender's buffer")
        buffer = self._buffer
        buffer[1] = (0x80 if marker else 0) | payload_type
        buffer[2] = self.sequence >> 8
        buffer[3] = self.sequence & 0xFF
        buffer[4] = timestamp_high >> 8
        buffer[5] = timestamp_high & 0xFF
        buffer[6] = timestamp_low >> 8
        buffer[7] = timestamp_low & 0xFF
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets_sent = (self.packets_sent + 1) & 0xFFFFFFFF
        self.octets_sent = (self.octets_sent + length) & 0xFFFFFFFF

    def _advance_frame(self):
        low = self._timestamp_low + self.samples_per_frame
        self._timestamp_low = low & 0xFFFF
        self._timestamp_high = (self._timestamp_high + (low >> 16)) & 0xFFFF

    def _packet(self, length):
        current = self._current
        if length != self._packet_lengths[current]:
            self._packet_views[current] = self._views[current][: HEADER_SIZE + length]
            self._packet_lengths[current] = length
        packet = self._packet_views[current]
        if self._rotating:
            current += 1
            if current == len(self._buffers):
                current = 0
            self._current = current
            self._buffer = self._buffers[current]
            self.payload = self._payloads[current]
        return packet


def _unpadded_end(data, length):
    """Where the payload ends before the padding (RFC 3550 5.1: its last
    octet counts it), or -1 when that count is 0 or beyond the payload."""
    padding = data[length - 1]
    if padding == 0 or padding > length - HEADER_SIZE:
        return -1
    return length - padding


def _after_extension(data, start, end):
    """Where the payload starts after the header extension at start (RFC
    3550 5.3.1), or -1 when it does not fit before end."""
    if start + 4 > end:
        return -1
    start += 4 + 4 * ((data[start + 2] << 8) | data[start + 3])
    if start > end:
        return -1
    return start


class RtpPacket:
    def __init__(self):
        self.marker = False
        self.payload_type = 0
        self.sequence = 0
        self.timestamp_high = 0
        self.timestamp_low = 0
        self.ssrc_high = 0
        self.ssrc_low = 0
        self.csrc_count = 0
        self.payload = memoryview(b"")

    @property
    def timestamp(self):
        return (self.timestamp_high << 16) | self.timestamp_low

    @property
    def ssrc(self):
        return (self.ssrc_high << 16) | self.ssrc_low


DROP_REASONS = (
    "short",
    "version",
    "padding",
    "csrc",
    "extension",
    "empty",
    "payload_type",
    "source",
    "probation",
)
MIN_SEQUENTIAL = 2  # RFC 3550 A.1: packets in sequence before a source counts


class RtpReceiver:
    def __init__(self, payload_types, remote=None, latch_host=None):
        self._payload_types = bytearray(128)
        for payload_type in payload_types:
            self._payload_types[payload_type] = 1
        self.latch_host = latch_host
        self.drops = {}
        for reason in DROP_REASONS:
            self.drops[reason] = 0
        self.accepted = 0
        self.stray_address = None
        self._packet = RtpPacket()
        self._view_source = None
        self._view_whole = None
        self._view_start = -1
        self._view_end = -1
        self._packet_payload = self._packet.payload
        self.set_remote(remote)

    def accept(self, payload_types):
        """Take these payload types from now on (a re-INVITE's new codec)."""
        accepted = self._payload_types
        for index in range(128):
            accepted[index] = 0
        for payload_type in payload_types:
            accepted[payload_type] = 1

    def set_remote(self, addr):
        self.remote = addr
        self._negotiated = addr
        self.latched = False
        self._settled = False  # the negotiated address sent: no latching any more
        self._candidate = None  # (address, SSRC halves, next sequence, count) on probation

    def receive(self, data, addr, length=-1):
        if length < 0:
            length = len(data)
        reason = self._parse(data, length)
        if reason is not None:
            self._drop(reason)
            return None
        packet = self._packet
        if addr != self.remote:
            if addr == self._negotiated:
                self.remote = addr  # the negotiated address wins over a latch
                self.latched = False
            else:
                reason = self._latch(packet, addr)
                if reason is not None:
                    self._drop(reason)
                    if reason == "source" and self.stray_address is None:
                        self.stray_address = addr
                    return None
        if not self.latched:
            self._settled = True
        self.accepted = (self.accepted + 1) & 0xFFFFFFFF
        return packet

    def _latch(self, packet, addr):
        """None when addr's stream takes remote's place now, else the drop reason."""
        if self.latch_host is None or self._settled or self.latched or addr[0] != self.latch_host:
            return "source"
        candidate = self._candidate
        if (
            candidate is not None
            and candidate[0] == addr
            and candidate[1] == packet.ssrc_high
            and candidate[2] == packet.ssrc_low
            and candidate[3] == packet.sequence
        ):
            count = candidate[4] + 1
        else:
            count = 1
        if count < MIN_SEQUENTIAL:
            self._candidate = (
                addr,
                packet.ssrc_high,
                packet.ssrc_low,
                (packet.sequence + 1) & 0xFFFF,
                count,
            )
            return "probation"
        self._candidate = None
        self.remote = addr
        self.latched = True
        return None

    def _drop(self, reason):
        self.drops[reason] = (self.drops[reason] + 1) & 0xFFFFFFFF

    def _parse(self, data, length):
        # Validity checks of RFC 3550 appendix A.1 that apply per packet.
        # (In parts: MicroPython keeps a call's frame on the C stack only up
        # to 11 words, and allocates a larger one at every call.)
        if length < HEADER_SIZE:
            return "short"
        first = data[0]
        if first >> 6 != RTP_VERSION:
            return "version"
        end = length
        if first & 0x20:
            end = _unpadded_end(data, length)
            if end < 0:
                return "padding"
        start = HEADER_SIZE + 4 * (first & 0x0F)
        if start > end:
            return "csrc"
        if first & 0x10:
            start = _after_extension(data, start, end)
            if start < 0:
                return "extension"
        if start == end:
            return "empty"
        return self._accept(data, start, end)

    def _accept(self, data, start, end):
        """None once the packet's header fields and payload are in
        self._packet, or "payload_type"."""
        payload_type = data[1] & 0x7F
        if not self._payload_types[payload_type]:
            return "payload_type"
        packet = self._packet
        packet.marker = data[1] >= 0x80
        packet.payload_type = payload_type
        packet.csrc_count = data[0] & 0x0F
        # the timestamp and SSRC in the 16-bit halves RtpPacket keeps
        packet.sequence = (data[2] << 8) | data[3]
        packet.timestamp_high = (data[4] << 8) | data[5]
        packet.timestamp_low = (data[6] << 8) | data[7]
        packet.ssrc_high = (data[8] << 8) | data[9]
        packet.ssrc_low = (data[10] << 8) | data[11]
        packet.payload = self._payload_view(data, start, end)
        return None

    def _payload_view(self, data, start, end):
        # Reuse the view while the buffer and the payload bounds repeat
        # (a board receiving into one bytearray): no allocation per packet.
        whole = self._view_whole
        if data is not self._view_source or whole is None:
            whole = memoryview(data)
            self._view_source = data
            self._view_whole = whole
            self._view_start = -1
        if start != self._view_start or end != self._view_end:
            self._packet_payload = whole[start:end]
            self._view_start = start
            self._view_end = end
        return self._packet_payload
