# The flat's RTP endpoint for SIPp-signalled flats: SIPp's SDP names this
# socket's port (bound first, any free one), so packets the door sends
# arrive here and packets sent from here come from the negotiated address
# (the door accepts RTP only from there; SIPp's own rtp_stream sends from
# another port). It sends PCMU every ptime_ms (20 unless told) to the door's
# RTP port from the moment it starts, and, when asked, RFC 4733
# telephone-events with a chosen payload type, FRITZ!Box style: no End bit,
# the event just stops and a new timestamp starts the next one.

import socket
import struct
import threading
import time

from support.audio import ulaw_compress
from support.datagrams import datagrams_while_running

SSRC = 0x0BADCAFE
DIGIT_MS = 120
GAP_MS = 100


class FlatRtp:
    """`send_samples` (int16) as PCMU from .port to the door, in packets of
    ptime_ms, once start(door) named its address; `digits` queued by dtmf()
    go out as telephone-events of `dtmf_payload_type` (with duration 0 in
    every packet when zero_durations, as some FRITZ!Box firmware sends)."""

    def __init__(self, send_samples, dtmf_payload_type=None, ptime_ms=20, zero_durations=False):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.door = None
        self.ulaw = ulaw_compress(send_samples)
        self.dtmf_payload_type = dtmf_payload_type
        self.ptime_ms = ptime_ms
        self.zero_durations = zero_durations  # every event packet says duration 0
        self.pending_digits = []
        self.received = []  # (payload type, payload) in arrival order
        self.timestamps = []  # the RTP timestamp of each, in the same order
        self.sources = set()
        self.running = True
        self.threads = []

    def start(self, door):
        """Receive, and send to door ((host, port)) from now on."""
        self.door = door
        self.threads = [
            threading.Thread(target=self._receive, daemon=True),
            threading.Thread(target=self._send, daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        return self

    def dtmf(self, digits):
        self.pending_digits.extend(digits)

    def _receive(self):
        for data, address in datagrams_while_running(self):
            if len(data) >= 12 and data[0] >> 6 == 2:
                self.sources.add(address)
                self.received.append((data[1] & 0x7F, data[12:]))
                self.timestamps.append(struct.unpack("!I", data[4:8])[0])

    def _packet(self, payload_type, marker, sequence, timestamp, payload):
        first = (0x80 if marker else 0) | payload_type
        header = struct.pack("!BBHII", 0x80, first, sequence & 0xFFFF, timestamp, SSRC)
        self.sock.sendto(header + payload, self.door)

    def _send(self):
        packet = 8 * self.ptime_ms
        start = time.monotonic()
        sequence = 1000
        index = 0
        digit_packets = 0
        digit_timestamp = 0
        digit = None
        while self.running:
            delay = start + index * self.ptime_ms / 1000 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            timestamp = index * packet
            if digit is None and self.pending_digits:
                item = self.pending_digits.pop(0)
                if item is not None:  # None: one packet of audio between digits
                    digit = "0123456789*#ABCD".index(item)
                    digit_timestamp = timestamp
                    digit_packets = 0
            if digit is not None:
                # RFC 4733 2.3: event, E=0 R=0 volume 10, duration so far;
                # DIGIT_MS of packets, then audio again: no End packets.
                digit_packets += 1
                duration = 0 if self.zero_durations else digit_packets * packet
                payload = struct.pack("!BBH", digit, 10, duration)
                self._packet(
                    self.dtmf_payload_type, digit_packets == 1, sequence, digit_timestamp, payload
                )
                if digit_packets * self.ptime_ms >= DIGIT_MS:
                    digit = None
                    if self.pending_digits:  # GAP_MS of audio between digits
                        self.pending_digits[:0] = [None] * (GAP_MS // self.ptime_ms)
            else:
                offset = (index * packet) % max(packet, len(self.ulaw) - packet)
                self._packet(0, False, sequence, timestamp, self.ulaw[offset : offset + packet])
            sequence += 1
            index += 1

    def stop(self):
        self.running = False
        for thread in self.threads:
            thread.join()
        self.sock.close()
