# The agent over flows (intercom.sip.flow, RFC 3261 18, RFC 5626): SIP over
# TCP as well as UDP, transport-free. The test plays the board: it feeds
# messages with the flow they came on and reads the flow each one leaves
# on. Runs under pytest and the MicroPython runner.

from intercom.sip.agent import Agent
from intercom.sip.flow import TCP, TLS, UDP, make_flow
from intercom.sip.framing import PING, PONG
from intercom.sip.message import make_response, parse_message, parse_via
from sip_harness import DOOR, FLAT, FLAT_URI, CountingRandom, door_settings
from test_sip_agent_server import events

SERVER = ("192.0.2.1", 5060)
SERVER_TCP = make_flow(TCP, SERVER)  # what the agent asks for: any connection
ON_CONNECTION_7 = make_flow(TCP, SERVER, 7)  # what the board says it came on
SDP = (
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
    b"t=0 0\r\nm=audio 50000 RTP/AVP 0\r\n"
)


def tcp_door(**overrides):
    options = {
        "server": "192.0.2.1",
        "domain": "example.org",
        "password": "secret",
        "targets": ("flat1",),
        "answer_from": ("flat1",),
        "transport": "tcp",
    }
    options.update(overrides)
    return Agent(door_settings(**options), CountingRandom(11))


def sent(agent, now_ms):
    """(message or raw keep-alive, flow) of everything the agent sends now."""
    return [
        (parse_message(wire) if wire.strip() else wire, flow)
        for wire, flow in agent.datagrams_to_send(now_ms)
    ]


def registered_door(**overrides):
    door = tcp_door(**overrides)
    door.start(0)
    [(register, flow)] = sent(door, 0)
    ok = make_response(register, 200, None, "srv1")
    ok.headers.add("Contact", register.headers.get("Contact") + ";expires=300")
    door.receive_datagram(ok.to_bytes(), ON_CONNECTION_7, 20)
    assert [event["event"] for event in events(door)] == ["registered"]
    return door


def until_sent(agent):
    """Fire timers one by one until something is sent: (when, what)."""
    while True:
        deadline = agent.get_timer()
        agent.handle_timer(deadline)
        out = sent(agent, deadline)
        if out:
            return deadline, out


def run_to(agent, now_ms):
    """Fire every timer up to now_ms; everything sent meanwhile."""
    out = []
    while True:
        deadline = agent.get_timer()
        if deadline is None or deadline > now_ms:
            return out
        agent.handle_timer(deadline)
        out += sent(agent, deadline)


def test_register_goes_over_tcp_says_so_and_is_never_retransmitted():
    door = tcp_door(keepalive=0)
    door.start(0)
    [(register, flow)] = sent(door, 0)
    assert flow == SERVER_TCP
    via = parse_via(register.headers.get("Via"))
    assert (via.transport, via.host, via.port) == ("TCP", DOOR[0], DOOR[1])
    assert register.headers.get("Contact") == "<sip:door@192.0.2.5:5060;transport=tcp>"
    # RFC 3261 17.1.2.2: no timer E on a reliable transport; timer F still runs
    assert door.get_timer() == 32000
    assert run_to(door, 31999) == []
    run_to(door, 32000)
    failed = events(door)[0]
    assert (failed["event"], failed["reason"]) == ("registration_failed", "no_response")


def test_the_200_over_tcp_registers_and_its_rport_is_no_nat_fix():
    door = tcp_door(keepalive=0)
    door.start(0)
    [(register, _)] = sent(door, 0)
    ok = make_response(register, 200, None, "srv1")
    # the registrar saw the connection's source port: not our listener
    ok.headers.set("Via", register.headers.get("Via").replace(";rport", ";rport=41234"))
    door.receive_datagram(ok.to_bytes(), ON_CONNECTION_7, 20)
    registered = events(door)[0]
    assert registered["event"] == "registered"
    assert registered["contact"] == "sip:door@192.0.2.5:5060;transport=tcp"
    assert sent(door, 20) == []


def test_tcp_keepalives_expect_a_pong_within_ten_seconds():
    door = registered_door(keepalive=25)
    ping_at, out = until_sent(door)
    assert out == [(PING, SERVER_TCP)]
    assert 20000 <= ping_at - 20 <= 25000  # RFC 5626: 80-100 % of the interval
    # the pong comes (on whichever connection): nothing happens
    door.receive_datagram(PONG, ON_CONNECTION_7, ping_at + 3000)
    assert run_to(door, ping_at + 15000) == []
    assert door.flows_to_close() == []


def test_no_pong_closes_the_connection_and_registers_again_at_once():
    door = registered_door(keepalive=25)
    ping_at, _ = until_sent(door)
    assert run_to(door, ping_at + 9999) == []
    after = run_to(door, ping_at + 10000)
    assert door.flows_to_close() == [SERVER_TCP]
    assert [(message.method, flow) for message, flow in after] == [("REGISTER", SERVER_TCP)]


def test_a_lost_connection_to_the_server_brings_a_new_register_at_once():
    door = registered_door(keepalive=0)
    door.flow_failed(make_flow(TCP, SERVER, 7), 5000)
    [(register, flow)] = sent(door, 5000)
    assert (register.method, flow) == ("REGISTER", SERVER_TCP)
    assert door.stats["flows_failed"] == 1
    assert events(door) == []  # still registered: the binding stays until it fails


def test_a_refused_connection_fails_the_attempt_and_backs_off():
    door = tcp_door(keepalive=0)
    door.start(0)
    sent(door, 0)
    door.flow_failed(make_flow(TCP, SERVER, 3), 10)
    [failed] = events(door)
    assert (failed["event"], failed["reason"], failed["status"]) == (
        "registration_failed",
        "connection failed",
        None,
    )
    assert 30000 <= failed["retry_in_ms"] <= 60000  # RFC 5626 4.5
    assert sent(door, 10) == []
    assert run_to(door, 10 + failed["retry_in_ms"] - 1) == []
    [(again, flow)] = run_to(door, 10 + failed["retry_in_ms"])
    assert (again.method, flow) == ("REGISTER", SERVER_TCP)


def test_a_lost_connection_elsewhere_does_not_touch_the_registration():
    door = registered_door(keepalive=0)
    door.flow_failed(make_flow(TCP, ("192.0.2.99", 5060), 9), 5000)
    door.flow_failed(make_flow(TCP, (SERVER[0], 40001), 8), 5000)
    assert sent(door, 5000) == []


def test_requests_over_a_connection_are_answered_on_that_connection():
    door = registered_door(keepalive=0)
    run_to(door, 100)
    accepted = make_flow(TCP, (SERVER[0], 45678), 12)
    options = (
        b"OPTIONS sip:door@192.0.2.5 SIP/2.0\r\n"
        b"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKtcp1\r\n"
        b"From: <sip:pbx@example.org>;tag=p1\r\nTo: <sip:door@example.org>\r\n"
        b"Call-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    door.receive_datagram(options, accepted, 100)
    [(response, flow)] = sent(door, 100)
    assert (response.status, flow) == (200, accepted)
    # RFC 3261 17.2.2: timer J is zero on a reliable transport
    run_to(door, 100)
    assert door.transactions == {}


def test_udp_responses_still_go_to_the_via_port_or_the_source_with_rport():
    door = Agent(door_settings(), CountingRandom(3))
    for via, expected in (
        ("SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bKu1", ("udp", "192.0.2.20", 5070, 0)),
        ("SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bKu2;rport", make_flow(UDP, FLAT)),
    ):
        options = (
            "OPTIONS sip:door@192.0.2.5 SIP/2.0\r\nVia: %s\r\n"
            "From: <sip:flat1@192.0.2.20>;tag=f\r\nTo: <sip:door@192.0.2.5>\r\n"
            "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (via, via[-2:])
        ).encode()
        door.receive_datagram(options, make_flow(UDP, FLAT), 0)
        [(_, flow)] = door.datagrams_to_send(0)
        assert flow == expected, via


def test_a_ping_on_a_stream_gets_a_pong_on_that_stream():
    door = tcp_door()
    accepted = make_flow(TCP, (SERVER[0], 45679), 4)
    door.receive_datagram(PING, accepted, 0)
    assert door.datagrams_to_send(0) == [(PONG, accepted)]


def test_only_trusted_hosts_may_keep_a_connection():
    door = tcp_door()
    assert door.accepts_connection(make_flow(TCP, (SERVER[0], 40000), 1), 0)
    assert not door.accepts_connection(make_flow(TCP, ("198.51.100.7", 40000), 2), 0)
    assert door.stats["untrusted_dropped"] == 1


def test_framing_errors_are_counted_apart():
    door = tcp_door()
    door.flow_failed(make_flow(TCP, ("192.0.2.1", 40000), 1), 0, framing=True)
    assert door.stats["framing_errors"] == 1
    assert "flows_failed" not in door.stats


def test_a_call_over_tcp_keeps_to_tcp_for_ack_and_bye():
    door = registered_door(keepalive=0)
    call_id = door.call("flat1", 40000, 100)
    [(invite, flow)] = sent(door, 100)
    assert flow == SERVER_TCP
    assert parse_via(invite.headers.get("Via")).transport == "TCP"
    assert invite.headers.get("Contact") == "<sip:door@192.0.2.5:5060;transport=tcp>"
    assert door.get_timer() != 100 + 500  # no timer A over TCP
    ok = make_response(invite, 200, None, "flat9")
    ok.headers.add("Record-Route", "<sip:192.0.2.1;transport=tcp;lr>")
    ok.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    ok.headers.add("Content-Type", "application/sdp")
    ok.body = SDP
    door.receive_datagram(ok.to_bytes(), ON_CONNECTION_7, 140)
    [(ack, flow)] = sent(door, 140)
    assert (ack.method, flow) == ("ACK", SERVER_TCP)
    assert parse_via(ack.headers.get("Via")).transport == "TCP"
    door.hangup(call_id, 150)
    [(bye, flow)] = sent(door, 150)
    assert (bye.method, flow) == ("BYE", SERVER_TCP)


def test_an_invite_whose_connection_fails_is_a_call_failed_as_unavailable():
    door = registered_door(keepalive=0)
    call_id = door.call("flat1", 40000, 100)
    sent(door, 100)
    door.flow_failed(make_flow(TCP, SERVER, 7), 200)
    failed = [event for event in events(door) if event["event"] == "call_failed"][0]
    assert (failed["call_id"], failed["status"], failed["reason"]) == (
        call_id,
        503,
        "unavailable",
    )


def big_target():
    """A target whose URI parameter makes our INVITE larger than 1300 bytes."""
    return FLAT_URI + ";x-note=" + "a" * 900


def test_a_request_too_big_for_udp_goes_over_tcp_and_back_to_udp_when_refused():
    door = Agent(door_settings(targets=(big_target(),)), CountingRandom(4))
    door.call(big_target(), 40000, 0)
    [(wire, flow)] = door.datagrams_to_send(0)
    invite = parse_message(wire)
    assert len(wire) > 1300  # RFC 3261 18.1.1: over 1300 bytes, no MTU known
    assert flow == make_flow(TCP, FLAT)
    assert parse_via(invite.headers.get("Via")).transport == "TCP"
    assert door.stats["switched_to_tcp"] == 1
    # the peer refuses the connection: the same request (same branch) over UDP
    door.flow_failed(make_flow(TCP, FLAT, 1), 10)
    [(again, flow)] = door.datagrams_to_send(10)
    again = parse_message(again)
    assert flow == make_flow(UDP, FLAT)
    via = parse_via(again.headers.get("Via"))
    assert via.transport == "UDP" and via.branch == parse_via(invite.headers.get("Via")).branch
    assert door.get_timer() == 10 + 500  # UDP: timer A runs again
    assert events(door) == []


def test_a_small_request_stays_on_udp():
    door = Agent(door_settings(), CountingRandom(5))
    door.call(FLAT_URI, 40000, 0)
    [(wire, flow)] = door.datagrams_to_send(0)
    assert len(wire) <= 1300 and flow == make_flow(UDP, FLAT)
    assert "switched_to_tcp" not in door.stats


def test_a_uri_transport_parameter_picks_tcp_for_a_peer_to_peer_call():
    target = "sip:flat1@192.0.2.20:5062;transport=tcp"
    door = Agent(door_settings(targets=(target,)), CountingRandom(6))
    door.call(target, 40000, 0)
    [(wire, flow)] = door.datagrams_to_send(0)
    assert flow == make_flow(TCP, FLAT)
    assert b"Contact: <sip:door@192.0.2.5:5060;transport=tcp>" in wire


def test_register_over_tls_goes_to_port_5061_and_says_tls():
    door = tcp_door(transport="tls", keepalive=0)
    door.start(0)
    [(register, flow)] = sent(door, 0)
    assert flow == make_flow(TLS, (SERVER[0], 5061))  # RFC 3261 19.1.2: sips default
    assert parse_via(register.headers.get("Via")).transport == "TLS"
    assert register.headers.get("Contact").endswith(";transport=tls>")


def test_a_tls_failure_names_its_reason_in_registration_failed():
    door = tcp_door(transport="tls", keepalive=0)
    door.start(0)
    sent(door, 0)
    door.flow_failed(make_flow(TLS, (SERVER[0], 5061), 3), 10, False, "tls_expired")
    [failed] = events(door)
    assert (failed["event"], failed["reason"], failed["status"]) == (
        "registration_failed",
        "tls_expired",
        None,
    )
    assert failed["retry_in_ms"] >= 30000  # the RFC 5626 4.5 back-off, as for TCP


def test_a_sips_target_is_called_over_tls():
    target = "sips:flat1@192.0.2.20"
    door = Agent(door_settings(targets=(target,), transport="tls"), CountingRandom(6))
    door.call(target, 40000, 0)
    [(wire, flow)] = door.datagrams_to_send(0)
    assert flow == make_flow(TLS, ("192.0.2.20", 5061))
    assert b"Via: SIP/2.0/TLS " in wire
    assert b"Contact: <sip:door@192.0.2.5:5060;transport=tls>" in wire


def test_a_door_over_tls_drops_sip_that_comes_in_clear():
    door = tcp_door(transport="tls", keepalive=0)
    door.start(0)
    sent(door, 0)
    invite = (
        b"INVITE sip:door@192.0.2.5 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-forged\r\n"
        b"From: <sip:flat1@example.org>;tag=x\r\nTo: <sip:door@example.org>\r\n"
        b"Call-ID: forged@192.0.2.1\r\nCSeq: 1 INVITE\r\n"
        b"Contact: <sip:flat1@192.0.2.1>\r\nContent-Type: application/sdp\r\n"
        b"Content-Length: %d\r\n\r\n" % len(SDP)
    ) + SDP
    for flow in (make_flow(UDP, SERVER), make_flow(TCP, SERVER, 4)):  # the server's own address
        door.receive_datagram(invite, flow, 100)
    assert sent(door, 100) == [] and events(door) == []
    assert door.stats["plain_sip_dropped"] == 2
