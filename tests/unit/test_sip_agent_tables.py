# The agent's tables under pressure: calls and transactions are bounded, but
# what belongs to a live call or to the registration is never evicted to
# make room (a flood must not end a call or the registration); a full table
# refuses the newcomer instead: no new call, or 503 for a new request.
# And a 2xx that crosses our CANCEL before any provisional response is
# ACKed and ended with BYE, like any late 2xx (RFC 3261 9.1, 15).

from intercom.sip.message import make_response, parse_message
from machine_events import drain
from sip_harness import FLAT, FLAT_URI, udp
from test_sip_agent import SDP_PCMU, door_agent, exchange, message, sdp_type
from test_sip_agent_server import SERVER, sent, server_door


def ok_with_sdp(invite, to_tag):
    ok = make_response(invite, 200, None, to_tag)
    ok.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    ok.headers.add("Content-Type", "application/sdp")
    ok.body = SDP_PCMU.encode()
    return ok


def invites_sent(agent, now_ms):
    return [m for m, _ in sent(agent, now_ms) if getattr(m, "method", None) == "INVITE"]


def flood_options(agent, source, count, now_ms):
    statuses = []
    for index in range(count):
        probe = message("OPTIONS", call_id="flood-%d" % index, branch="z9hG4bKflood%d" % index)
        agent.receive_datagram(probe, udp(source), now_ms)
        statuses += [parse_message(w).status for w, _ in agent.datagrams_to_send(now_ms)]
    return statuses


def test_a_full_call_table_refuses_the_new_call_and_keeps_the_live_ones():
    door = door_agent(max_calls=2)
    first = door.call(FLAT_URI, 40000, 0)
    second = door.call(FLAT_URI, 40002, 0)
    [invite, _] = invites_sent(door, 0)
    assert door.call(FLAT_URI, 40004, 0) is None
    assert set(door.calls) == {first, second}
    assert door.stats["calls_refused"] == 1
    # The first flat answers and later hangs up: the door knows the call.
    door.receive_datagram(ok_with_sdp(invite, "flatA").to_bytes(), udp(FLAT), 100)
    assert [m.method for m, _ in sent(door, 100)] == ["ACK"]
    assert [e["event"] for e in drain(door)] == ["answered"]
    bye = (
        "BYE sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKbyeA\r\n"
        "From: <sip:flat1@192.0.2.20>;tag=flatA\r\n"
        "To: %s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
        % (invite.headers.get("From"), first)
    ).encode()
    replies = exchange(door, bye, FLAT, 200)
    assert [reply.status for reply, _ in replies] == [200]
    assert drain(door)[0]["reason"] == "remote_hangup"


def test_a_flood_of_requests_never_evicts_a_live_invite_transaction():
    door = door_agent(rate_per_s=1000, rate_burst=1000, max_transactions=16)
    call_id = door.call(FLAT_URI, 40000, 0)
    [invite] = invites_sent(door, 0)
    assert flood_options(door, FLAT, 64, 10) == [200] * 64
    assert len(door.transactions) <= 16
    door.receive_datagram(ok_with_sdp(invite, "flatB").to_bytes(), udp(FLAT), 50)
    assert [m.method for m, _ in sent(door, 50)] == ["ACK"]
    answered = drain(door)
    assert [(e["event"], e["call_id"]) for e in answered] == [("answered", call_id)]


def test_a_flood_from_the_server_never_evicts_the_register_transaction():
    door = server_door(rate_per_s=1000, rate_burst=1000, max_transactions=16)
    door.start(0)
    [(register, _)] = sent(door, 0)
    assert flood_options(door, SERVER, 64, 10) == [200] * 64
    ok = make_response(register, 200, None, "srv1")
    ok.headers.add("Contact", register.headers.get("Contact") + ";expires=300")
    door.receive_datagram(ok.to_bytes(), udp(SERVER), 50)
    assert [e["event"] for e in drain(door)] == ["registered"]


def test_a_table_full_of_live_transactions_answers_503():
    door = door_agent(rate_per_s=1000, rate_burst=1000, max_transactions=4, max_calls=8)
    for port in (40000, 40002, 40004, 40006):
        door.call(FLAT_URI, port, 0)
    sent(door, 0)
    [(response, dest)] = exchange(door, message("OPTIONS", branch="z9hG4bKfull"), FLAT, 10)
    assert (response.status, dest) == (503, FLAT)
    assert response.headers.get("Retry-After") is not None
    assert len(door.transactions) == 4 and door.stats["responses_503"] == 1
    invite = message(
        "INVITE", call_id="late", branch="z9hG4bKlate", body=SDP_PCMU, extra=sdp_type()
    )
    assert [r.status for r, _ in exchange(door, invite, FLAT, 20)] == [503]
    assert "late" not in door.calls


def test_a_2xx_crossing_our_cancel_before_any_1xx_is_acked_and_ended_with_bye():
    door = door_agent()
    call_id = door.call(FLAT_URI, 40000, 0)
    [invite] = invites_sent(door, 0)
    door.hangup(call_id, 100)  # no 1xx yet: the CANCEL waits (RFC 3261 9.1)
    assert sent(door, 100) == []
    door.receive_datagram(ok_with_sdp(invite, "flatC").to_bytes(), udp(FLAT), 150)
    out = [m.method for m, _ in sent(door, 150)]
    assert out == ["ACK", "BYE"]
    events = drain(door)
    assert [(e["event"], e.get("reason")) for e in events] == [("call_failed", "local_hangup")]
    # The flat answers the BYE: nothing of the call is left.
    [bye_request] = [t.request for t in door.transactions.values() if t.method == "BYE"]
    door.receive_datagram(make_response(bye_request, 200).to_bytes(), udp(FLAT), 200)
    assert door.calls == {}
    # The next resident's call is not refused as busy.
    ring = message("INVITE", call_id="next", branch="z9hG4bKnext", body=SDP_PCMU, extra=sdp_type())
    assert [r.status for r, _ in exchange(door, ring, FLAT, 300)] == [180]
