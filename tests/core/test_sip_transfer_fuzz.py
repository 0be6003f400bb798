# CPython-only: REFERs and INVITEs with Replaces carrying any text, in a
# confirmed call of the door. Whatever the Refer-To or Replaces says, the
# agent never raises (no internal_error), answers every REFER with one
# final response, and calls nobody unless the app accepted: a REFER that
# reaches the app is always a sip:/sips: URI with no embedded header but
# Replaces.

from hypothesis import given, settings
from hypothesis import strategies as st
from intercom.sip.agent import Agent
from intercom.sip.message import parse_message
from intercom.sip.uri import parse_uri
from unit.sip_harness import CountingRandom, door_settings, udp

FLAT = ("192.0.2.20", 5062)
PIECES = st.sampled_from(
    [
        "sip:",
        "sips:",
        "tel:",
        "flat2",
        "@",
        "192.0.2.21",
        ":5060",
        ";maddr=x",
        "?",
        "&",
        "=",
        "Replaces",
        "Route",
        "%3B",
        "%40",
        "to-tag",
        "from-tag",
        ";",
        "<",
        ">",
        '"',
        " ",
        "%",
        "[::1]",
    ]
)
TEXT = st.lists(PIECES, max_size=12).map("".join) | st.text(max_size=40)
SDP = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 0\r\n"
)


def request(method, branch, cseq, to_tag, extra="", body="", call_id="hand-1"):
    to = "<sip:door@192.0.2.5>" + (";tag=" + to_tag if to_tag else "")
    return (
        "%s sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=%s;rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:flat1@192.0.2.20>;tag=flat1tag\r\nTo: %s\r\n"
        "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:flat1@192.0.2.20:5062>\r\n"
        "%sContent-Length: %d\r\n\r\n%s"
        % (method, branch, to, call_id, cseq, method, extra, len(body.encode()), body)
    ).encode("utf-8")


def door_in_a_call():
    """The door in a confirmed call from flat1 (hand-1); its To tag."""
    door = Agent(door_settings(), CountingRandom(5))
    invite = request("INVITE", "z9hG4bKi", 1, None, "Content-Type: application/sdp\r\n", SDP)
    door.receive_datagram(invite, udp(FLAT), 0)
    door.answer("hand-1", 40000, 10)
    ok = [parse_message(wire) for wire, _ in door.datagrams_to_send(10)][-1]
    to_tag = ok.headers.get("To").split("tag=")[1]
    door.receive_datagram(request("ACK", "z9hG4bKa", 1, to_tag), udp(FLAT), 20)
    while door.next_event() is not None:
        pass
    assert door.calls["hand-1"].state == "confirmed"
    return door, to_tag


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_refer_to_gets_one_final_answer_and_never_a_call(refer_to):
    door, to_tag = door_in_a_call()
    text = refer_to.replace("\r", "").replace("\n", "")
    data = request("REFER", "z9hG4bKf", 2, to_tag, "Refer-To: %s\r\n" % text)
    door.receive_datagram(data, udp(FLAT), 100)
    replies = [parse_message(wire) for wire, _ in door.datagrams_to_send(100)]
    assert door.stats.get("internal_errors", 0) == 0, door.last_error
    event = door.next_event()
    if event is None:
        assert len(replies) <= 1  # a final refusal, or a message we could not parse: dropped
        if replies:
            assert replies[0].status in (400, 403, 416)
    else:
        assert event["event"] == "transfer_requested" and replies == []
        uri = parse_uri(event["target"])
        assert uri.scheme in ("sip", "sips") and not uri.headers
        door.refuse_transfer("hand-1", 603, 110)
    assert len(door.calls) == 1


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_replaces_is_refused_unless_it_names_the_call(replaces):
    door, to_tag = door_in_a_call()
    text = replaces.replace("\r", "").replace("\n", "")
    extra = "Content-Type: application/sdp\r\nReplaces: %s\r\n" % text
    invite = request("INVITE", "z9hG4bKr", 1, None, extra, SDP, call_id="new-1")
    door.receive_datagram(invite, udp(FLAT), 100)
    replies = [parse_message(wire) for wire, _ in door.datagrams_to_send(100)]
    assert door.stats.get("internal_errors", 0) == 0, door.last_error
    assert door.next_event() is None
    assert [reply.status for reply in replies] in ([], [400], [481], [486])
    assert list(door.calls) == ["hand-1"]
