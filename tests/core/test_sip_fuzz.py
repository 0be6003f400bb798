# Fuzzing the SIP/SDP syntax layer (CPython only, hypothesis).
#
# Property: whatever a peer sends, the parsers return or raise their own
# error type (SipParseError / SdpError) and nothing else, within a
# per-example deadline (hypothesis measures it; 200 ms is ~100x the real
# cost, so only runaway loops trip it). Parsed messages survive a
# serialise/parse round trip.

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from intercom.sdp import SdpError, answer, parse_sdp
from intercom.sip.auth import authorization_value, parse_challenges
from intercom.sip.message import (
    Request,
    SipParseError,
    error_response,
    parse_message,
    parse_name_addr,
    parse_via,
)
from intercom.sip.uri import parse_uri
from unit import test_sip_torture as torture  # the RFC 4475 messages as seeds

FUZZ = settings(
    max_examples=1000,
    deadline=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SEEDS = [
    torture.WSINV,
    torture.INTMETH,
    torture.ESC01,
    torture.ESC02,
    torture.DBLREQ,
    torture.UNREASON,
    torture.NOREASON,
    torture.TRANSPORTS,
    torture.longreq_message(),
    torture.mpart01_message(),
    torture.ipv6_register(b"sip:[2001:db8::10]:5070"),
]
SDP_SEED = (
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    b"m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendonly\r\nm=video 0 RTP/AVP 96\r\n"
)
LIMIT = 65536
# Pathological datagrams near the size limit: many folds, commas, quotes,
# brackets, parameters, header lines.
HEAD = (
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n"
    b"From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
)
PATHOLOGICAL = [
    HEAD + b"Subject: x\r\n" + b" y\r\n" * 16000 + b"\r\n",
    HEAD + b"Contact: " + b"<sip:a@b>," * 6000 + b"\r\n\r\n",
    HEAD + b"Contact: " + b'"' * 60000 + b"\r\n\r\n",
    HEAD + b"Contact: " + b"<" * 60000 + b"\r\n\r\n",
    HEAD + b"Via: SIP/2.0/UDP h" + b";a" * 30000 + b"\r\n\r\n",
    HEAD + b"Via: " + b"SIP/2.0/UDP h," * 4000 + b"\r\n\r\n",
    HEAD + b"Contact: " + b"a <sip:a@b>;" + b"q=1;" * 12000 + b"\r\n\r\n",
    HEAD + b"Route: " + b'"\\' * 20000 + b"\r\n\r\n",
    HEAD + b"X: y\r\n" * 10000 + b"\r\n",
    b"\r\n" * 32000 + b"x",
    b"INVITE " + b"%" * 60000 + b" SIP/2.0\r\n\r\n",
    b"SIP/2.0 200 " + b"\xff" * 60000,
]


def exercise(message):
    """Use the parsed message the way the agent would; only SipParseError."""
    for name in set([name for name, _ in message.headers.items()]):
        message.headers.get_all(name)
    for value in message.headers.get_all("Via"):
        try:
            parse_via(value)
        except SipParseError:
            pass
    for name in ("From", "To", "Contact", "Route", "Record-Route"):
        for value in message.headers.get_all(name):
            try:
                parse_name_addr(value)
            except SipParseError:
                pass
    again = parse_message(message.to_bytes(), LIMIT * 2)
    if isinstance(message, Request):
        assert (again.method, again.uri) == (message.method, message.uri)
    else:
        assert again.status == message.status
    assert again.body == message.body


def check_datagram(data):
    try:
        message = parse_message(data, LIMIT)
    except SipParseError as error:
        assert isinstance(error.status, int)
        response = error_response(error)
        if response is not None:
            response.to_bytes()
        return
    if message is not None:
        exercise(message)


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(data):
    check_datagram(data)


for pathological in PATHOLOGICAL:
    test_arbitrary_bytes = example(pathological)(test_arbitrary_bytes)


@st.composite
def mutated_messages(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 6))
        position = draw(st.integers(0, len(data)))
        if kind == 0 and data:  # flip one byte
            index = min(position, len(data) - 1)
            data[index] = draw(st.integers(0, 255))
        elif kind == 1:  # truncate
            del data[position:]
        elif kind == 2:  # insert junk
            data[position:position] = draw(st.binary(max_size=40))
        elif kind == 3:  # duplicate a header line
            lines = bytes(data).split(b"\r\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            data = bytearray(b"\r\n".join(lines))
        elif kind == 4:  # a huge value
            data[position:position] = draw(st.sampled_from([b"a", b";", b",", b'"', b" "])) * 5000
        elif kind == 5:  # bare LF line ends
            data = bytearray(bytes(data).replace(b"\r\n", b"\n"))
        else:  # insert a syntax character
            data.insert(position, draw(st.sampled_from(list(b'<>"\\;,:=@[]%\r\n\t '))))
        if not data:
            break
    return bytes(data)


@FUZZ
@given(mutated_messages())
def test_mutated_messages(data):
    check_datagram(data)


def test_every_seed_parses():
    for seed in SEEDS:
        assert parse_message(seed) is not None


@FUZZ
@given(st.text(max_size=300))
def test_parse_uri(text):
    try:
        uri = parse_uri(text)
    except SipParseError as error:
        assert error.status in (400, 416)
        return
    again = parse_uri(uri.to_string())
    assert (again.scheme, again.user, again.password, again.host, again.port) == (
        uri.scheme,
        uri.user,
        uri.password,
        uri.host,
        uri.port,
    )
    assert dict(again.params) == dict(uri.params) and dict(again.headers) == dict(uri.headers)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=400),
        st.lists(
            st.sampled_from(
                ["Digest ", "realm=", '"r"', "nonce=", '"n,"', "qop=", '"auth"', ", ", "=", '"']
                + ["algorithm=", "SHA-256", "MD5-sess", "opaque=", "stale=true", "Basic x", " "]
            ),
            max_size=30,
        ).map("".join),
    )
)
def test_parse_challenge(text):
    for challenge in parse_challenges(text):
        value = authorization_value(challenge, "REGISTER", "sip:r", "u", "p", 1, "c", b"x")
        assert value.startswith("Digest ")


@st.composite
def mutated_sdp(draw):
    data = bytearray(SDP_SEED)
    for _ in range(draw(st.integers(1, 5))):
        position = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 3))
        if kind == 0 and data:
            data[min(position, len(data) - 1)] = draw(st.integers(0, 255))
        elif kind == 1:
            del data[position:]
        elif kind == 2:
            data[position:position] = draw(st.binary(max_size=30))
        else:
            data[position:position] = draw(st.sampled_from([b"\r\n", b" ", b"/", b":", b"="]))
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=2000), mutated_sdp()))
def test_parse_sdp(data):
    try:
        session = parse_sdp(data)
    except SdpError as error:
        assert error.status == 400
        return
    try:
        body, negotiated = answer(session, 1, 1, "192.0.2.10", 40000)
    except SdpError as error:
        assert error.status == 488
        return
    assert parse_sdp(body).media[0].media is not None
    assert 0 <= negotiated.payload_type <= 127
