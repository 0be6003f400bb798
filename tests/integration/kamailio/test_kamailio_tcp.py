# SIP over TCP (RFC 3261 18, RFC 5626) against the committed building
# proxy on Kamailio and on OpenSIPS (deploy/kamailio/building.cfg and
# deploy/opensips/building.cfg listen on UDP and TCP; each test runs on
# both: tests/conftest.py's building_proxy): sim doors with
# sip.transport = "tcp" register, call and are called over TCP, keep
# their connection alive with CRLF pings, and get a new one when the old
# one breaks or stops answering; a 3 KB INVITE reaches a door over TCP,
# and a UDP door sends its own 3 KB INVITE over TCP (18.1.1).
# The door reaches the proxy through SipRelay (support/sip_relay.py), which
# shows what crossed each connection and can break it. A call with session
# timers (RFC 4028) is refreshed by the door's UPDATE through the proxy,
# over the door's connection.

import pathlib

import pytest
from intercom.sip.framing import PING, PONG
from support.audio import noise_syllables
from support.door import start_registered_door
from support.flat_rtp import FlatRtp
from support.sip_relay import SipRelay
from support.sipp import Sipp
from support.wait import wait_until

pytestmark = pytest.mark.integration

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
PASSWORDS = {"door": "pw-door1-over-tcp", "flat1": "pw-flat1-over-tcp"}
USERS = {"door": (PASSWORDS["door"], "door"), "flat1": (PASSWORDS["flat1"], "flat")}


def proxy_and_relay(owned, tmp_path, building_proxy):
    folder = tmp_path / "proxy"
    folder.mkdir()
    proxy = owned(building_proxy(folder, USERS)).start()
    relay = owned(SipRelay(proxy.address).start())
    return proxy, relay


def tcp_door(owned, tmp_path, relay, sip=None, **sections):
    """A sim door registered as door1 through the relay, over TCP."""
    options = {"transport": "tcp"}
    options.update(sip or {})
    return start_registered_door(
        owned,
        tmp_path / "door",
        "Door",
        "door",
        PASSWORDS["door"],
        relay.port,
        ["flat1"],
        sip=options,
        **sections,
    )


def first_line(message):
    return message.split(b"\r\n", 1)[0].decode()


def header(message, name):
    for line in message.split(b"\r\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            return line.split(b":", 1)[1].strip().decode()
    return None


def in_dialog_sources(proxy, method):
    """Source ports of the in-dialog requests the proxy logged for method."""
    prefix = "in-dialog %s " % method
    return [int(line.rsplit(":", 1)[1]) for line in proxy.log_lines() if line.startswith(prefix)]


def as_flat1(owned, tmp_path, name, scenario, proxy):
    """SIPp as flat1 (digest credentials) against the proxy, over UDP."""
    options = ["-s", "flat1", "-au", "flat1", "-ap", PASSWORDS["flat1"]]
    if (SCENARIOS / scenario).exists():
        scenario = SCENARIOS / scenario
    peer = Sipp(tmp_path, name, scenario, remote=proxy.address, options=options)
    return owned(peer).start()


def flat_answering(owned, tmp_path, proxy):
    """flat1 registered over UDP by SIPp, then a SIPp UAS on that port."""
    register = as_flat1(owned, tmp_path, "register_flat1", "flat_register.xml", proxy)
    assert register.wait() == 0, register.report()
    flat = Sipp(tmp_path, "flat1", "flat_answers.xml", port=register.port)
    return owned(flat).start()


def test_the_door_registers_over_tcp_and_keeps_one_connection_alive(
    owned, tmp_path, building_proxy
):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    door = tcp_door(owned, tmp_path, relay, sip={"keepalive": 1})
    register = relay.messages("out")[0]
    assert first_line(register).startswith("REGISTER ")
    assert header(register, "Via").startswith("SIP/2.0/TCP ")
    assert header(register, "Contact").endswith(";transport=tcp>")
    contacts = proxy.bindings()["door"]
    assert len(contacts) == 1 and contacts[0].endswith(";transport=tcp")
    # RFC 5626 4.4.1: CRLF CRLF pings, each answered by a CRLF pong
    wait_until(lambda: relay.count("back", PONG) >= 3, 20.0, "three pongs")
    assert relay.count("out", PING) >= 3
    assert relay.connections == 1  # every REGISTER and ping on one connection
    assert "registration_failed" not in door.names()
    door.send("quit")
    assert door.wait() == 0
    last = relay.messages("out")[-1]
    assert first_line(last).startswith("REGISTER ") and header(last, "Expires") == "0"
    assert relay.connections == 1
    assert "door" not in proxy.bindings()


def test_the_door_calls_a_flat_over_tcp(owned, tmp_path, building_proxy):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    flat = flat_answering(owned, tmp_path, proxy)
    door = tcp_door(owned, tmp_path, relay)
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=15)
    door.send("hangup")
    door.wait_for("call_ended", timeout=10)
    assert flat.wait() == 0, flat.report()  # the flat got its ACK and the BYE
    sent = relay.messages("out", connection=1)
    invites = [message for message in sent if first_line(message).startswith("INVITE ")]
    assert len(invites) == 2  # the second with credentials (after the 407)
    for invite in invites:
        assert header(invite, "Via").startswith("SIP/2.0/TCP ")
        assert header(invite, "Contact").endswith(";transport=tcp>")
    assert relay.connections == 1
    assert relay.datagrams == []  # nothing of the door's went over UDP
    # The proxy's Record-Route names itself with ;transport=tcp towards the
    # door (RFC 3261 12.1.2: the route set in reverse), so the ACK and the
    # BYE go to the proxy over TCP, over a connection of the door's own (a
    # UDP datagram would come from the door's SIP port).
    [ack_from] = in_dialog_sources(proxy, "ACK")
    [bye_from] = in_dialog_sources(proxy, "BYE")
    assert ack_from == bye_from != door.sip_port
    assert ack_from in proxy.tcp_source_ports()


def test_a_flat_calls_the_door_with_a_3kb_invite_over_tcp(owned, tmp_path, building_proxy):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    door = tcp_door(owned, tmp_path, relay, call={"answer_from": ["flat1"]})
    caller = as_flat1(owned, tmp_path, "caller", "flat_calls_door_3kb.xml", proxy)
    assert caller.wait() == 0, caller.report()
    incoming = door.wait_for("incoming_call", timeout=10)
    assert incoming["accepted"] is True
    assert door.wait_for("call_ended", timeout=10)["reason"] == "remote_hangup"
    # The INVITE came over the door's own connection (the registrar bound
    # it: fix_nated_register), whole, and the door's 200 went back on it.
    invites = [m for m in relay.messages("back") if first_line(m).startswith("INVITE ")]
    assert len(invites) == 1 and len(invites[0]) > 3000
    assert header(invites[0], "X-Padding") is not None
    answers = [
        m
        for m in relay.messages("out")
        if first_line(m).startswith("SIP/2.0 ") and header(m, "CSeq").endswith(" INVITE")
    ]
    assert [first_line(m) for m in answers] == ["SIP/2.0 180 Ringing", "SIP/2.0 200 OK"]
    assert relay.connections == 1
    # The ACK and the BYE follow the door's Contact (;transport=tcp) as the
    # proxy saw it: Kamailio opens a connection to the door's TCP listener,
    # the SIP port; OpenSIPS counts 127.0.0.0/8 as a private network, so
    # its fix_nated_contact binds the dialog to the door's own connection.
    assert len(in_dialog_sources(proxy, "ACK")) == 1
    acks_on_own_connection = [m for m in relay.messages("back") if first_line(m).startswith("ACK ")]
    assert acks_on_own_connection or door.sip_port in proxy.tcp_source_ports()


def test_a_broken_connection_is_opened_again_and_the_door_registers_again(
    owned, tmp_path, building_proxy
):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    door = tcp_door(owned, tmp_path, relay)
    relay.cut()
    door.wait_count("registered", 2, timeout=20)
    assert relay.connections == 2
    assert "registration_failed" not in door.names()
    again = relay.messages("out", connection=2)
    assert first_line(again[0]).startswith("REGISTER ")
    assert len(proxy.bindings()["door"]) == 1


def test_without_pongs_the_door_gives_the_connection_up_and_registers_again(
    owned, tmp_path, building_proxy
):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    door = tcp_door(owned, tmp_path, relay, sip={"keepalive": 1})
    relay.muted.add(1)  # the server's bytes on connection 1 no longer arrive
    # RFC 5626 4.4.1: no pong within 10 s, the flow failed
    wait_until(lambda: relay.connections == 2, 30.0, "a new connection")
    door.wait_count("registered", 2, timeout=20)
    assert relay.count("out", PING) >= 1
    pings_on_1 = [item for number, way, item in relay.seen if number == 1 and item == PING]
    assert pings_on_1  # the door pinged, the pong never came back
    assert "registration_failed" not in door.names()


def test_a_server_that_drops_connections_is_retried_with_back_off(owned, tmp_path, building_proxy):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    door = tcp_door(owned, tmp_path, relay)
    relay.refuse = True
    relay.cut()
    failed = door.wait_for("registration_failed", timeout=15)
    assert failed["reason"] == "connection failed"
    # RFC 5626 4.5: the first retry after 50-100 % of 60 s (base 30 s, one failure)
    assert 30000 <= failed["retry_in_ms"] <= 60000
    assert door.names().count("registered") == 1


def test_a_udp_door_sends_its_3kb_invite_over_tcp(owned, tmp_path, building_proxy):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    flat = flat_answering(owned, tmp_path, proxy)
    # a target URI parameter makes the door's INVITE about 3 KB
    target = "sip:flat1@127.0.0.1;x-note=" + "n" * 1200
    door = start_registered_door(
        owned, tmp_path / "door", "Door", "door", PASSWORDS["door"], relay.port, [target]
    )
    registers = [data for way, data in relay.datagrams if way == "out"]
    assert registers and all(data.startswith(b"REGISTER ") for data in registers)
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=15)
    door.send("hangup")
    door.wait_for("call_ended", timeout=10)
    assert flat.wait() == 0, flat.report()
    invites = [m for m in relay.messages("out") if first_line(m).startswith("INVITE ")]
    assert len(invites) == 2  # RFC 3261 18.1.1: both over TCP, the second with credentials
    for invite in invites:
        assert len(invite) > 3000
        assert header(invite, "Via").startswith("SIP/2.0/TCP ")
    assert not any(data.startswith(b"INVITE ") for way, data in relay.datagrams)


def test_the_door_refreshes_a_session_through_the_proxy_over_tcp(owned, tmp_path, building_proxy):
    proxy, relay = proxy_and_relay(owned, tmp_path, building_proxy)
    register = as_flat1(owned, tmp_path, "register_flat1", "flat_register.xml", proxy)
    assert register.wait() == 0, register.report()
    flat_rtp = owned(FlatRtp(noise_syllables(4, 3)))  # the call needs RTP to go on
    flat = Sipp(
        tmp_path,
        "flat1",
        SCENARIOS / "flat_has_the_door_refresh_by_update.xml",
        port=register.port,
        fill={"MEDIA_PORT": flat_rtp.port},
        timeout_s=90,
    )
    owned(flat).start()
    door = tcp_door(owned, tmp_path, relay)
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=15)
    flat_rtp.start(("127.0.0.1", door.rtp_port))
    # RFC 4028 10: the door refreshes at half the 90 s interval
    wait_until(lambda: [m for m in flat.messages() if m.method == "UPDATE"], 70.0, "the refresh")
    door.send("hangup")
    assert flat.wait() == 0, flat.report()
    assert door.wait_for("call_ended", timeout=10)["reason"] == "local_hangup"
    # The UPDATE followed the route set (the proxy's Record-Route names it
    # with ;transport=tcp), over a connection of the door's own, like the BYE.
    [update_from] = in_dialog_sources(proxy, "UPDATE")
    [bye_from] = in_dialog_sources(proxy, "BYE")
    assert update_from == bye_from != door.sip_port
    assert update_from in proxy.tcp_source_ports()
    [update] = [m for m in flat.messages() if m.method == "UPDATE"]
    assert update.header("Session-Expires") == "90;refresher=uac"
    assert update.header("Content-Length") == "0"
