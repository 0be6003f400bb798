# Reliable provisional responses (RFC 3262, 100rel) against hand-written
# messages: our 180 to an INVITE that requires 100rel, sent until its
# PRACK; our PRACK for a phone's reliable 18x.

from intercom.sip.agent import Agent
from intercom.sip.message import make_response, parse_message
from sip_harness import FLAT, FLAT_URI, CountingRandom, door_settings, udp

SDP = (
    "v=0\r\no=- 7 8 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


def phone_request(method, cseq, branch, extra="", to_tag=None, body=""):
    to = "<sip:door@192.0.2.5>" + (";tag=%s" % to_tag if to_tag else "")
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (
        "%s sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=%s;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:flat1@192.0.2.20:5062>;tag=phonetag\r\n"
        "To: %s\r\n"
        "Call-ID: rel-call-1\r\n"
        "CSeq: %d %s\r\n"
        "Contact: <sip:flat1@192.0.2.20:5062>\r\n"
        "%s%s"
        "Content-Length: %d\r\n\r\n%s"
        % (method, branch, to, cseq, method, extra, content, len(body), body)
    ).encode()


def sent(door, now_ms):
    return [parse_message(wire) for wire, _ in door.datagrams_to_send(now_ms)]


def ringing_door(require="Require: 100rel\r\n"):
    door = Agent(door_settings(), CountingRandom(3))
    invite = phone_request("INVITE", 20, "z9hG4bKrel1", require, body=SDP)
    door.receive_datagram(invite, udp(FLAT), 0)
    assert door.next_event()["event"] == "incoming_call"
    [ringing] = sent(door, 0)
    return door, ringing


def test_an_invite_that_requires_100rel_gets_a_reliable_180_until_its_prack():
    door, ringing = ringing_door()
    assert ringing.status == 180
    assert ringing.headers.get_all("Require") == ["100rel"]
    rseq = int(ringing.headers.get("RSeq"))
    assert 1 <= rseq <= 2**31 - 1
    # RFC 3262 3: again after T1, 2*T1, 4*T1 ... while no PRACK comes
    times = []
    now = 0
    while len(times) < 3:
        now = door.get_timer()
        door.handle_timer(now)
        if [m.status for m in sent(door, now)] == [180]:
            times.append(now)
    assert times == [500, 1500, 3500]
    to_tag = ringing.headers.get("To").split("tag=")[1]
    rack = "RAck: %d 20 INVITE\r\n" % rseq
    prack = phone_request("PRACK", 21, "z9hG4bKprack1", rack, to_tag)
    door.receive_datagram(prack, udp(FLAT), now + 10)
    [ok] = sent(door, now + 10)
    assert (ok.status, ok.headers.get("CSeq")) == (200, "21 PRACK")
    # acknowledged: no more 180s; the call still rings and may be answered
    door.handle_timer(now + 20000)
    assert [m.status for m in sent(door, now + 20000)] == []
    door.answer("rel-call-1", 40000, now + 20000)
    assert [m.status for m in sent(door, now + 20000)] == [200]


def test_a_prack_naming_another_response_gets_481():
    door, ringing = ringing_door()
    to_tag = ringing.headers.get("To").split("tag=")[1]
    rseq = int(ringing.headers.get("RSeq"))
    for number, rack in enumerate(("%d 20 INVITE" % (rseq + 1), "%d 19 INVITE" % rseq, "junk")):
        prack = phone_request(
            "PRACK", 21 + number, "z9hG4bKbad%d" % number, "RAck: %s\r\n" % rack, to_tag
        )
        door.receive_datagram(prack, udp(FLAT), 100)
        assert [m.status for m in sent(door, 100)] == [481], rack


def test_without_a_prack_the_door_gives_up_with_504():
    door, ringing = ringing_door()
    now = 0
    while door.get_timer() is not None and now < 40000:
        now = door.get_timer()
        door.handle_timer(now)
        sent(door, now)
        event = door.next_event()
        if event is not None:
            break
    assert event["event"] == "call_ended" and event["reason"] == "no_prack"
    assert now == 32000  # 64*T1 after the first 180


def test_an_invite_that_only_supports_100rel_gets_a_plain_180():
    door, ringing = ringing_door("Supported: 100rel\r\n")
    assert ringing.status == 180
    assert ringing.headers.get("Require") is None and ringing.headers.get("RSeq") is None


def reliable(invite, status, rseq, body=b""):
    response = make_response(invite, status, None, "flattag")
    response.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    response.headers.add("Require", "100rel")
    response.headers.add("RSeq", "%d" % rseq)
    if body:
        response.headers.add("Content-Type", "application/sdp")
        response.body = body
    return response.to_bytes()


def test_the_door_pracks_each_reliable_18x_once_in_order():
    door = Agent(door_settings(), CountingRandom(4))
    door.call(FLAT_URI, 40000, 0)
    [invite] = sent(door, 0)
    assert "100rel" in invite.headers.get_all("Supported")
    door.receive_datagram(reliable(invite, 180, 7), udp(FLAT), 10)
    [prack] = sent(door, 10)
    assert prack.method == "PRACK"
    assert prack.headers.get("RAck") == "7 1 INVITE"
    assert prack.headers.get("CSeq") == "2 PRACK"
    assert prack.headers.get("To").endswith("tag=flattag")  # in the early dialog
    assert prack.uri == "sip:flat1@192.0.2.20:5062"
    assert prack.body == b""  # the INVITE had our offer: nothing to answer
    assert door.next_event()["event"] == "ringing"
    # its retransmission (the same RSeq) and one out of order get no PRACK
    door.receive_datagram(reliable(invite, 180, 7), udp(FLAT), 20)
    door.receive_datagram(reliable(invite, 180, 9), udp(FLAT), 30)
    assert sent(door, 30) == []
    assert door.next_event() is None
    # the next one, a 183 with the answer: PRACK, early media
    door.receive_datagram(reliable(invite, 183, 8, SDP.encode()), udp(FLAT), 40)
    [prack2] = sent(door, 40)
    assert prack2.headers.get("RAck") == "8 1 INVITE"
    assert prack2.headers.get("CSeq") == "3 PRACK"
    early = door.next_event()
    assert early["event"] == "early_media" and early["media"]["remote_port"] == 50000
    ok = make_response(invite, 200, None, "flattag")
    ok.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    ok.headers.add("Content-Type", "application/sdp")
    ok.body = SDP.encode()
    door.receive_datagram(ok.to_bytes(), udp(FLAT), 50)
    assert [m.method for m in sent(door, 50)] == ["ACK"]
    assert door.next_event()["event"] == "answered"


def test_a_prack_that_crosses_our_answer_still_gets_200():
    door, ringing = ringing_door()
    door.answer("rel-call-1", 40000, 5)
    assert [m.status for m in sent(door, 5)] == [200]
    to_tag = ringing.headers.get("To").split("tag=")[1]
    rack = "RAck: %s 20 INVITE\r\n" % ringing.headers.get("RSeq")
    door.receive_datagram(phone_request("PRACK", 21, "z9hG4bKlate", rack, to_tag), udp(FLAT), 10)
    assert [m.status for m in sent(door, 10)] == [200]
    door.handle_timer(1000)  # and the answer stopped the 180's retransmissions
    assert 180 not in [m.status for m in sent(door, 1000)]
