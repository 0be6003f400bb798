# The agent with a registrar/proxy: REGISTER wiring, keep-alives, and digest
# credentials only for challenges from the configured server and realm.

import binascii
import hashlib

from intercom.sip.agent import Agent
from intercom.sip.flow import flow_address
from intercom.sip.message import make_response, parse_message
from sip_harness import FLAT, FLAT_URI, CountingRandom, door_settings, udp

SERVER = ("192.0.2.1", 5060)
CHALLENGE = 'Digest realm="example.org", nonce="abc123", qop="auth", algorithm=MD5'


def server_door(**overrides):
    options = {
        "server": "192.0.2.1",
        "domain": "example.org",
        "password": "secret",
        "targets": ("flat1",),
        "answer_from": (),
        "keepalive": 25,
    }
    options.update(overrides)
    return Agent(door_settings(**options), CountingRandom(9))


def sent(agent, now_ms):
    return [
        (parse_message(wire) if wire.strip() else wire, dest)
        for wire, dest in [(w, flow_address(f)) for w, f in agent.datagrams_to_send(now_ms)]
    ]


def events(agent):
    out = []
    while True:
        item = agent.next_event()
        if item is None:
            return out
        out.append(item)


def digest_is_valid(value, method, password):
    """Recompute an RFC 7616 qop=auth MD5 response from the header's fields."""
    fields = {}
    for part in value[len("Digest ") :].split(","):
        name, _, quoted = part.strip().partition("=")
        fields[name] = quoted.strip('"')

    def md5(text):
        return binascii.hexlify(hashlib.md5(text.encode()).digest()).decode()

    ha1 = md5("%s:%s:%s" % (fields["username"], fields["realm"], password))
    ha2 = md5("%s:%s" % (method, fields["uri"]))
    expected = md5(
        ":".join([ha1, fields["nonce"], fields["nc"], fields["cnonce"], fields["qop"], ha2])
    )
    return fields["realm"] == "example.org" and fields["response"] == expected


def challenge(request, status, header, value=CHALLENGE):
    response = make_response(request, status, None, "srv1")
    response.headers.add(header, value)
    return response


def test_registration_goes_out_in_a_transaction_and_answers_the_registrar():
    door = server_door()
    door.start(0)
    [(register, dest)] = sent(door, 0)
    assert dest == SERVER
    assert register.method == "REGISTER"
    via = register.headers.get("Via")
    assert via.startswith("SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK") and via.endswith(";rport")
    assert door.get_timer() == 500  # timer E
    door.receive_datagram(challenge(register, 401, "WWW-Authenticate").to_bytes(), udp(SERVER), 40)
    [(second, dest)] = sent(door, 40)
    assert second.method == "REGISTER"
    assert second.headers.get("CSeq").split()[0] == "2"
    assert 'realm="example.org"' in second.headers.get("Authorization")
    assert second.headers.get("Via") != via
    ok = make_response(second, 200, None, "srv1")
    ok.headers.add("Contact", register.headers.get("Contact") + ";expires=300")
    door.receive_datagram(ok.to_bytes(), udp(SERVER), 80)
    assert [item["event"] for item in events(door)] == ["registered"]
    # Keep-alive: a CRLF ping to the server when the registration asks.
    out = []
    while not out:
        deadline = door.get_timer()
        door.handle_timer(deadline)
        out = door.datagrams_to_send(deadline)
    assert out == [(b"\r\n\r\n", udp(SERVER))]
    assert 80 + 20000 <= deadline <= 80 + 25000  # RFC 5626: 80-100 % of 25 s
    assert door.transactions == {}
    assert door.stats.get("internal_errors", 0) == 0


def test_invite_challenge_from_our_proxy_is_answered_once():
    door = server_door()
    call_id = door.call("flat1", 40000, 0)
    [(invite, dest)] = sent(door, 0)
    assert dest == SERVER
    assert invite.uri == "sip:flat1@example.org"
    door.receive_datagram(challenge(invite, 407, "Proxy-Authenticate").to_bytes(), udp(SERVER), 30)
    out = sent(door, 30)
    assert [m.method for m, _ in out] == ["ACK", "INVITE"]
    ack, retry = out[0][0], out[1][0]
    assert ack.headers.get("Via") == invite.headers.get("Via")
    assert retry.headers.get("CSeq") == "2 INVITE"
    assert retry.headers.get("Call-ID") == invite.headers.get("Call-ID")
    assert retry.headers.get("From") == invite.headers.get("From")
    assert retry.headers.get("Via") != invite.headers.get("Via")
    assert digest_is_valid(retry.headers.get("Proxy-Authorization"), "INVITE", "secret")
    assert retry.body == invite.body
    # A second challenge (wrong password) is not answered again.
    door.receive_datagram(challenge(retry, 407, "Proxy-Authenticate").to_bytes(), udp(SERVER), 60)
    assert [m.method for m, _ in sent(door, 60)] == ["ACK"]
    failed = events(door)[-1]
    assert failed["event"] == "call_failed" and failed["reason"] == "auth"
    assert failed["call_id"] == call_id


def test_retransmitted_challenges_are_absorbed_once_answered():
    # A completed transaction lets its request go once its owner has acted
    # (client_transaction.py); it still answers what the server repeats:
    # the INVITE's challenge gets the same ACK again (RFC 3261 17.1.1.2),
    # the REGISTER's nothing (17.1.2.2), and neither a second retry.
    door = server_door()
    door.call("flat1", 40000, 0)
    [(invite, _)] = sent(door, 0)
    invite_challenge = challenge(invite, 407, "Proxy-Authenticate").to_bytes()
    door.receive_datagram(invite_challenge, udp(SERVER), 30)
    [(ack, _), (retry, _)] = sent(door, 30)
    door.receive_datagram(invite_challenge, udp(SERVER), 40)
    assert [(m.method, m.headers.get("Via")) for m, _ in sent(door, 40)] == [
        ("ACK", ack.headers.get("Via"))
    ]
    door.start(50)
    [(register, _)] = sent(door, 50)
    register_challenge = challenge(register, 401, "WWW-Authenticate").to_bytes()
    door.receive_datagram(register_challenge, udp(SERVER), 60)
    assert [m.method for m, _ in sent(door, 60)] == ["REGISTER"]
    door.receive_datagram(register_challenge, udp(SERVER), 70)
    assert sent(door, 70) == []
    assert door.stats.get("internal_errors", 0) == 0


def test_challenge_for_another_realm_gets_no_credentials():
    door = server_door(realm="example.org")
    door.call("flat1", 40000, 0)
    [(invite, _)] = sent(door, 0)
    evil = 'Digest realm="evil.example", nonce="n1", algorithm=MD5'
    door.receive_datagram(
        challenge(invite, 407, "Proxy-Authenticate", evil).to_bytes(), udp(SERVER), 30
    )
    out = sent(door, 30)
    assert [m.method for m, _ in out] == ["ACK"]
    assert all(b"Authorization" not in m.to_bytes() for m, _ in out)
    assert events(door)[-1]["reason"] == "auth"
    assert door.stats["foreign_challenges"] == 1


def test_challenge_from_a_peer_that_is_not_our_server_gets_no_credentials():
    door = Agent(door_settings(password="secret"), CountingRandom(3))  # peer-to-peer
    door.call(FLAT_URI, 40000, 0)
    [(invite, dest)] = sent(door, 0)
    assert dest == FLAT
    door.receive_datagram(challenge(invite, 401, "WWW-Authenticate").to_bytes(), udp(FLAT), 30)
    out = sent(door, 30)
    assert [m.method for m, _ in out] == ["ACK"]
    assert events(door)[-1]["reason"] == "auth"
    assert door.stats["foreign_challenges"] == 1


def test_only_the_server_may_call_in_server_mode():
    door = server_door()
    door.receive_datagram(b"OPTIONS sip:door@192.0.2.5 SIP/2.0\r\n\r\n", udp(FLAT), 0)
    assert door.datagrams_to_send(0) == []
    assert door.stats["untrusted_dropped"] == 1


def test_contact_follows_the_address_the_registrar_saw():
    door = server_door()
    door.start(0)
    [(register, _)] = sent(door, 0)
    ok = make_response(register, 200, None, "srv1")
    via = register.headers.get("Via").replace(";rport", ";rport=40000;received=203.0.113.5")
    ok.headers.set("Via", via)
    door.receive_datagram(ok.to_bytes(), udp(SERVER), 20)
    [(fixed, _)] = sent(door, 20)
    assert fixed.method == "REGISTER"
    assert "<sip:door@203.0.113.5:40000>" in fixed.headers.get_all("Contact")
    door.call("flat1", 40000, 30)
    [(invite, _)] = sent(door, 30)
    assert invite.headers.get("Contact") == "<sip:door@203.0.113.5:40000>"


def test_in_dialog_requests_follow_the_record_route():
    door = server_door()
    call_id = door.call("flat1", 40000, 0)
    [(invite, _)] = sent(door, 0)
    ok = make_response(invite, 200, None, "flat9")
    ok.headers.add("Record-Route", "<sip:192.0.2.1;lr>")
    ok.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    ok.headers.add("Content-Type", "application/sdp")
    ok.body = (
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
        b"t=0 0\r\nm=audio 50000 RTP/AVP 0\r\n"
    )
    door.receive_datagram(ok.to_bytes(), udp(SERVER), 40)
    [(ack, dest)] = sent(door, 40)
    assert ack.method == "ACK" and dest == SERVER
    assert ack.uri == "sip:flat1@192.0.2.20:5062"
    assert ack.headers.get_all("Route") == ["<sip:192.0.2.1;lr>"]
    door.hangup(call_id, 50)
    [(bye, dest)] = sent(door, 50)
    assert bye.method == "BYE" and dest == SERVER
    assert bye.headers.get("CSeq") == "2 BYE"
    assert bye.headers.get_all("Route") == ["<sip:192.0.2.1;lr>"]


def test_stop_unregisters_and_hangs_up():
    door = server_door()
    door.start(0)
    [(register, _)] = sent(door, 0)
    ok = make_response(register, 200, None, "srv1")
    door.receive_datagram(ok.to_bytes(), udp(SERVER), 20)
    events(door)
    call_id = door.call("flat1", 40000, 30)
    [(invite, _)] = sent(door, 30)
    ringing = make_response(invite, 180, None, "flat9")
    door.receive_datagram(ringing.to_bytes(), udp(SERVER), 40)
    door.stop(50)
    out = sent(door, 50)
    assert [m.method for m, _ in out] == ["CANCEL", "REGISTER"]
    assert out[1][0].headers.get("Expires") == "0"
    assert all(dest == SERVER for _, dest in out)
    assert call_id in door.calls
