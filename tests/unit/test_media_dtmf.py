# RFC 4733 telephone-events (sender bytes, receiver digits, quirks of real
# peers) and SIP INFO DTMF bodies.

import struct

from intercom.media.dtmf import DtmfReceiver, DtmfSender, digit_from_info
from intercom.media.rtp import RtpReceiver, RtpSender
from machine_events import drain
from media_signals import fixed_bytes

REMOTE = ("127.0.0.1", 40000)
SEED = bytes([1, 2, 3, 4, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00])


def tick_all(dtmf, rtp, ticks):
    """Packets (bytes) the sender produces over `ticks` frame ticks; None
    where the tick belongs to audio."""
    out = []
    for _ in range(ticks):
        packet = dtmf.next_packet(rtp)
        if packet is None:
            rtp.skip_frame()
            out.append(None)
        else:
            out.append(bytes(packet))
    return out


def event_packet(event, end, duration, timestamp, sequence, payload_type=101, marker=False):
    header = struct.pack(
        ">BBHII", 0x80, (0x80 if marker else 0) | payload_type, sequence, timestamp, 0x55
    )
    return header + bytes((event, (0x80 if end else 0) | 10)) + struct.pack(">H", duration)


def receive_all(datagrams, payload_types=(101,), now_step=20):
    rtp = RtpReceiver(payload_types, REMOTE)
    dtmf = DtmfReceiver(payload_types)
    now = 0
    for data in datagrams:
        if data is not None:
            packet = rtp.receive(data, REMOTE)
            assert packet is not None
            dtmf.receive(packet, now)
        now += now_step
    return dtmf, now


def test_sender_packets_for_one_digit():
    rtp = RtpSender(0, fixed_bytes(SEED))
    dtmf = DtmfSender(101, volume=10)
    dtmf.send("5", duration_ms=100)
    assert dtmf.active
    packets = tick_all(dtmf, rtp, 8)
    assert packets[7] is None and not dtmf.active
    sent = packets[:7]
    # Start with marker, updates every frame, three end packets (2.5.1.4).
    assert [p[1] for p in sent] == [0x80 | 101] + [101] * 6
    assert [struct.unpack(">H", p[2:4])[0] for p in sent] == list(range(0x1000, 0x1007))
    assert all(p[4:8] == b"\x00\x00\x10\x00" for p in sent)  # one event timestamp
    assert [p[12] for p in sent] == [5] * 7
    assert [p[13] for p in sent] == [10] * 4 + [0x80 | 10] * 3
    assert [struct.unpack(">H", p[14:16])[0] for p in sent] == [160, 320, 480, 640, 800, 800, 800]
    # Audio after the event carries the media clock on: 8 frames later.
    assert rtp.timestamp == 0x1000 + 8 * 160


def test_sender_leaves_a_gap_between_digits_and_knows_all_digits():
    rtp = RtpSender(0, fixed_bytes(SEED))
    dtmf = DtmfSender(114)
    dtmf.send("19*#ABCD0")
    packets = tick_all(dtmf, rtp, 9 * 10 + 5)
    starts = [index for index, p in enumerate(packets) if p is not None and p[1] & 0x80]
    assert [packets[i][12] for i in starts] == [1, 9, 10, 11, 12, 13, 14, 15, 0]
    # 7 packets per digit then 60 ms (3 ticks) for audio.
    assert [starts[i + 1] - starts[i] for i in range(len(starts) - 1)] == [10] * 8


def test_sender_rejects_what_is_not_dtmf():
    dtmf = DtmfSender(101)
    for bad in ("E", "x", "12 3"):
        try:
            dtmf.send(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)
    for bad_type in (0, 8, 95, 128):
        try:
            DtmfSender(bad_type)
        except ValueError:
            continue
        raise AssertionError("accepted payload type %d" % bad_type)
    assert not dtmf.active


def test_round_trip_gives_one_event_per_digit():
    rtp = RtpSender(0, fixed_bytes(SEED))
    dtmf = DtmfSender(101)
    dtmf.send("1234#", duration_ms=120)
    receiver, _ = receive_all(tick_all(dtmf, rtp, 60))
    assert drain(receiver) == [("1", 120), ("2", 120), ("3", 120), ("4", 120), ("#", 120)]


def test_each_queued_digit_keeps_its_duration():
    rtp = RtpSender(0, fixed_bytes(SEED))
    dtmf = DtmfSender(101)
    dtmf.send("1", duration_ms=60)
    dtmf.send("2", duration_ms=200)
    receiver, _ = receive_all(tick_all(dtmf, rtp, 30))
    assert drain(receiver) == [("1", 60), ("2", 200)]


def test_dynamic_payload_type_114_and_others_dropped():
    rtp = RtpSender(0, fixed_bytes(SEED))
    dtmf = DtmfSender(114)
    dtmf.send("7")
    receiver = DtmfReceiver([114])
    rtp_receiver = RtpReceiver([101, 114], REMOTE)
    for data in tick_all(dtmf, rtp, 8):
        if data is not None:
            receiver.receive(rtp_receiver.receive(data, REMOTE), 0)
    receiver.receive(rtp_receiver.receive(event_packet(3, True, 800, 9, 9), REMOTE), 0)
    assert drain(receiver) == [("7", 100)]
    assert receiver.drops["payload_type"] == 1


def test_repeated_end_packets_and_sequence_numbers_give_one_digit():
    # linphone: the three end packets share one sequence number.
    datagrams = [
        event_packet(9, False, 160, 1000, 1, marker=True),
        event_packet(9, False, 320, 1000, 2),
        event_packet(9, True, 480, 1000, 3),
        event_packet(9, True, 480, 1000, 3),
        event_packet(9, True, 480, 1000, 3),
        event_packet(9, True, 480, 1000, 3),
    ]
    receiver, _ = receive_all(datagrams)
    assert drain(receiver) == [("9", 60)]


def test_lost_start_packets_still_give_the_digit():
    receiver, _ = receive_all([event_packet(11, True, 800, 5000, 8)] * 3)
    assert drain(receiver) == [("#", 100)]


def test_missing_end_bit_ends_on_the_next_event_timestamp():
    # Some FRITZ!Box models never set E: the next event's timestamp (or a
    # timeout) ends the digit.
    datagrams = []
    sequence = 0
    for digit, timestamp in ((1, 8000), (1, 9600), (2, 11200)):
        for step in range(1, 5):
            sequence += 1
            datagrams.append(
                event_packet(digit, False, 160 * step, timestamp, sequence, marker=step == 1)
            )
    receiver, now = receive_all(datagrams)
    assert drain(receiver) == [("1", 80), ("1", 80)]
    deadline = receiver.get_timer()
    assert deadline == now - 20 + 250
    receiver.poll(deadline - 1)
    assert receiver.next_event() is None
    receiver.poll(deadline)
    assert drain(receiver) == [("2", 80)]
    assert receiver.get_timer() is None


def test_stale_short_and_unknown_packets_are_dropped():
    datagrams = [
        event_packet(4, True, 800, 20000, 1),
        event_packet(5, True, 800, 10000, 2),  # older event arriving late
        event_packet(16, True, 800, 30000, 3),  # flash: not a digit
        event_packet(6, True, 800, 40000, 4)[:14],  # payload of 2 bytes
        event_packet(6, True, 800, 40000, 5),
    ]
    receiver, _ = receive_all(datagrams)
    assert drain(receiver) == [("4", 100), ("6", 100)]
    assert receiver.drops == {"payload_type": 0, "short": 1, "unknown_event": 1, "stale": 1}


def test_timestamp_wrap_is_a_new_event_not_a_stale_one():
    datagrams = [
        event_packet(1, True, 800, 0xFFFFFC00, 1),
        event_packet(2, True, 800, 0x00000200, 2),
    ]
    receiver, _ = receive_all(datagrams)
    assert drain(receiver) == [("1", 100), ("2", 100)]


def test_info_dtmf_relay_bodies():
    relay = "application/dtmf-relay"
    assert digit_from_info(relay, "Signal=5\r\nDuration=160\r\n") == "5"
    assert digit_from_info(relay, b"Signal=*\r\nDuration=250") == "*"
    assert digit_from_info(relay, "signal = #\nduration=100") == "#"
    assert digit_from_info(relay, "Signal=11\r\n") == "#"
    assert digit_from_info(relay, "Signal=d") == "D"
    assert digit_from_info("Application/DTMF-Relay; charset=x", "Signal=0") == "0"
    assert digit_from_info(relay, "Duration=160") is None
    assert digit_from_info(relay, "Signal=\r\n") is None
    assert digit_from_info(relay, "Signal=16") is None
    assert digit_from_info(relay, "Signal=55") is None
    assert digit_from_info(relay, b"\xff\xfe") is None
    assert digit_from_info(relay, "") is None


def test_info_dtmf_bodies():
    assert digit_from_info("application/dtmf", "7") == "7"
    assert digit_from_info("application/dtmf", " A\r\n") == "A"
    assert digit_from_info("application/dtmf", "77") is None
    assert digit_from_info("application/dtmf", "") is None
    assert digit_from_info("text/plain", "7") is None
