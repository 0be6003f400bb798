# SDP parse/build (RFC 4566) and offer/answer (RFC 3264).

from intercom.sdp import SdpError, answer, build_offer, parse_answer, parse_sdp
from test_sip_torture import MULT_IP_SDP

# A typical desk phone offer: G.722 first, then G.711, DTMF on 101.
PHONE_OFFER = (
    b"v=0\r\n"
    b"o=flat1 3000 3001 IN IP4 192.0.2.20\r\n"
    b"s=call\r\n"
    b"c=IN IP4 192.0.2.20\r\n"
    b"t=0 0\r\n"
    b"m=audio 30000 RTP/AVP 9 8 0 101\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:30\r\n"
    b"a=x-unknown:whatever\r\n"
    b"a=sendrecv\r\n"
)


def sdp_error(function, *arguments):
    try:
        function(*arguments)
    except SdpError as error:
        return error
    raise AssertionError("no SdpError")


def test_build_offer_bytes():
    assert build_offer(123, 1, "192.0.2.10", 40000) == (
        b"v=0\r\n"
        b"o=- 123 1 IN IP4 192.0.2.10\r\n"
        b"s=-\r\n"
        b"c=IN IP4 192.0.2.10\r\n"
        b"t=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0 8 101\r\n"
        b"a=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
        b"a=fmtp:101 0-16\r\n"
        b"a=ptime:20\r\n"
        b"a=maxptime:60\r\n"
        b"a=sendrecv\r\n"
    )


def test_build_offer_options():
    offer = parse_sdp(
        build_offer(
            9,
            2,
            "2001:db8::5",
            40002,
            ["PCMA"],
            ptime=40,
            dtmf_payload_type=96,
            direction="sendonly",
        )
    )
    assert offer.connection == ("IP6", "2001:db8::5")
    media = offer.media[0]
    assert media.formats == ["8", "96"] and media.ptime == 40
    assert media.codec_of("96") == "TELEPHONE-EVENT" and media.fmtp["96"] == "0-16"
    assert offer.direction_of(media) == "sendonly"
    no_dtmf = parse_sdp(build_offer(9, 2, "192.0.2.1", 4000, dtmf_payload_type=None))
    assert no_dtmf.media[0].formats == ["0", "8"]


def test_parse_fields():
    session = parse_sdp(PHONE_OFFER)
    assert session.origin[1:3] == ["3000", "3001"] and session.session_name == "call"
    media = session.media[0]
    assert (media.media, media.port, media.proto) == ("audio", 30000, "RTP/AVP")
    assert media.formats == ["9", "8", "0", "101"]
    assert media.rtpmap["9"] == ("G722", 8000) and media.fmtp["101"] == "0-15"
    assert media.ptime == 30 and session.direction_of(media) == "sendrecv"
    assert session.connection_of(media) == ("IP4", "192.0.2.20")


def test_answer_picks_the_offerers_first_supported_codec():
    body, negotiated = answer(PHONE_OFFER, 77, 1, "192.0.2.10", 40000)
    assert (negotiated.codec, negotiated.payload_type) == ("PCMA", 8)
    assert (negotiated.remote_address, negotiated.remote_port) == ("192.0.2.20", 30000)
    assert negotiated.dtmf_payload_type == 101
    assert negotiated.direction == "sendrecv"
    assert b"m=audio 40000 RTP/AVP 8 101\r\n" in body and b"a=fmtp:101 0-16\r\n" in body


def test_the_answer_asks_for_our_ptime_and_we_send_it_whatever_the_offer_asks():
    # RFC 3264 6.1: the offer's a=ptime:30 is what the phone would like to
    # receive; both directions may differ, and our answer says ours.
    body, negotiated = answer(PHONE_OFFER, 77, 1, "192.0.2.10", 40000)
    assert negotiated.ptime == 20
    assert b"a=ptime:20\r\na=maxptime:60\r\n" in body
    body, negotiated = answer(PHONE_OFFER, 77, 1, "192.0.2.10", 40000, ptime=40)
    assert negotiated.ptime == 40 and b"a=ptime:40\r\n" in body
    offer = build_offer(5, 1, "192.0.2.10", 40000, ptime=30)
    reply = b"v=0\r\no=- 8 8 IN IP4 192.0.2.30\r\ns=-\r\nc=IN IP4 192.0.2.30\r\nt=0 0\r\n"
    reply += b"m=audio 31000 RTP/AVP 0\r\na=ptime:10\r\n"
    assert parse_answer(reply, offer).ptime == 30


def with_packet_times(attributes):
    return PHONE_OFFER.replace(b"a=ptime:30\r\n", attributes)


def test_a_shorter_maxptime_caps_the_packet_time_we_send():
    # RFC 4566 6: a=maxptime is the most media one packet may carry; we send
    # the longest 10 ms multiple dividing our ptime that fits it.
    for our_ptime, maxptime, sent in (
        (60, 20, 20),
        (60, 40, 30),
        (40, 25, 20),
        (30, 20, 10),
        (20, 20, 20),
        (20, 150, 20),
    ):
        offer = with_packet_times(b"a=ptime:20\r\na=maxptime:%d\r\n" % maxptime)
        body, negotiated = answer(offer, 1, 1, "192.0.2.10", 40000, ptime=our_ptime)
        assert negotiated.ptime == sent, (our_ptime, maxptime, negotiated.ptime)
        assert b"a=ptime:%d\r\n" % our_ptime in body
    offer = build_offer(5, 1, "192.0.2.10", 40000, ptime=40)
    reply = b"v=0\r\no=- 8 8 IN IP4 192.0.2.30\r\ns=-\r\nc=IN IP4 192.0.2.30\r\nt=0 0\r\n"
    reply += b"m=audio 31000 RTP/AVP 0\r\na=maxptime:20.5\r\n"
    assert parse_answer(reply, offer).ptime == 20


def test_packet_times_no_g711_stream_can_mean_are_ignored_not_refused():
    for attributes in (
        b"a=ptime:0\r\na=maxptime:0\r\n",
        b"a=ptime:99999999\r\na=maxptime:99999999\r\n",
        b"a=ptime:10000000000000000000\r\n",
        b"a=maxptime:5\r\n",
    ):
        _, negotiated = answer(with_packet_times(attributes), 1, 1, "h", 4, ptime=20)
        assert negotiated.ptime == 20, attributes
    media = parse_sdp(with_packet_times(b"a=ptime:0\r\na=maxptime:20000\r\n")).media[0]
    assert media.ptime is None and media.maxptime is None
    assert sdp_error(parse_sdp, with_packet_times(b"a=maxptime:x\r\n")).status == 400


def test_answer_keeps_the_offers_telephone_event_number():
    offer = PHONE_OFFER.replace(b" 101", b" 114").replace(b":101", b":114")
    body, negotiated = answer(offer, 1, 1, "192.0.2.10", 40000)
    assert negotiated.dtmf_payload_type == 114 and b"a=rtpmap:114 telephone-event/8000" in body


def test_answer_directions():
    expected = {
        b"sendrecv": "sendrecv",
        b"sendonly": "recvonly",
        b"recvonly": "sendonly",
        b"inactive": "inactive",
    }
    for offered, ours in expected.items():
        offer = PHONE_OFFER.replace(b"a=sendrecv", b"a=" + offered)
        body, negotiated = answer(offer, 1, 1, "192.0.2.10", 40000)
        assert negotiated.direction == ours
        assert body.endswith(b"a=" + ours.encode() + b"\r\n")
    # Session-level direction applies when the media says nothing.
    session_level = PHONE_OFFER.replace(b"a=sendrecv\r\n", b"").replace(
        b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n"
    )
    assert answer(session_level, 1, 1, "192.0.2.10", 40000)[1].direction == "recvonly"
    # Our own limit: a door that only listens.
    assert answer(PHONE_OFFER, 1, 1, "h", 4, direction="recvonly")[1].direction == "recvonly"


def test_other_streams_are_rejected_with_port_zero():
    offer = (
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
        b"m=video 30002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        b"m=audio 30000 RTP/AVP 0\r\n"
        b"m=audio 30004 RTP/AVP 0\r\n"
    )
    body, negotiated = answer(offer, 1, 1, "192.0.2.10", 40000)
    lines = [line for line in body.split(b"\r\n") if line.startswith(b"m=")]
    assert lines == [
        b"m=video 0 RTP/AVP 96",
        b"m=audio 40000 RTP/AVP 0",
        b"m=audio 0 RTP/AVP 0",
    ]
    assert negotiated.remote_port == 30000 and negotiated.dtmf_payload_type is None


def test_media_level_connection_and_ipv6():
    session = parse_sdp(MULT_IP_SDP)
    assert session.connection is None
    assert [session.connection_of(m) for m in session.media] == [
        ("IP4", "192.0.2.1"),
        ("IP6", "2001:db8::1"),
    ]
    negotiated = answer(session, 1, 1, "192.0.2.10", 40000)[1]
    assert (negotiated.remote_address, negotiated.codec) == ("192.0.2.1", "PCMU")


def test_nothing_in_common_is_488():
    offer = PHONE_OFFER.replace(b"RTP/AVP 9 8 0 101", b"RTP/AVP 9 101")
    assert sdp_error(answer, offer, 1, 1, "192.0.2.10", 40000).status == 488
    secure = PHONE_OFFER.replace(b"RTP/AVP", b"RTP/SAVP")
    assert sdp_error(answer, secure, 1, 1, "192.0.2.10", 40000).status == 488
    rejected = PHONE_OFFER.replace(b"m=audio 30000", b"m=audio 0")
    assert sdp_error(answer, rejected, 1, 1, "192.0.2.10", 40000).status == 488


def test_parse_answer_on_the_offerer_side():
    offer = build_offer(5, 1, "192.0.2.10", 40000)
    reply = (
        b"v=0\r\no=- 8 8 IN IP4 192.0.2.30\r\ns=-\r\nt=0 0\r\n"
        b"m=audio 31000 RTP/AVP 8 101\r\nc=IN IP4 192.0.2.31\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=recvonly\r\n"
    )
    negotiated = parse_answer(reply, offer)
    assert (negotiated.codec, negotiated.payload_type, negotiated.dtmf_payload_type) == (
        "PCMA",
        8,
        101,
    )
    assert (negotiated.remote_address, negotiated.remote_port) == ("192.0.2.31", 31000)
    assert negotiated.direction == "sendonly"


def test_parse_answer_refuses_what_we_did_not_offer():
    offer = build_offer(5, 1, "192.0.2.10", 40000, ["PCMU"])
    reply = b"v=0\r\no=- 8 8 IN IP4 192.0.2.30\r\ns=-\r\nc=IN IP4 192.0.2.30\r\nt=0 0\r\n"
    assert sdp_error(parse_answer, reply + b"m=audio 31000 RTP/AVP 8\r\n", offer).status == 488
    assert sdp_error(parse_answer, reply + b"m=audio 0 RTP/AVP 0\r\n", offer).status == 488
    assert sdp_error(parse_answer, reply, offer).status == 488


def test_malformed_sdp_raises_sdp_error():
    for data in (
        b"",
        b"hello",
        b"o=- 1 1 IN IP4 h\r\n",
        b"v=0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 300\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 0\r\na=rtpmap:0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 0\r\na=ptime:x\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 5 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nX=1\r\n",
        b"v=0\r\n\xff\xfe\r\n",
    ):
        assert sdp_error(parse_sdp, data).status == 400, data
