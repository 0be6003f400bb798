# Whatever a peer sends, the media core never raises: property tests with
# hypothesis over RTP, RTCP, RFC 4733 events, SIP INFO bodies, the jitter
# buffer (any packet length into any frame), the in-band detector and the
# speaker's DTMF mute, and the packet times an SDP may ask for (CPython only).

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from intercom import sdp
from intercom.media import g711
from intercom.media.dtmf import DIGITS, DtmfReceiver, digit_from_info
from intercom.media.dtmf_inband import InbandDtmfDetector
from intercom.media.dtmf_mute import DtmfMute
from intercom.media.jitter import JitterBuffer
from intercom.media.rtcp import RtcpSession
from intercom.media.rtp import RtpReceiver, RtpSender
from intercom.media.session import MediaSession
from intercom.sip import media_session

REMOTE = ("127.0.0.1", 40000)


def counter_bytes(count):
    return bytes(range(7, 7 + count))


def rtp_header(first, second, sequence, timestamp, ssrc):
    return struct.pack(">BBHII", first, second, sequence, timestamp, ssrc)


@given(st.binary(max_size=300))
def test_rtp_receiver_drops_or_parses_any_bytes(data):
    receiver = RtpReceiver(range(128), REMOTE)
    packet = receiver.receive(data, REMOTE)
    counted = receiver.accepted + sum(receiver.drops.values())
    assert counted == 1
    if packet is not None:
        assert data[0] >> 6 == 2
        assert 0 < len(packet.payload) <= len(data) - 12
        assert bytes(packet.payload) in data


@given(
    first=st.integers(0x80, 0xBF),
    second=st.integers(0, 255),
    body=st.binary(max_size=120),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
)
def test_rtp_headers_with_any_flags_never_raise(first, second, body, sequence, timestamp):
    receiver = RtpReceiver([0, 8, 101], REMOTE)
    data = rtp_header(first, second, sequence, timestamp, 0x1234) + body
    packet = receiver.receive(data, REMOTE)
    if packet is not None:
        assert packet.sequence == sequence
        assert packet.timestamp == timestamp
        assert packet.payload_type in (0, 8, 101)


@given(
    payload=st.binary(min_size=1, max_size=400),
    payload_type=st.sampled_from([0, 8, 101, 114]),
    marker=st.booleans(),
    seed=st.binary(min_size=10, max_size=10),
)
def test_rtp_round_trip(payload, payload_type, marker, seed):
    sender = RtpSender(payload_type, lambda count: seed[:count])
    sender.payload[: len(payload)] = payload
    data = bytes(sender.packet(len(payload), marker))
    packet = RtpReceiver([payload_type], REMOTE).receive(data, REMOTE)
    assert bytes(packet.payload) == payload
    assert packet.marker  # the first packet always starts a talk spurt
    assert packet.ssrc == int.from_bytes(seed[:4], "big")
    assert packet.sequence == int.from_bytes(seed[4:6], "big")
    assert packet.timestamp == int.from_bytes(seed[6:10], "big")


@given(st.binary(max_size=200))
def test_rtcp_session_survives_any_bytes(data):
    session = RtcpSession(RtpSender(0, counter_bytes), "door", counter_bytes, 0)
    session.receive_datagram(data, 0, 1764115200000)
    assert session.reports_received + sum(session.drops.values()) == 1
    session.stats(0)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300)), max_size=6))
def test_rtcp_session_survives_mutated_compounds(edits):
    peer = RtcpSession(RtpSender(0, counter_bytes), "phone", counter_bytes, 0)
    peer.bye(0, 1764115200000, "bye")
    (data,) = peer.datagrams_to_send()
    data = bytearray(data)
    for position, replacement in edits:
        position %= len(data) + 1
        data[position : position + len(replacement)] = replacement
    session = RtcpSession(RtpSender(0, counter_bytes), "door", counter_bytes, 0)
    session.receive_datagram(bytes(data), 0, 1764115200000)
    assert session.reports_received + sum(session.drops.values()) == 1


event_packets = st.lists(
    st.tuples(
        st.integers(0, 255),  # event
        st.integers(0, 255),  # E/R/volume
        st.integers(0, 0xFFFF),  # duration
        st.integers(0, 0xFFFFFFFF),  # timestamp
        st.binary(max_size=6),  # payload length games
        st.integers(0, 1000),  # ms until the next packet
    ),
    max_size=30,
)


@given(event_packets)
def test_dtmf_receiver_survives_any_event_stream(packets):
    rtp = RtpReceiver([101], REMOTE)
    receiver = DtmfReceiver([101])
    now = 0
    timestamps = set()
    for event, flags, duration, timestamp, extra, gap in packets:
        payload = bytes((event, flags)) + struct.pack(">H", duration)
        payload = (payload + extra)[: max(1, len(extra) + 1)] if extra else payload
        packet = rtp.receive(rtp_header(0x80, 101, 1, timestamp, 5) + payload, REMOTE)
        if packet is not None:
            receiver.receive(packet, now)
            timestamps.add(timestamp)
        now += gap
        receiver.poll(now)
    receiver.poll(now + 10000)
    reported = []
    while (event := receiver.next_event()) is not None:
        reported.append(event)
    assert len(reported) <= len(timestamps)
    assert all(digit in DIGITS and 0 <= duration_ms <= 8191 for digit, duration_ms in reported)


@given(st.text(max_size=80), st.sampled_from(["application/dtmf-relay", "application/dtmf"]))
def test_info_bodies_never_raise(body, content_type):
    digit = digit_from_info(content_type, body)
    assert digit is None or digit in DIGITS
    digit = digit_from_info(content_type, body.encode("utf-8", "surrogatepass"))
    assert digit is None or digit in DIGITS


def decode_numbered(src, dst):
    # The frame number lands in sample 100, past the 40 samples that are
    # blended with the concealment after a loss.
    dst[200] = src[0]
    dst[201] = src[1]


arrivals = st.lists(
    st.tuples(
        st.integers(-40, 80),  # frame offset (duplicates, reordering, jumps)
        st.integers(0, 3),  # frames per packet (0: malformed length)
        st.integers(0, 300),  # extra delay ms
        st.booleans(),  # marker
    ),
    max_size=80,
)


@settings(max_examples=200)
@given(arrivals, st.integers(0, 0xFFFFFFFF))
def test_jitter_buffer_plays_in_order_whatever_arrives(script, first_timestamp):
    buffer = JitterBuffer(decode_numbered)
    played = []
    now = 0
    for index, (offset, frames, delay, marker) in enumerate(script):
        frame = max(0, index + offset)
        timestamp = (first_timestamp + frame * 160) & 0xFFFFFFFF
        payload = b"".join(
            struct.pack("<H", (frame + part) & 0xFFFF) + b"\x01" * 158 for part in range(frames)
        )
        buffer.put(timestamp, payload or b"\x00" * 7, now + delay, marker)
        before = buffer.counters["played"]
        out = buffer.get(now + 5)
        assert len(out) == 320
        if buffer.counters["played"] != before:
            played.append(out[200] | (out[201] << 8))
        now += 20
    resynced = buffer.counters["resynced"]
    if not resynced:
        assert played == sorted(played)
        assert len(set(played)) == len(played)
    assert 0 <= buffer.delay_ms <= 200 + 20 * 20


@settings(max_examples=50)
@given(st.binary(max_size=2000))
def test_inband_detector_survives_any_pcm(data):
    detector = InbandDtmfDetector()
    detector.feed(data[: len(data) & ~1])
    while (digit := detector.next_digit()) is not None:
        assert digit in DIGITS


@settings(max_examples=150)
@given(
    st.sampled_from([80, 160, 240, 480]),
    st.lists(
        st.tuples(
            st.integers(-3000, 3000),  # timestamp offset from the sender's clock
            st.integers(0, 700),  # payload octets: whole blocks or not, up to 87 ms
            st.integers(0, 200),  # extra delay ms
            st.booleans(),  # marker
        ),
        max_size=60,
    ),
)
def test_jitter_buffer_takes_any_packet_length_into_any_frame(frame, script):
    buffer = JitterBuffer(g711.ulaw_decode_into, frame_samples=frame)
    now = 0
    for index, (offset, length, delay, marker) in enumerate(script):
        buffer.put((160 * index + offset) & 0xFFFFFFFF, b"\x55" * length, now + delay, marker)
        assert len(buffer.get(now + 5)) == 2 * frame
        now += frame // 8


def packet_time_lines(values):
    return "".join("a=%s:%s\r\n" % (name, value) for name, value in values)


@settings(max_examples=200)
@given(
    st.sampled_from([10, 20, 30, 40, 50, 60]),
    st.lists(
        st.tuples(
            st.sampled_from(["ptime", "maxptime"]),
            st.one_of(
                st.integers(0, 10**25).map(str),
                st.from_regex(r"[0-9]{1,4}\.[0-9]{1,3}", fullmatch=True),
                st.text("0123456789.x-", max_size=8),
            ),
        ),
        max_size=3,
    ),
)
def test_any_packet_time_in_an_offer_gives_a_session_or_a_clean_refusal(our_ptime, values):
    offer = (
        "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
        "m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        + packet_time_lines(values)
    ).encode()
    try:
        _, media = media_session.make_answer(
            offer, ("PCMU",), our_ptime, ("192.0.2.5", 40000), 1, 1
        )
    except sdp.SdpError as error:
        assert error.status in (400, 488)
        return
    assert 10 <= media["ptime"] <= our_ptime and our_ptime % media["ptime"] == 0
    session = MediaSession(media, counter_bytes, 0, "door", frame_ms=our_ptime)
    packets = session.send_frame(bytes(16 * our_ptime), 20)
    assert sum(len(packet) - 12 for packet in packets) == 8 * our_ptime
    assert len(session.play_frame(20)) == 16 * our_ptime


@settings(max_examples=50)
@given(
    st.sampled_from([80, 160, 480]),
    st.sampled_from([0, 80]),
    st.lists(st.tuples(st.binary(min_size=960, max_size=960), st.booleans()), max_size=20),
)
def test_the_dtmf_mute_survives_any_pcm(frame, lookahead, frames):
    mute = DtmfMute(frame, InbandDtmfDetector(), lookahead)
    for data, mute_frame in frames:
        out = mute.play(bytearray(data[: 2 * frame]), True, mute_frame)
        assert len(out) == 2 * frame
