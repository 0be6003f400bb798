# A small SNTP client (RFC 4330; NTP version 4, RFC 5905) for a board
# without a clock: the Pico W's quiet hours need the date and time. Portable
# and sans-I/O: it makes the request and judges the answer; the board sends
# and receives through a socket it already has (on the Pico W the SIP
# socket: lwIP has five UDP sockets, and DHCP, DNS, SIP, RTP and RTCP hold
# them; boards.runtime.runtime.Runtime.borrow_sip_socket).
#
#   client = SntpClient(random_bytes)
#   client.request(now_ms)          48 bytes for the server, port 123
#   client.receive(data, now_ms)    True when the answer set the clock
#   client.utc_ms(now_ms)           Unix-epoch ms now, None before the first answer
#   client.next_request_ms(now_ms)  ms until the next request is due
#
# Requests: at once, then every RETRY_MS until an answer came, then every
# SYNC_MS (RFC 4330 10: no more often than once a minute; a ticks clock
# drifts far less than a minute per hour). An answer counts when (RFC 4330
# 5): mode 4 (server), version 3 or 4, leap indicator not 3 (unsynchronised),
# stratum 1-15 (0 is a kiss-o'-death), its originate timestamp is our
# request's transmit timestamp (8 random bytes: a spoofed answer must guess
# them), its transmit timestamp is not 0, and it answers the last request
# (one answer per request). The time at the answer is the server's transmit
# time plus half the round trip less the server's own delay (RFC 4330 5:
# ((T4 - T1) - (T3 - T2)) / 2). NTP seconds before 2**31 are era 1 (after
# February 2036).
# The clock is kept as the Unix ms at a ticks instant; utc_ms adds the
# ticks since and moves the instant to now, so the stored tick never ages
# past the ticks' half period (the runtime reads it every second; each
# answer replaces it too).

import struct

from intercom.compat import ticks_add, ticks_diff

PACKET_BYTES = 48
NTP_PORT = 123
RETRY_MS = 10000
SYNC_MS = 3600000
NTP_TO_UNIX_S = 2208988800  # 1900-01-01 to 1970-01-01
ERA_S = 1 << 32
MODE_CLIENT = 3
MODE_SERVER = 4
VERSION = 4


def _timestamp_ms(data, offset):
    """Unix-epoch ms of the NTP timestamp at data[offset:offset + 8]."""
    seconds, fraction = struct.unpack_from(">II", data, offset)
    if seconds < 1 << 31:
        seconds += ERA_S
    return (seconds - NTP_TO_UNIX_S) * 1000 + ((fraction * 1000) >> 32)


class SntpClient:
    def __init__(self, random_bytes):
        self._random_bytes = random_bytes
        self._nonce = None  # the transmit timestamp of the request in flight
        self._sent_ms = None
        self._due_ms = None  # None: a request is due now
        self._synced_utc_ms = None
        self._synced_tick = None
        self.answers = 0
        self.refused = 0

    def request(self, now_ms):
        self._nonce = self._random_bytes(8)
        self._sent_ms = now_ms
        self._due_ms = ticks_add(now_ms, SYNC_MS if self._synced_tick is not None else RETRY_MS)
        packet = bytearray(PACKET_BYTES)
        packet[0] = (VERSION << 3) | MODE_CLIENT
        packet[40:48] = self._nonce
        return bytes(packet)

    def next_request_ms(self, now_ms):
        if self._due_ms is None:
            return 0
        return max(0, ticks_diff(self._due_ms, now_ms))

    def receive(self, data, now_ms):
        """An answer from the server's address; False (counted) when refused."""
        if not self._valid(data):
            self.refused += 1
            return False
        self._nonce = None
        receive_ms = _timestamp_ms(data, 32)
        transmit_ms = _timestamp_ms(data, 40)
        round_trip = ticks_diff(now_ms, self._sent_ms) - (transmit_ms - receive_ms)
        self._synced_utc_ms = transmit_ms + max(0, round_trip) // 2
        self._synced_tick = now_ms
        self._due_ms = ticks_add(now_ms, SYNC_MS)
        self.answers += 1
        return True

    def utc_ms(self, now_ms):
        if self._synced_tick is None:
            return None
        self._synced_utc_ms += ticks_diff(now_ms, self._synced_tick)
        self._synced_tick = now_ms
        return self._synced_utc_ms

    def _valid(self, data):
        if self._nonce is None or len(data) < PACKET_BYTES:
            return False
        leap = data[0] >> 6
        version = (data[0] >> 3) & 7
        mode = data[0] & 7
        stratum = data[1]
        if mode != MODE_SERVER or version not in (3, 4) or leap == 3:
            return False
        if not 1 <= stratum <= 15:
            return False
        if bytes(data[24:32]) != self._nonce:
            return False
        return bytes(data[40:48]) != bytes(8)
