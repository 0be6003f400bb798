# The door as a security boundary, against real peers: credentials go only
# to the configured registrar realm, and an unknown host gets no bytes back.

import socket
import time

import pytest
from support.kamailio import DOOR_PASSWORD

pytestmark = pytest.mark.integration

ROGUE_HOST = "127.0.0.2"  # loopback too, but not a host the door trusts


def authorizations(texts):
    """Every Authorization / Proxy-Authorization line in these messages."""
    found = []
    for text in texts:
        for line in text.split("\n"):
            if line.lower().startswith(("authorization:", "proxy-authorization:")):
                found.append(line)
    return found


@pytest.mark.parametrize("status", [401, 407])
def test_peer_to_peer_challenge_from_a_foreign_realm_gets_no_credentials(
    door_factory, sipp, status
):
    scenario = "rogue_challenges_%d.xml" % status
    rogue = sipp("rogue", scenario, host=ROGUE_HOST)
    target = "sip:flat1@%s:%d" % (ROGUE_HOST, rogue.port)
    door = door_factory(user="door", password=DOOR_PASSWORD, realm="127.0.0.1", targets=[target])
    door.start()
    call_id = door.call(target)
    failed = door.wait_for("call_failed", call_id=call_id)
    assert failed["reason"] == "auth"
    assert failed["status"] == status
    # SIPp stays 1.5 s after the ACK; a second INVITE in that time would be
    # an unexpected message and a non-zero exit.
    assert door.run_until(lambda: rogue.process.poll() is not None, 10)
    assert rogue.wait() == 0, rogue.report()
    assert rogue.flow() == [("received", "INVITE"), ("sent", status), ("received", "ACK")]
    received = [m.text for m in rogue.messages() if m.direction == "received"]
    assert authorizations(received) == []
    assert authorizations(door.sent_text()) == []
    assert [t.split(" ")[0] for t in door.sent_text()] == ["INVITE", "ACK"]


def test_second_challenge_relayed_by_the_proxy_gets_no_credentials(
    kamailio, registered_door, registered_flat
):
    # Kamailio challenges the door (realm 127.0.0.1, answered once); the
    # flat behind it then challenges with realm "rogue.example", which
    # Kamailio relays from the server address the door trusts.
    rogue = registered_flat("rogue", "rogue_challenges_407.xml")
    door = registered_door()
    mark = kamailio.log_mark()
    call_id = door.call("flat1")
    failed = door.wait_for("call_failed", call_id=call_id)
    assert failed["reason"] == "auth"
    assert failed["status"] == 407
    assert door.run_until(lambda: rogue.process.poll() is not None, 10)
    assert rogue.wait() == 0, rogue.report()

    assert rogue.flow() == [("received", "INVITE"), ("sent", 407), ("received", "ACK")]
    # The flat never sees a digest: Kamailio consumed the door's, and the
    # door sent none for the flat's realm.
    received = [m.text for m in rogue.messages() if m.direction == "received"]
    assert authorizations(received) == []
    invites = [t for t in door.sent_text() if t.startswith("INVITE ")]
    assert len(invites) == 2
    assert [line.split('realm="')[1].split('"')[0] for line in authorizations(invites)] == [
        "127.0.0.1"
    ]
    log = kamailio.log_lines(mark)
    assert (
        "reply 407 Proxy Authentication Required for INVITE from 127.0.0.1:%d" % rogue.port in log
    )
    assert sum(line.startswith("INVITE sip:flat1@127.0.0.1 from") for line in log) == 2


def test_server_challenge_for_another_realm_gets_no_credentials(kamailio, door_factory):
    # The door is configured for realm "pbx.example"; Kamailio, its own
    # server, challenges with realm "127.0.0.1". Neither the REGISTER nor
    # the INVITE is answered with a digest.
    door = door_factory(
        user="door",
        server="127.0.0.1:%d" % kamailio.port,
        password=DOOR_PASSWORD,
        realm="pbx.example",
    )
    mark = kamailio.log_mark()
    door.start()
    failed = door.wait_for("registration_failed")
    assert failed["reason"] == "foreign realm"
    assert failed["status"] == 401
    call_id = door.call("flat1")
    call_failed = door.wait_for("call_failed", call_id=call_id)
    assert call_failed["reason"] == "auth"
    assert call_failed["status"] == 407
    door.run_for(0.3)
    assert authorizations(door.sent_text()) == []
    assert [t.split(" ")[0] for t in door.sent_text()] == ["REGISTER", "INVITE", "ACK"]
    assert kamailio.log_lines(mark) == [
        "REGISTER sip:door@127.0.0.1 challenged",
        "INVITE sip:flat1@127.0.0.1 from sip:door@127.0.0.1 challenged",
    ]
    assert "door" not in kamailio.bindings()


def sip_request(method, door_port, source_port, branch):
    call_id = "%s-%s@%s" % (method.lower(), branch, ROGUE_HOST)
    body = ""
    if method == "INVITE":
        body = (
            "v=0\r\no=x 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio 40000 RTP/AVP 0\r\n" % (ROGUE_HOST, ROGUE_HOST)
        )
    lines = [
        "%s sip:door@127.0.0.1:%d SIP/2.0" % (method, door_port),
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport" % (ROGUE_HOST, source_port, branch),
        "Max-Forwards: 70",
        "From: <sip:scanner@%s>;tag=%s" % (ROGUE_HOST, branch),
        "To: <sip:door@127.0.0.1>",
        "Call-ID: %s" % call_id,
        "CSeq: 1 %s" % method,
        "Contact: <sip:scanner@%s:%d>" % (ROGUE_HOST, source_port),
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def replies(sock, seconds):
    """Everything that arrives on sock within `seconds`."""
    found = []
    end = time.monotonic() + seconds
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            return found
        sock.settimeout(remaining)
        try:
            found.append(sock.recvfrom(65535))
        except TimeoutError:
            return found


def test_untrusted_source_gets_no_bytes_back(registered_door):
    door = registered_door()  # trusts only its server, 127.0.0.1
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rogue,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trusted,
    ):
        rogue.bind((ROGUE_HOST, 0))
        trusted.bind(("127.0.0.1", 0))
        rogue_port = rogue.getsockname()[1]
        for method, branch in (("OPTIONS", "rogue1"), ("INVITE", "rogue2")):
            rogue.sendto(
                sip_request(method, door.port, rogue_port, branch), door.socket.local_address
            )
        # The same OPTIONS from a trusted host is answered: the door is alive
        # and listening, the silence above is a decision.
        trusted_port = trusted.getsockname()[1]
        trusted.sendto(
            sip_request("OPTIONS", door.port, trusted_port, "ok1"), door.socket.local_address
        )
        door.run_for(1.0)
        assert replies(rogue, 0.2) == []
        answered = replies(trusted, 0.2)
    assert len(answered) == 1 and answered[0][0].startswith(b"SIP/2.0 200 OK\r\n")
    assert [address for _, address in door.sent if address[0] == ROGUE_HOST] == []
    assert door.find("incoming_call") is None
    assert door.agent.stats["untrusted_dropped"] == 2
