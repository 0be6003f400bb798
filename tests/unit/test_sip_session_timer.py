# Session timers (RFC 4028) and UPDATE (RFC 3311) between two agents in
# memory on a virtual clock, and against hand-written messages: what goes
# over the wire, when, and which events the apps see.

from intercom.sip.agent import Agent
from intercom.sip.flow import flow_address
from intercom.sip.message import make_response, parse_message
from intercom.sip.session_timer import parse_session_expires
from sip_harness import (
    DOOR,
    FLAT,
    FLAT_URI,
    CountingRandom,
    door_settings,
    event,
    labels,
    pair,
    udp,
)

SDP_MOVED = (
    "v=0\r\no=- 7 8 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 50002 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


def answered_call(door_overrides=None, flat_overrides=None):
    """The door calls the flat, the flat answers at 1 s."""
    network, door, flat = pair(door_overrides, flat_overrides)
    call_id = door.call(FLAT_URI, 40000, network.now)
    network.pump()
    network.now = 1000
    flat.answer(call_id, 50000, network.now)
    network.pump()
    return network, door, flat, call_id


def sent_requests(network, source, method):
    return [(when, m) for when, m in network.sent(source) if getattr(m, "method", None) == method]


def in_dialog(network, agent, call_id, method, extra=(), body=None):
    """`agent` sends a request inside the call's dialog (as any phone would)."""
    call = agent.calls[call_id]
    request = call.dialog.create_request(method)
    request.headers.add("Contact", agent.context.contact_value(call.transport))
    for name, value in extra:
        request.headers.add(name, value)
    if body is not None:
        request.headers.add("Content-Type", "application/sdp")
        request.body = body.encode()
    flow = agent.context.dialog_flow(call.dialog, call.transport)
    agent.context.send_request(request, flow, network.now, None)
    network.pump()
    return request


def last_response(network, source, method):
    for _, message in reversed(network.sent(source)):
        if getattr(message, "status", None) and message.headers.get("CSeq").endswith(method):
            return message
    raise AssertionError("no response to %s from %r" % (method, source))


def test_the_caller_asks_for_timers_and_the_callee_agrees_in_its_2xx():
    network, door, flat, call_id = answered_call()
    invite = sent_requests(network, DOOR, "INVITE")[0][1]
    assert invite.headers.get("Session-Expires") == "1800"
    assert invite.headers.get("Min-SE") == "90"
    assert invite.headers.get_all("Supported") == ["100rel", "replaces", "timer"]
    assert "UPDATE" in invite.headers.get_all("Allow")
    ok = last_response(network, FLAT, "INVITE")
    assert ok.status == 200
    assert parse_session_expires(ok.headers.get("Session-Expires")) == (1800, "uac")
    assert ok.headers.get_all("Require") == ["timer"]


def test_the_refresher_sends_update_every_half_interval_and_the_call_goes_on():
    network, door, flat, call_id = answered_call()
    network.run_until(1000 + 3600 * 1000)  # an hour
    updates = sent_requests(network, DOOR, "UPDATE")
    assert [when for when, _ in updates] == [1000 + 900000 * n for n in (1, 2, 3, 4)]
    for _, update in updates:
        assert update.body == b""  # RFC 4028 9: a refresh needs no offer
        assert update.headers.get("Session-Expires") == "1800;refresher=uac"
    answers = [m for _, m in network.sent(FLAT) if m.headers.get("CSeq").endswith("UPDATE")]
    assert [m.status for m in answers] == [200] * 4
    assert "call_ended" not in network.names(DOOR) + network.names(FLAT)
    assert "media_updated" not in network.names(DOOR) + network.names(FLAT)


def test_when_no_refresh_comes_the_other_side_ends_the_call_with_bye():
    # the flat calls (and refreshes, every 45 s); nothing it sends after
    # its ACK arrives
    network, door, flat = pair({"answer_from": (FLAT_URI,)}, {"session_expires": 90})
    call_id = flat.call("sip:door@%s:%d" % DOOR, 50000, 0)
    network.pump()
    door.answer(call_id, 40000, 0)
    network.pump()
    assert event(network, DOOR, "answered")
    network.drop = lambda data, source, dest: source == FLAT
    network.run_until(200000)
    ended = event(network, DOOR, "call_ended")
    assert ended["reason"] == "session_expired"
    byes = sent_requests(network, DOOR, "BYE")
    # RFC 4028 10: BYE at the expiry less min(32 s, interval / 3) = 60 s
    assert [when for when, _ in byes][:1] == [60000]
    assert event(network, FLAT, "call_ended")["reason"] == "remote_hangup"


def test_a_refresh_without_an_answer_ends_the_call_on_the_refresher():
    network, door, flat, call_id = answered_call()
    network.drop = lambda data, source, dest: data.startswith(b"UPDATE")
    network.run_until(1000 + 1000000)
    assert event(network, DOOR, "call_ended")["reason"] == "session_expired"
    assert labels(network, DOOR, FLAT)[-1] == "BYE"
    assert event(network, FLAT, "call_ended")["reason"] == "remote_hangup"


def test_an_interval_below_min_se_gets_422_and_the_call_does_not_ring():
    network, door, flat = pair({"answer_from": (FLAT_URI,)})
    call_id = flat.call("sip:door@%s:%d" % DOOR, 50000, 0)
    invite_wire = flat.datagrams_to_send(0)[0][0]
    short = invite_wire.replace(b"Session-Expires: 1800\r\n", b"Session-Expires: 60\r\n")
    door.receive_datagram(short, udp(FLAT), 0)
    replies = [parse_message(wire) for wire, _ in door.datagrams_to_send(0)]
    assert [reply.status for reply in replies] == [422]
    assert replies[0].headers.get("Min-SE") == "90"
    assert door.next_event() is None  # nobody was told of a call
    assert door.stats["session_interval_refused"] == 1
    assert call_id in flat.calls


def test_a_422_makes_the_caller_ask_again_for_the_interval_it_names():
    network, door, flat = pair()
    call_id = door.call(FLAT_URI, 40000, 0)
    [(wire, flow)] = door.datagrams_to_send(0)
    first = parse_message(wire)
    too_small = make_response(first, 422, None, "flattag")
    too_small.headers.add("Min-SE", "2400")
    door.receive_datagram(too_small.to_bytes(), udp(FLAT), 10)
    again = [parse_message(w) for w, _ in door.datagrams_to_send(10)]
    assert [getattr(m, "method", None) for m in again] == ["ACK", "INVITE"]
    invite = again[1]
    assert invite.headers.get("CSeq") == "2 INVITE"
    assert invite.headers.get("Call-ID") == call_id
    assert invite.headers.get("From") == first.headers.get("From")
    assert invite.headers.get("Session-Expires") == "2400"
    assert invite.headers.get_all("Min-SE") == ["90"]
    # a second 422 is not followed again: the call fails
    door.receive_datagram(make_response(invite, 422, None, "t2").to_bytes(), udp(FLAT), 20)
    door.datagrams_to_send(20)
    failed = door.next_event()
    assert failed["event"] == "call_failed" and failed["status"] == 422


def test_with_session_expires_off_the_invite_asks_for_nothing():
    network, door, flat, call_id = answered_call({"session_expires": 0})
    invite = sent_requests(network, DOOR, "INVITE")[0][1]
    assert invite.headers.get("Session-Expires") is None
    assert invite.headers.get("Min-SE") is None
    assert last_response(network, FLAT, "INVITE").headers.get("Session-Expires") is None
    network.run_until(4000000)
    assert sent_requests(network, DOOR, "UPDATE") == []
    assert "call_ended" not in network.names(DOOR) + network.names(FLAT)


def phone_invite(extra):
    """A phone's INVITE to the door, by hand (no timer support, no UPDATE)."""
    body = SDP_MOVED.replace("50002", "50000")
    return (
        "INVITE sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKphone1;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:flat1@192.0.2.20:5062>;tag=phonetag\r\n"
        "To: <sip:door@192.0.2.5>\r\n"
        "Call-ID: phone-call-1\r\n"
        "CSeq: 10 INVITE\r\n"
        "Contact: <sip:flat1@192.0.2.20:5062>\r\n"
        "Allow: INVITE, ACK, BYE, CANCEL\r\n"
        "%s"
        "Content-Type: application/sdp\r\n"
        "Content-Length: %d\r\n\r\n%s" % (extra, len(body), body)
    ).encode()


def test_a_phone_without_timer_support_makes_us_refresh_by_reinvite():
    door = Agent(door_settings(), CountingRandom(1))
    door.receive_datagram(phone_invite("Session-Expires: 120\r\n"), udp(FLAT), 0)
    incoming = door.next_event()
    assert incoming["event"] == "incoming_call"
    door.datagrams_to_send(0)  # 180
    door.answer("phone-call-1", 40000, 0)
    [(wire, _)] = door.datagrams_to_send(0)
    ok = parse_message(wire)
    # RFC 4028 9: the phone does not support timers, so we refresh, and
    # require nothing of it
    assert ok.headers.get("Session-Expires") == "120;refresher=uas"
    assert ok.headers.get("Require") is None
    ack = (
        "ACK sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKphoneack;rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:flat1@192.0.2.20:5062>;tag=phonetag\r\n"
        "To: %s\r\nCall-ID: phone-call-1\r\nCSeq: 10 ACK\r\nContent-Length: 0\r\n\r\n"
        % ok.headers.get("To")
    ).encode()
    door.receive_datagram(ack, udp(FLAT), 100)
    assert door.next_event()["event"] == "answered"
    timer = door.calls["phone-call-1"].timer
    assert timer.get_timer() == 60000  # half the interval after our 2xx
    door.handle_timer(60000)
    [(wire, flow)] = [
        item for item in door.datagrams_to_send(60000) if item[0].startswith(b"INVITE")
    ]
    refresh = parse_message(wire)
    assert flow_address(flow) == FLAT
    # the phone allows no UPDATE: a re-INVITE with our unchanged SDP
    assert refresh.method == "INVITE"
    assert refresh.headers.get("CSeq") == "1 INVITE"
    assert refresh.headers.get("Session-Expires") == "120;refresher=uac"
    assert refresh.body == ok.body  # the same session version: nothing changed
    answer = make_response(refresh, 200, None, "phonetag")
    answer.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    answer.headers.add("Content-Type", "application/sdp")
    answer.body = SDP_MOVED.encode()
    door.receive_datagram(answer.to_bytes(), udp(FLAT), 60100)
    [(wire, _)] = door.datagrams_to_send(60100)
    reack = parse_message(wire)
    assert reack.method == "ACK" and reack.headers.get("CSeq") == "1 ACK"
    # its answer moved the media: the app follows it
    moved = door.next_event()
    assert moved["event"] == "media_updated" and moved["media"]["remote_port"] == 50002
    # without a Session-Expires in that 2xx the timer is off
    assert timer.get_timer() is None


def test_update_with_sdp_moves_the_media_and_without_sdp_changes_nothing():
    network, door, flat, call_id = answered_call()
    in_dialog(network, flat, call_id, "UPDATE", body=SDP_MOVED)
    ok = last_response(network, DOOR, "UPDATE")
    assert ok.status == 200
    assert ok.headers.get("Content-Type") == "application/sdp"
    assert b"m=audio 40000 " in ok.body
    assert ok.headers.get("Contact") is not None  # RFC 3311 5.2
    moved = event(network, DOOR, "media_updated")
    assert moved["media"]["remote_port"] == 50002
    count = network.names(DOOR).count("media_updated")
    in_dialog(network, flat, call_id, "UPDATE")
    ok = last_response(network, DOOR, "UPDATE")
    assert ok.status == 200 and ok.body == b""
    assert network.names(DOOR).count("media_updated") == count
    assert "call_ended" not in network.names(DOOR)


def test_update_with_a_too_short_interval_gets_422():
    network, door, flat, call_id = answered_call()
    in_dialog(network, flat, call_id, "UPDATE", [("Session-Expires", "30")])
    refused = last_response(network, DOOR, "UPDATE")
    assert refused.status == 422
    assert refused.headers.get("Min-SE") == "90"


def test_update_with_an_offer_before_the_answer_gets_500_with_retry_after():
    network, door, flat = pair({"answer_from": (FLAT_URI,)})
    call_id = flat.call("sip:door@%s:%d" % DOOR, 50000, 0)
    network.pump()
    assert event(network, DOOR, "incoming_call")
    in_dialog(network, flat, call_id, "UPDATE", body=SDP_MOVED)
    refused = last_response(network, DOOR, "UPDATE")
    assert refused.status == 500  # RFC 3311 5.2
    assert refused.headers.get("Retry-After") is not None
    in_dialog(network, flat, call_id, "UPDATE")
    assert last_response(network, DOOR, "UPDATE").status == 200  # no offer: fine


def test_update_outside_any_dialog_is_481():
    network, door, flat, call_id = answered_call()
    request = flat.calls[call_id].dialog.create_request("UPDATE")
    request.headers.set("Call-ID", "no-such-call")
    flat.context.send_request(request, udp(DOOR), network.now, None)
    network.pump()
    assert last_response(network, DOOR, "UPDATE").status == 481


def test_the_peers_refresh_by_reinvite_moves_the_expiry_and_gets_the_interval_back():
    door = Agent(door_settings(), CountingRandom(1))
    invite = phone_invite("Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n")
    door.receive_datagram(invite, udp(FLAT), 0)
    door.next_event()
    door.datagrams_to_send(0)
    door.answer("phone-call-1", 40000, 0)
    [(wire, _)] = door.datagrams_to_send(0)
    ok = parse_message(wire)
    assert ok.headers.get("Session-Expires") == "120;refresher=uac"
    assert ok.headers.get("Require") == "timer"
    to = ok.headers.get("To")
    ack = phone_invite("").replace(b"INVITE sip:", b"ACK sip:", 1)
    ack = ack.replace(b"CSeq: 10 INVITE", b"CSeq: 10 ACK").replace(
        b"To: <sip:door@192.0.2.5>", b"To: " + to.encode()
    )
    ack = ack.replace(b"z9hG4bKphone1", b"z9hG4bKphoneack")
    door.receive_datagram(ack, udp(FLAT), 100)
    assert door.next_event()["event"] == "answered"
    timer = door.calls["phone-call-1"].timer
    assert timer.get_timer() == 88000  # 120 s less min(32 s, 40 s): then BYE
    refresh = phone_invite("Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n")
    refresh = refresh.replace(b"To: <sip:door@192.0.2.5>", b"To: " + to.encode())
    refresh = refresh.replace(b"CSeq: 10 INVITE", b"CSeq: 11 INVITE").replace(
        b"z9hG4bKphone1", b"z9hG4bKphone2"
    )
    door.receive_datagram(refresh, udp(FLAT), 60000)
    [(wire, _)] = door.datagrams_to_send(60000)
    answer = parse_message(wire)
    assert (answer.status, answer.headers.get("Session-Expires")) == (200, "120;refresher=uac")
    assert timer.get_timer() == 148000  # counted again from the refresh
    reack = ack.replace(b"CSeq: 10 ACK", b"CSeq: 11 ACK").replace(b"phoneack", b"phoneack2")
    door.receive_datagram(reack, udp(FLAT), 60100)
    door.handle_timer(100000)
    assert [parse_message(w).method for w, _ in door.datagrams_to_send(100000)] == []
    door.handle_timer(148000)
    sent_now = [parse_message(w) for w, _ in door.datagrams_to_send(148000)]
    assert [getattr(m, "method", None) for m in sent_now] == ["BYE"]
