# RTCP for one RTP session with one remote source (RFC 3550 section 6 and
# appendix A.2): SR/RR + SDES CNAME compound reports on a randomised 5 s
# interval, parsing of SR/RR/SDES/BYE, round-trip time; the reception
# statistics themselves are reception.ReceptionStats.
# Sans-I/O: time comes in as now_ms (ticks, compared with ticks_diff) and
# the NTP wallclock as wallclock_ms (Unix epoch milliseconds) from the board.
#
# Public API
#
#   RtcpSession(sender, cname, random_bytes, now_ms, clock_rate=8000,
#               interval_ms=5000)
#       sender: the RtpSender of the session (its ssrc, counters and
#       timestamp go into SR); cname: text for SDES CNAME.
#     .rtp_received(packet, now_ms)       feed each accepted RtpPacket
#     .reception                          its ReceptionStats (new per SSRC)
#     .get_timer() -> ms tick of the next report
#     .handle_timer(now_ms, wallclock_ms) queue a report when due
#     .bye(now_ms, wallclock_ms, reason="")  queue a final report with BYE
#     .datagrams_to_send() -> list of bytes (and clears it)
#     .receive_datagram(data, now_ms, wallclock_ms)  parse a compound packet;
#         malformed ones are dropped and counted in .drops, never raised
#     .next_event() -> ("bye", reason) | None
#     .drops                              dict reason -> count: short, version,
#                                         length, first, padding, report
#     .stats(now_ms) -> dict: packets_sent, octets_sent, packets_received,
#         octets_received, idle_ms (since the last RTP packet; None before
#         the first), cumulative_lost, fraction_lost (0..255), jitter_ms,
#         rtt_ms (None until an RR answered one of our SRs), remote_cname,
#         remote_fraction_lost, remote_cumulative_lost, remote_jitter_ms,
#         reports_sent, reports_received
#     .heard_us                           whether a report from the remote
#                                         carried a block on our SSRC (it
#                                         receives our RTP, 6.4.1)
#
# Report rules (RFC 3550 section 6.2, 6.3, 6.4):
#   first report     after interval/2 * [0.5, 1.5)    (6.2: initial interval halved)
#   next reports     every interval * [0.5, 1.5)      (randomised with random_bytes)
#   SR or RR         SR when we sent RTP during the last two intervals (6.3.8),
#                    else RR; one report block on the remote source once it
#                    has sent (6.4.1/6.4.2)
#   compound         SR|RR, then SDES with CNAME (6.1), then BYE when leaving
#   SR timestamps    NTP from wallclock_ms; the RTP timestamp is the sender's
#                    next frame, within one frame of that instant (6.4.1)
# Validity of received compound packets (appendix A.2): version 2, lengths
# add up to the datagram, the first packet is SR or RR, padding only on the
# last packet.

import struct

from intercom.compat import ticks_add, ticks_diff
from intercom.media.reception import ReceptionStats

PT_SR = 200
PT_RR = 201
PT_SDES = 202
PT_BYE = 203
SDES_CNAME = 1

NTP_UNIX_OFFSET_S = 2208988800  # seconds from 1900-01-01 to 1970-01-01

DROP_REASONS = ("short", "version", "length", "first", "padding", "report")


def ntp_from_wallclock(wallclock_ms):
    """(seconds, fraction) NTP timestamp for Unix epoch milliseconds."""
    seconds = (wallclock_ms // 1000 + NTP_UNIX_OFFSET_S) & 0xFFFFFFFF
    fraction = ((wallclock_ms % 1000) << 32) // 1000
    return seconds, fraction


def ntp_middle(wallclock_ms):
    """The middle 32 bits of the NTP timestamp (LSR format, 6.4.1)."""
    seconds, fraction = ntp_from_wallclock(wallclock_ms)
    return ((seconds & 0xFFFF) << 16) | (fraction >> 16)


class RtcpSession:
    def __init__(self, sender, cname, random_bytes, now_ms, clock_rate=8000, interval_ms=5000):
        self.sender = sender
        self.cname = cname.encode() if isinstance(cname, str) else bytes(cname)
        if len(self.cname) > 255:
            raise ValueError("CNAME longer than 255 octets")
        self._random_bytes = random_bytes
        self._interval_ms = interval_ms
        self.reception = ReceptionStats(clock_rate)
        self._remote_ssrc = None
        self._remote_ssrc_high = 0
        self._remote_ssrc_low = 0
        self._last_rtp_ms = 0
        self._next_report = ticks_add(now_ms, self._randomised(interval_ms // 2))
        self._sent_at_reports = [sender.packets_sent, sender.packets_sent]
        self._outgoing = []
        self._events = []
        self.drops = {}
        for reason in DROP_REASONS:
            self.drops[reason] = 0
        self.reports_sent = 0
        self.reports_received = 0
        self.remote_cname = None
        self.remote_fraction_lost = None
        self.remote_cumulative_lost = None
        self.remote_jitter_units = None
        self.heard_us = False
        self.rtt_ms = None
        self._units_per_ms = clock_rate // 1000
        self._last_sr_middle = 0  # LSR: middle bits of the remote's last SR
        self._last_sr_arrival = 0
        self._last_sr_ssrc = None

    def _randomised(self, base_ms):
        # RFC 3550 6.2/6.3.1: the interval times a uniform factor in [0.5, 1.5).
        value = self._random_bytes(2)
        return base_ms // 2 + ((base_ms * ((value[0] << 8) | value[1])) >> 16)

    # --- RTP side -----------------------------------------------------------

    def rtp_received(self, packet, now_ms):
        # Compared as 16-bit halves: no big int per packet on a Pico.
        if (
            packet.ssrc_low != self._remote_ssrc_low
            or packet.ssrc_high != self._remote_ssrc_high
            or self._remote_ssrc is None
        ):
            # A new source (or a restarted one): statistics start over (8.2).
            self._remote_ssrc = packet.ssrc
            self._remote_ssrc_high = packet.ssrc_high
            self._remote_ssrc_low = packet.ssrc_low
            self.reception = ReceptionStats(self._units_per_ms * 1000)
        self.reception.update(packet.sequence, packet.timestamp_low, now_ms, len(packet.payload))
        self._last_rtp_ms = now_ms

    # --- timers and output ----------------------------------------------------

    def get_timer(self):
        return self._next_report

    def handle_timer(self, now_ms, wallclock_ms):
        if ticks_diff(now_ms, self._next_report) < 0:
            return
        self._outgoing.append(self._compound(now_ms, wallclock_ms, None))
        self._next_report = ticks_add(now_ms, self._randomised(self._interval_ms))

    def bye(self, now_ms, wallclock_ms, reason=""):
        self._outgoing.append(self._compound(now_ms, wallclock_ms, reason))

    def datagrams_to_send(self):
        datagrams = self._outgoing
        self._outgoing = []
        return datagrams

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    def _compound(self, now_ms, wallclock_ms, bye_reason):
        parts = [self._report(now_ms, wallclock_ms), self._sdes()]
        if bye_reason is not None:
            parts.append(self._bye_packet(bye_reason))
        self.reports_sent += 1
        return b"".join(parts)

    def _is_sender(self):
        # 6.3.8: a sender is one that sent RTP during the last two intervals.
        sent = self.sender.packets_sent
        oldest = self._sent_at_reports[0]
        self._sent_at_reports[0] = self._sent_at_reports[1]
        self._sent_at_reports[1] = sent
        return sent != oldest

    def _report(self, now_ms, wallclock_ms):
        blocks = b""
        count = 0
        if self._remote_ssrc is not None and self.reception.expected() > 0:
            blocks = self._report_block(now_ms)
            count = 1
        if self._is_sender():
            seconds, fraction = ntp_from_wallclock(wallclock_ms)
            body = struct.pack(
                ">IIIIII",
                self.sender.ssrc,
                seconds,
                fraction,
                self.sender.timestamp,
                self.sender.packets_sent,
                self.sender.octets_sent,
            )
            return _header(count, PT_SR, body + blocks)
        return _header(count, PT_RR, struct.pack(">I", self.sender.ssrc) + blocks)

    def _report_block(self, now_ms):
        # 6.4.1 report block: SSRC, fraction lost, cumulative lost (24-bit
        # signed, clamped), extended highest sequence, jitter, LSR, DLSR.
        stats = self.reception
        fraction = stats.fraction_lost(commit=True)
        lost = max(-0x800000, min(0x7FFFFF, stats.cumulative_lost())) & 0xFFFFFF
        delay = 0
        last_sr = 0
        if self._last_sr_ssrc == self._remote_ssrc:
            last_sr = self._last_sr_middle
            elapsed = max(0, ticks_diff(now_ms, self._last_sr_arrival))
            delay = ((elapsed << 16) // 1000) & 0xFFFFFFFF
        return struct.pack(
            ">IIIIII",
            self._remote_ssrc,
            (fraction << 24) | lost,
            stats.extended_highest(),
            stats.jitter_units() & 0xFFFFFFFF,
            last_sr,
            delay,
        )

    def _sdes(self):
        # 6.5: one chunk, CNAME item, a null item ends it, pad to 32 bits.
        chunk = struct.pack(">IBB", self.sender.ssrc, SDES_CNAME, len(self.cname)) + self.cname
        chunk += b"\x00" * (4 - len(chunk) % 4)
        return _header(1, PT_SDES, chunk)

    def _bye_packet(self, reason):
        body = struct.pack(">I", self.sender.ssrc)
        text = reason.encode()[:255]
        if text:
            body += bytes((len(text),)) + text
            body += b"\x00" * (-len(body) % 4)
        return _header(1, PT_BYE, body)

    # --- input ----------------------------------------------------------------

    def receive_datagram(self, data, now_ms, wallclock_ms):
        reason = _check_compound(data)
        if reason is None:
            reason = self._read_compound(data, now_ms, wallclock_ms)
        if reason is not None:
            self.drops[reason] = (self.drops[reason] + 1) & 0xFFFFFFFF
            return
        self.reports_received += 1

    def _read_compound(self, data, now_ms, wallclock_ms):
        # Validate every packet first, then apply, so a bad tail changes nothing.
        offset = 0
        packets = []
        while offset < len(data):
            count = data[offset] & 0x1F
            packet_type = data[offset + 1]
            length = 4 * (((data[offset + 2] << 8) | data[offset + 3]) + 1)
            end = offset + length
            if data[offset] & 0x20:
                end -= data[end - 1]
            if not _body_fits(packet_type, count, data, offset + 4, end):
                return "report"
            packets.append((packet_type, count, offset + 4, end))
            offset += length
        for packet_type, count, start, end in packets:
            if packet_type == PT_SR:
                self._read_sender_report(data, start, now_ms)
                self._read_blocks(data, start + 24, count, wallclock_ms)
            elif packet_type == PT_RR:
                self._read_blocks(data, start + 4, count, wallclock_ms)
            elif packet_type == PT_SDES:
                self._read_sdes(data, start, end, count)
            elif packet_type == PT_BYE:
                self._read_bye(data, start, end, count)
        return None

    def _from_remote(self, ssrc):
        # Before any RTP arrived, whoever reaches our port is the remote.
        return self._remote_ssrc is None or ssrc == self._remote_ssrc

    def _read_sender_report(self, data, start, now_ms):
        ssrc, seconds, fraction = struct.unpack_from(">III", data, start)
        self._last_sr_ssrc = ssrc
        self._last_sr_middle = ((seconds & 0xFFFF) << 16) | (fraction >> 16)
        self._last_sr_arrival = now_ms

    def _read_blocks(self, data, start, count, wallclock_ms):
        for index in range(count):
            ssrc, lost_word, _, jitter, lsr, dlsr = struct.unpack_from(
                ">IIIIII", data, start + 24 * index
            )
            if ssrc != self.sender.ssrc:
                continue
            self.heard_us = True
            self.remote_fraction_lost = lost_word >> 24
            lost = lost_word & 0xFFFFFF
            self.remote_cumulative_lost = lost - 0x1000000 if lost & 0x800000 else lost
            self.remote_jitter_units = jitter
            if lsr:
                # 6.4.1: RTT = A - LSR - DLSR, in 1/65536 s.
                rtt = (ntp_middle(wallclock_ms) - lsr - dlsr) & 0xFFFFFFFF
                if rtt < 0x80000000:
                    self.rtt_ms = (rtt * 1000 + 0x8000) >> 16

    def _read_sdes(self, data, start, end, count):
        offset = start
        for _ in range(count):
            ssrc = struct.unpack_from(">I", data, offset)[0]
            offset += 4
            while offset < end and data[offset] != 0:
                item_type = data[offset]
                length = data[offset + 1]
                if item_type == SDES_CNAME and self._from_remote(ssrc):
                    self.remote_cname = _text(data[offset + 2 : offset + 2 + length])
                offset += 2 + length
            offset = (offset + 4) & ~3  # the null octet(s) up to 32 bits

    def _read_bye(self, data, start, end, count):
        leaving = False
        for index in range(count):
            ssrc = struct.unpack_from(">I", data, start + 4 * index)[0]
            leaving = leaving or self._from_remote(ssrc)
        reason = ""
        offset = start + 4 * count
        if offset < end:
            length = data[offset]
            reason = _text(data[offset + 1 : offset + 1 + length])
        if leaving:
            self._events.append(("bye", reason))

    # --- statistics -------------------------------------------------------------

    def stats(self, now_ms):
        reception = self.reception
        idle_ms = None
        if self._remote_ssrc is not None:
            idle_ms = ticks_diff(now_ms, self._last_rtp_ms)
        remote_jitter_ms = None
        if self.remote_jitter_units is not None:
            remote_jitter_ms = self.remote_jitter_units // self._units_per_ms
        return {
            "packets_sent": self.sender.packets_sent,
            "octets_sent": self.sender.octets_sent,
            "packets_received": reception.packets,
            "octets_received": reception.octets,
            "idle_ms": idle_ms,
            "cumulative_lost": reception.cumulative_lost(),
            "fraction_lost": reception.fraction_lost(),
            "jitter_ms": reception.jitter_ms(),
            "rtt_ms": self.rtt_ms,
            "remote_cname": self.remote_cname,
            "remote_fraction_lost": self.remote_fraction_lost,
            "remote_cumulative_lost": self.remote_cumulative_lost,
            "remote_jitter_ms": remote_jitter_ms,
            "reports_sent": self.reports_sent,
            "reports_received": self.reports_received,
        }


def _text(raw):
    try:
        return bytes(raw).decode()
    except UnicodeError:
        return ""


def _header(count, packet_type, body):
    return struct.pack(">BBH", 0x80 | count, packet_type, len(body) // 4) + body


def _check_compound(data):
    """Appendix A.2 checks on the whole datagram; the drop reason or None."""
    if len(data) < 8:
        return "short"
    offset = 0
    first = True
    while offset < len(data):
        if len(data) - offset < 4:
            return "length"
        if data[offset] >> 6 != 2:
            return "version"
        if first and data[offset + 1] not in (PT_SR, PT_RR):
            return "first"
        length = 4 * (((data[offset + 2] << 8) | data[offset + 3]) + 1)
        if offset + length > len(data):
            return "length"
        if data[offset] & 0x20:
            padding = data[offset + length - 1]
            if offset + length != len(data) or padding == 0 or padding > length - 4:
                return "padding"
        offset += length
        first = False
    return None


def _body_fits(packet_type, count, data, start, end):
    size = end - start
    if packet_type == PT_SR:
        return size >= 24 + 24 * count
    if packet_type == PT_RR:
        return size >= 4 + 24 * count
    if packet_type == PT_BYE:
        if size < 4 * count:
            return False
        if size > 4 * count:
            return start + 4 * count + 1 + data[start + 4 * count] <= end
        return True
    if packet_type == PT_SDES:
        return _sdes_fits(data, start, end, count)
    return True  # APP and feedback packets: skipped


def _sdes_fits(data, start, end, count):
    offset = start
    for _ in range(count):
        if offset + 4 > end:
            return False
        offset += 4
        while True:
            if offset >= end:
                return False
            if data[offset] == 0:
                break
            if offset + 2 > end or offset + 2 + data[offset + 1] > end:
                return False
            offset += 2 + data[offset + 1]
        offset = (offset + 4) & ~3
        if offset > end:
            return False
    return True
