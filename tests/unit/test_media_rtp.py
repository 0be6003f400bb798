# RTP packetizing and parsing (RFC 3550 section 5, RFC 3551): bytes on the
# wire, wrap-around, talk spurts, malformed packets and the source filter.

import struct

from intercom.media.rtp import RtpReceiver, RtpSender
from media_signals import fixed_bytes

REMOTE = ("127.0.0.1", 40000)
OTHER = ("127.0.0.1", 40002)
SEED = bytes([0x11, 0x22, 0x33, 0x44, 0x12, 0x34, 0xA0, 0xB0, 0xC0, 0xD0])


def make_sender(seed=SEED, payload_type=0):
    return RtpSender(payload_type, fixed_bytes(seed))


def send(sender, payload, marker=False):
    sender.payload[: len(payload)] = payload
    return bytes(sender.packet(len(payload), marker))


def raw_packet(
    payload_type=0,
    sequence=1,
    timestamp=160,
    ssrc=0x01020304,
    payload=b"\xff" * 160,
    marker=False,
    csrcs=(),
    extension=None,
    padding=0,
    first_byte=None,
):
    first = 0x80 | len(csrcs)
    if extension is not None:
        first |= 0x10
    if padding:
        first |= 0x20
    if first_byte is not None:
        first = first_byte
    data = struct.pack(
        ">BBHII", first, (0x80 if marker else 0) | payload_type, sequence, timestamp, ssrc
    )
    for csrc in csrcs:
        data += struct.pack(">I", csrc)
    if extension is not None:
        data += struct.pack(">HH", 0xBEDE, len(extension) // 4) + extension
    data += payload
    if padding:
        data += b"\x00" * (padding - 1) + bytes((padding,))
    return data


def test_first_packet_carries_random_ssrc_sequence_timestamp_and_marker():
    sender = make_sender()
    data = send(sender, b"\x7f" * 160)
    assert len(data) == 172
    assert data[:12] == bytes(
        [0x80, 0x80, 0x12, 0x34, 0xA0, 0xB0, 0xC0, 0xD0, 0x11, 0x22, 0x33, 0x44]
    )
    assert data[12:] == b"\x7f" * 160
    second = send(sender, b"\x7f" * 160)
    assert second[1] == 0x00  # no marker inside the talk spurt
    assert second[2:4] == b"\x12\x35"
    assert second[4:8] == struct.pack(">I", 0xA0B0C0D0 + 160)
    assert sender.packets_sent == 2
    assert sender.octets_sent == 320


def test_sequence_and_timestamp_wrap_around():
    seed = bytes([1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x60])
    sender = make_sender(seed)
    first = send(sender, b"\x00" * 160)
    second = send(sender, b"\x00" * 160)
    assert first[2:8] == b"\xff\xff\xff\xff\xff\x60"
    assert second[2:8] == b"\x00\x00\x00\x00\x00\x00"
    assert sender.timestamp == 160


def test_marker_starts_each_talk_spurt_after_silence():
    sender = make_sender()
    markers = []
    for frame in range(6):
        if frame in (2, 3):
            sender.skip_frame()  # silence: not sent, clock runs on
            continue
        markers.append(send(sender, b"\x00" * 160)[1] >> 7)
    assert markers == [1, 0, 1, 0]
    assert sender.timestamp == 0xA0B0C0D0 + 6 * 160
    assert sender.sequence == 0x1234 + 4


def test_event_packet_uses_given_payload_type_and_timestamp():
    sender = make_sender()
    sender.payload[:4] = b"\x05\x0a\x00\xa0"
    data = bytes(sender.event_packet(4, 101, 0x01020304, True))
    assert data[1] == 0x80 | 101
    assert data[4:8] == b"\x01\x02\x03\x04"
    assert data[12:] == b"\x05\x0a\x00\xa0"
    assert sender.timestamp == 0xA0B0C0D0 + 160  # the frame clock ran on


def test_payload_longer_than_the_buffer_is_our_error():
    sender = RtpSender(0, fixed_bytes(SEED), max_payload=200)
    try:
        sender.packet(201)
    except ValueError:
        return
    raise AssertionError("no ValueError")


def test_round_trip_through_receiver_without_copying_the_payload():
    sender = make_sender(payload_type=8)
    receiver = RtpReceiver([0, 8], REMOTE)
    buffer = bytearray(send(sender, bytes(range(160))))
    packet = receiver.receive(buffer, REMOTE)
    assert packet.payload_type == 8
    assert packet.marker
    assert packet.sequence == 0x1234
    assert packet.timestamp == 0xA0B0C0D0
    assert packet.timestamp_low == 0xC0D0
    assert packet.ssrc == 0x11223344
    assert bytes(packet.payload) == bytes(range(160))
    buffer[12] = 0xEE  # the payload is a view into the received buffer
    assert packet.payload[0] == 0xEE
    assert receiver.accepted == 1


def test_receiver_skips_csrcs_extension_and_padding():
    receiver = RtpReceiver([0], REMOTE)
    data = raw_packet(
        csrcs=(5, 6), extension=b"\x10\xaa\x00\x00", padding=4, payload=b"\x01\x02\x03"
    )
    packet = receiver.receive(data, REMOTE)
    assert packet.csrc_count == 2
    assert bytes(packet.payload) == b"\x01\x02\x03"
    assert receiver.receive(data, REMOTE, len(data)) is not None
    # A receive buffer longer than the datagram: only `length` bytes count.
    longer = bytearray(data) + b"\x99" * 20
    assert bytes(receiver.receive(longer, REMOTE, len(data)).payload) == b"\x01\x02\x03"


def test_malformed_packets_are_dropped_and_counted_by_reason():
    receiver = RtpReceiver([0, 101], REMOTE)
    cases = [
        ("short", raw_packet()[:11]),
        ("short", b""),
        ("version", raw_packet(first_byte=0x40)),
        ("padding", raw_packet(payload=b"\x01\x02", padding=3)[:-1] + b"\x00"),
        ("padding", raw_packet(payload=b"\x01\x02", padding=3)[:-1] + b"\x40"),
        ("csrc", raw_packet(payload=b"", first_byte=0x8F)),
        ("extension", raw_packet(payload=b"\x00\x00", first_byte=0x90)),
        ("extension", raw_packet(extension=b"", payload=b"")[:12] + b"\xbe\xde\x00\x09"),
        ("empty", raw_packet(payload=b"")),
        ("payload_type", raw_packet(payload_type=8)),
        ("payload_type", raw_packet(payload_type=127)),
    ]
    for reason, data in cases:
        before = receiver.drops[reason]
        assert receiver.receive(data, REMOTE) is None, reason
        assert receiver.drops[reason] == before + 1, reason
    assert receiver.accepted == 0
    assert receiver.receive(raw_packet(payload_type=101, payload=b"\x01\x00\x00\xa0"), REMOTE)


def test_every_truncation_and_bit_flip_is_handled():
    receiver = RtpReceiver([0], REMOTE)
    data = raw_packet(csrcs=(7,), extension=b"\x00" * 8, padding=2, payload=b"\x55" * 20)
    for cut in range(len(data) + 1):
        receiver.receive(data[:cut], REMOTE)
    for index in range(16):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[index] ^= 1 << bit
            receiver.receive(flipped, REMOTE)
    total = receiver.accepted
    for count in receiver.drops.values():
        total += count
    assert total == len(data) + 1 + 128


def test_source_filter_accepts_only_the_negotiated_address():
    receiver = RtpReceiver([0], REMOTE)
    assert receiver.receive(raw_packet(), OTHER) is None
    assert receiver.drops["source"] == 1
    assert receiver.receive(raw_packet(), REMOTE) is not None
    receiver.set_remote(OTHER)
    assert receiver.receive(raw_packet(), REMOTE) is None
    assert receiver.receive(raw_packet(), OTHER) is not None


# Symmetric RTP (RFC 4961): the flat at 127.0.0.1 signals; its SDP names
# REMOTE, but behind NAT its packets come from NAT (same host, other port).
NAT = ("127.0.0.1", 40100)
ATTACKER = ("127.0.0.9", 40000)  # another host on the LAN


def stream(receiver, source, first_sequence, count, ssrc=0x01020304):
    """receive() results for `count` packets in sequence from source."""
    return [
        receiver.receive(raw_packet(sequence=first_sequence + n, ssrc=ssrc), source)
        for n in range(count)
    ]


def test_symmetric_rtp_latches_onto_a_stream_from_the_signalling_host():
    receiver = RtpReceiver([0], REMOTE, latch_host="127.0.0.1")
    first, second, third = stream(receiver, NAT, 7, 3)
    assert first is None and receiver.drops["probation"] == 1  # one packet proves nothing
    assert second is not None and receiver.latched and receiver.remote == NAT
    assert third is not None


def test_symmetric_rtp_never_latches_onto_another_host():
    receiver = RtpReceiver([0], REMOTE, latch_host="127.0.0.1")
    assert stream(receiver, ATTACKER, 1, 10) == [None] * 10  # however long its stream
    assert receiver.remote == REMOTE and not receiver.latched
    assert receiver.drops["source"] == 10
    assert stream(receiver, REMOTE, 50, 1)[0] is not None  # the flat's first packet


def test_symmetric_rtp_latches_only_onto_a_stream_whose_ssrc_and_sequence_continue():
    receiver = RtpReceiver([0], REMOTE, latch_host="127.0.0.1")
    for sequence, ssrc in ((1, 1), (2, 2), (4, 2), (4, 2), (6, 3)):
        assert receiver.receive(raw_packet(sequence=sequence, ssrc=ssrc), NAT) is None
    assert not receiver.latched and receiver.drops["probation"] == 5
    assert receiver.receive(raw_packet(sequence=7, ssrc=3), NAT) is not None
    assert receiver.latched


def test_once_the_negotiated_address_sends_nothing_else_takes_the_stream():
    receiver = RtpReceiver([0], REMOTE, latch_host="127.0.0.1")
    assert stream(receiver, REMOTE, 1, 1)[0] is not None
    assert stream(receiver, NAT, 100, 5) == [None] * 5
    assert receiver.remote == REMOTE and not receiver.latched
    assert receiver.drops["source"] == 5


def test_the_negotiated_address_takes_a_latched_stream_back():
    receiver = RtpReceiver([0], REMOTE, latch_host="127.0.0.1")
    stream(receiver, NAT, 1, 2)
    assert receiver.remote == NAT
    assert stream(receiver, REMOTE, 500, 1)[0] is not None
    assert receiver.remote == REMOTE and not receiver.latched
    assert stream(receiver, NAT, 3, 3) == [None] * 3


def test_without_symmetric_rtp_only_the_negotiated_address_is_heard():
    receiver = RtpReceiver([0], REMOTE)
    assert stream(receiver, NAT, 1, 5) == [None] * 5
    assert receiver.drops["source"] == 5 and receiver.drops["probation"] == 0
