# RTCP (RFC 3550 section 6, appendix A): reception statistics, report
# timing and bytes, parsing of what peers send, round-trip time.

import struct

from intercom.media.reception import ReceptionStats
from intercom.media.rtcp import RtcpSession, ntp_from_wallclock
from intercom.media.rtp import RtpReceiver, RtpSender
from media_signals import Lcg, fixed_bytes

REMOTE = ("127.0.0.1", 40000)
WALLCLOCK = 1764115200000  # 2025-11-26 00:00:00 UTC in ms


def make_session(seed=1, now_ms=0, cname="door@intercom"):
    generator = Lcg(seed)
    sender = RtpSender(0, generator.random_bytes)
    return RtcpSession(sender, cname, generator.random_bytes, now_ms)


def feed(stats, sequences, start_ms=0, spacing_ms=20, jitter=None):
    for index, sequence in enumerate(sequences):
        arrival = start_ms + index * spacing_ms + (jitter[index] if jitter else 0)
        stats.update(sequence & 0xFFFF, (sequence * 160) & 0xFFFF, arrival, 160)


def test_in_order_stream_has_no_loss_and_no_jitter():
    stats = ReceptionStats()
    feed(stats, range(100))
    assert stats.packets == 100
    assert stats.octets == 16000
    # A.1: the first packet is the probation packet; 99 counted after it.
    assert stats.expected() == 99
    assert stats.cumulative_lost() == 0
    assert stats.fraction_lost() == 0
    assert stats.jitter_ms() == 0


def test_loss_counts_follow_appendix_a3():
    stats = ReceptionStats()
    sequences = [n for n in range(101) if n % 10 != 5]  # 10 lost
    for sequence in sequences:
        stats.update(sequence, sequence * 160, sequence * 20, 160)
    assert stats.expected() == 100
    assert stats.cumulative_lost() == 10
    assert stats.fraction_lost(commit=True) == 10 * 256 // 100
    # A new interval without loss reports zero, the cumulative count stays.
    for sequence in range(101, 151):
        stats.update(sequence, sequence * 160, sequence * 20, 160)
    assert stats.fraction_lost() == 0
    assert stats.cumulative_lost() == 10


def test_sequence_wrap_extends_the_highest_sequence():
    stats = ReceptionStats()
    feed(stats, range(65530, 65546))
    assert stats.extended_highest() == (1 << 16) | 9
    assert stats.cumulative_lost() == 0
    assert stats.expected() == 15


def test_big_jump_needs_two_sequential_packets_to_resync():
    stats = ReceptionStats()
    feed(stats, range(10))
    assert stats.update(30000, 0, 500, 160) is False  # judged bad (A.1)
    assert stats.update(30001, 160, 520, 160) is True  # sender restarted
    assert stats.extended_highest() == 30001
    assert stats.cumulative_lost() == 0


def test_duplicates_make_loss_negative_as_the_rfc_allows():
    stats = ReceptionStats()
    feed(stats, [0, 1, 2, 2, 3, 3, 4])
    assert stats.cumulative_lost() == -2


def test_interarrival_jitter_follows_appendix_a8():
    stats = ReceptionStats()
    # Every other packet 10 ms late: |D| = 80 units each time after the
    # first; J += (|D| - J) / 16 converges towards 80 units = 10 ms.
    feed(stats, range(200), jitter=[10 * (n % 2) for n in range(200)])
    assert stats.jitter_units() in (78, 79, 80)
    assert stats.jitter_ms() == 10


def test_jitter_survives_timestamp_and_clock_wrap():
    stats = ReceptionStats()
    for index in range(50):
        timestamp = (0xFFFFF000 + index * 160) & 0xFFFF
        stats.update(index, timestamp, (0x3FFFFF00 + index * 20) & 0x3FFFFFFF, 160)
    assert stats.jitter_units() == 0


def test_reports_are_randomised_around_the_interval():
    session = make_session()
    first = session.get_timer()
    assert 1250 <= first < 3750  # 6.2: the first interval is halved
    session.handle_timer(first - 1, WALLCLOCK)
    assert session.datagrams_to_send() == []
    deadlines = []
    now = first
    for _ in range(20):
        session.handle_timer(now, WALLCLOCK)
        assert len(session.datagrams_to_send()) == 1
        deadlines.append(session.get_timer() - now)
        now = session.get_timer()
    assert min(deadlines) >= 2500 and max(deadlines) < 7500
    assert len(set(deadlines)) > 10
    again = make_session()
    assert again.get_timer() == first  # same random source, same schedule


def test_receiver_report_with_sdes_cname_bytes():
    session = make_session()
    session.handle_timer(session.get_timer(), WALLCLOCK)
    (data,) = session.datagrams_to_send()
    ssrc = struct.pack(">I", session.sender.ssrc)
    # RR without report blocks (nobody sent to us yet), then SDES.
    assert data[:8] == b"\x80\xc9\x00\x01" + ssrc
    cname = b"door@intercom"
    sdes = b"\x81\xca\x00\x05" + ssrc + b"\x01" + bytes((len(cname),)) + cname + b"\x00"
    assert data[8:] == sdes
    assert len(data) % 4 == 0


def test_sender_report_when_we_sent_and_report_block_on_the_remote():
    session = make_session()
    sender = session.sender
    remote = RtpSender(0, fixed_bytes(bytes([9, 9, 9, 9, 0, 10, 0, 0, 0, 0])))
    receiver = RtpReceiver([0], REMOTE)
    now = 0
    for index in range(50):
        if index != 20:  # one lost packet
            packet = receiver.receive(remote.packet(160), REMOTE)
            session.rtp_received(packet, now)
        else:
            remote.packet(160)
        sender.packet(160)
        now += 20
    session.handle_timer(session.get_timer(), WALLCLOCK)
    (data,) = session.datagrams_to_send()
    assert data[0] == 0x81 and data[1] == 200  # SR with one report block
    fields = struct.unpack(">IIIIII", data[4:28])
    seconds, fraction = ntp_from_wallclock(WALLCLOCK)
    assert fields == (
        sender.ssrc,
        seconds,
        fraction,
        sender.timestamp,
        50,
        50 * 160,
    )
    block = struct.unpack(">IIIIII", data[28:52])
    assert block[0] == 0x09090909
    assert block[1] >> 24 == 256 // 49  # 1 of 49 expected lost
    assert block[1] & 0xFFFFFF == 1
    assert block[2] == 10 + 49
    assert block[4:] == (0, 0)  # no SR from the remote yet
    stats = session.stats(now + 300)
    assert stats["packets_sent"] == 50
    assert stats["octets_sent"] == 8000
    assert stats["packets_received"] == 49
    assert stats["octets_received"] == 49 * 160
    assert stats["idle_ms"] == 300 + 20  # the last packet came at now - 20
    assert stats["cumulative_lost"] == 1
    assert stats["rtt_ms"] is None


def test_round_trip_time_from_lsr_and_dlsr():
    door = make_session(seed=1)
    phone = make_session(seed=2, cname="phone")
    door_receiver = RtpReceiver([0], REMOTE)
    phone_receiver = RtpReceiver([0], REMOTE)
    for _ in range(5):  # both send RTP so both know each other's SSRC
        phone.rtp_received(phone_receiver.receive(door.sender.packet(160), REMOTE), 0)
        door.rtp_received(door_receiver.receive(phone.sender.packet(160), REMOTE), 0)
    # The door's SR leaves at wallclock W and takes 40 ms to the phone.
    door.handle_timer(door.get_timer(), WALLCLOCK)
    (report,) = door.datagrams_to_send()
    # The phone's next report is due 1000 ms after that (its DLSR), and
    # takes 40 ms on the way back.
    due = phone.get_timer()
    phone.receive_datagram(report, due - 1000, WALLCLOCK + 40)
    phone.handle_timer(due, WALLCLOCK + 1040)
    (answer,) = phone.datagrams_to_send()
    door.receive_datagram(answer, 0, WALLCLOCK + 1080)
    stats = door.stats(0)
    assert stats["rtt_ms"] in (79, 80, 81)
    assert stats["remote_cname"] == "phone"
    assert stats["remote_cumulative_lost"] == 0
    assert stats["reports_received"] == 1


def test_bye_is_reported_once_with_its_reason():
    door = make_session(seed=1)
    phone = make_session(seed=2)
    receiver = RtpReceiver([0], REMOTE)
    for _ in range(3):
        door.rtp_received(receiver.receive(phone.sender.packet(160), REMOTE), 0)
    phone.bye(0, WALLCLOCK, "hung up")
    (data,) = phone.datagrams_to_send()
    assert data[-16:] == b"\x81\xcb\x00\x03" + data[4:8] + b"\x07hung up"
    door.receive_datagram(data, 0, WALLCLOCK)
    assert door.next_event() == ("bye", "hung up")
    assert door.next_event() is None


def test_malformed_compound_packets_are_dropped_and_counted():
    session = make_session()
    good = make_session(seed=3)
    good.handle_timer(good.get_timer(), WALLCLOCK)
    (valid,) = good.datagrams_to_send()
    cases = [
        ("short", valid[:7]),
        ("version", b"\x40" + valid[1:]),
        ("first", valid[8:]),  # starts with SDES
        ("length", valid[:-4]),
        ("length", valid + b"\x81"),
        ("padding", b"\xa0" + valid[1:]),  # padding bit on the first packet
        ("report", b"\x81\xc9\x00\x01" + valid[4:8] + valid[8:]),  # RC=1, no block
        ("report", valid[:8] + b"\x81\xca\x00\x02" + valid[12:16] + b"\x01\x09ab"),
    ]
    for reason, data in cases:
        before = session.drops[reason]
        session.receive_datagram(data, 0, WALLCLOCK)
        assert session.drops[reason] == before + 1, reason
    assert session.reports_received == 0
    session.receive_datagram(valid, 0, WALLCLOCK)
    assert session.reports_received == 1


def test_every_truncation_and_bit_flip_of_a_compound_is_handled():
    session = make_session()
    peer = make_session(seed=4)
    receiver = RtpReceiver([0], REMOTE)
    session.rtp_received(receiver.receive(peer.sender.packet(160), REMOTE), 0)
    peer.rtp_received(receiver.receive(session.sender.packet(160), REMOTE), 0)
    peer.rtp_received(receiver.receive(session.sender.packet(160), REMOTE), 20)
    peer.sender.packet(160)
    peer.bye(0, WALLCLOCK, "bye")
    (data,) = peer.datagrams_to_send()
    for cut in range(len(data) + 1):
        session.receive_datagram(data[:cut], 0, WALLCLOCK)
    for index in range(len(data)):
        for bit in (0, 3, 5, 7):
            flipped = bytearray(data)
            flipped[index] ^= 1 << bit
            session.receive_datagram(bytes(flipped), 0, WALLCLOCK)
    total = session.reports_received
    for count in session.drops.values():
        total += count
    assert total == len(data) + 1 + 4 * len(data)
