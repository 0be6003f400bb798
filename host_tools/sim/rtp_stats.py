"""RTP streams read back from the captured datagrams (what the pcap holds).

For one direction (source -> destination address) of a capture's records
(time_s, source, destination, payload):

    packets, payload types seen, RFC 4733 event packets (by payload type),
    lost  = expected - received, expected from the extended sequence range
            (RFC 3550 section 6.4.1 / appendix A.3),
    jitter = the interarrival jitter estimate of RFC 3550 section 6.4.1 /
            appendix A.8 (J += (|D| - J) / 16, D in timestamp units), over
            the audio packets only, given in ms at 8000 Hz.

A datagram counts as RTP when it is at least 12 bytes with version 2
(RFC 3550 section 5.1); RTCP (payload types 200-204 in the second byte,
RFC 5761 section 4) is left out.
"""

import struct

CLOCK_RATE = 8000


class StreamStats:
    def __init__(self):
        self.packets = 0
        self.payload_types = {}  # type -> packets
        self.lost = 0
        self.jitter_ms = 0.0
        self.first_time_s = None
        self.last_time_s = None

    def count(self, payload_type):
        return self.payload_types.get(payload_type, 0)


def is_rtp(payload):
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return False
    return not 200 <= payload[1] <= 204  # RTCP sender/receiver report, SDES, BYE, APP


def stream_stats(records, source, destination, audio_types=(0, 8)):
    """StreamStats of the RTP packets from source to destination, time-ordered."""
    stats = StreamStats()
    highest = None  # extended highest sequence number
    base = None
    jitter_units = 0.0
    previous_transit = None
    first_timestamp = None
    for time_s, sender, receiver, payload in sorted(records, key=lambda record: record[0]):
        if sender != source or receiver != destination or not is_rtp(payload):
            continue
        payload_type = payload[1] & 0x7F
        sequence, timestamp = struct.unpack("!HI", payload[2:8])
        stats.packets += 1
        stats.payload_types[payload_type] = stats.count(payload_type) + 1
        if stats.first_time_s is None:
            stats.first_time_s = time_s
        stats.last_time_s = time_s
        if highest is None:
            base = highest = sequence
        else:
            delta = (sequence - (highest & 0xFFFF)) & 0xFFFF
            if delta < 0x8000:  # forward (a wrap adds 2**16)
                highest += delta
        if payload_type in audio_types:
            if first_timestamp is None:
                first_timestamp = timestamp
            # timestamps are 32-bit and wrap: measure from the first one, signed
            elapsed = ((timestamp - first_timestamp + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            transit = time_s * CLOCK_RATE - elapsed
            if previous_transit is not None:
                difference = abs(transit - previous_transit)
                jitter_units += (difference - jitter_units) / 16.0
            previous_transit = transit
    if highest is not None:
        stats.lost = max(0, highest - base + 1 - stats.packets)
    stats.jitter_ms = 1000.0 * jitter_units / CLOCK_RATE
    return stats
