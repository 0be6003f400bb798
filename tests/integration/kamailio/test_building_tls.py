# The shipped building proxies with SIP over TLS turned on (deploy/kamailio
# building.cfg with WITH_TLS and its tls.cfg.example; deploy/opensips
# building.cfg with its TLS socket; each test runs on both: tests/conftest.py's
# `building_proxy`), a certificate from a CA the test makes: a door with
# sip.transport = "tls" and audio.srtp = "mandatory" calls a flat
# registered over TLS with SRTP (baresip, srtp-mand), both hear each other,
# the flat's keypad code opens the door; doors and flats on different
# transports (the door on TLS, the flat on UDP) call each other both ways
# and hang up from either side, and the flat sees the proxy record-route
# once for its own transport and once for the door's (double record-route);
# a door whose CA does not trust the proxy's certificate never registers.

import time

import pytest
from support.audio import heard_share, read_wav, steady_tone, write_wav
from support.baresip import Baresip, baresip_calls_the_door
from support.certificates import Authority
from support.door import DOOR_CODE, start_door, start_registered_door
from support.sipp import Sipp

pytestmark = pytest.mark.integration

PASSWORDS = {name: "pw-%s-tls" % name for name in ("door1", "door2", "flat1")}
USERS = {name: (password, name[:4]) for name, password in PASSWORDS.items()}
DOOR_TONE = 700  # Hz, what the door's microphone hears
FLAT_TONE = 1100  # Hz, what the flat sends


def tls_building(tmp_path, owned, building_proxy):
    """(the test CA, the shipped building proxy with TLS on, its certificate
    from that CA for 127.0.0.1)."""
    authority = Authority(tmp_path / "ca")
    certificate = authority.issue("proxy", addresses=["127.0.0.1"])
    folder = tmp_path / "proxy"
    folder.mkdir()
    proxy = building_proxy(folder, USERS, tls_certificate=certificate)
    return authority, owned(proxy).start()


def tls_door(owned, tmp_path, proxy, authority, **sections):
    """door1 registered over TLS (checking the proxy against authority's
    CA), its microphone playing DOOR_TONE."""
    folder = tmp_path / "door1"
    folder.mkdir()
    write_wav(folder / "visitor.wav", steady_tone(30, DOOR_TONE))
    settings = {
        "sip": {"transport": "tls", "tls_ca": str(authority.certificate)},
        "audio": {"input": "file:visitor.wav"},
    }
    settings.update(sections)
    return start_registered_door(
        owned, folder, "Door 1", "door1", PASSWORDS["door1"], proxy.tls_port, ["flat1"], **settings
    )


def flat_phone(owned, tmp_path, proxy, ca_file=None, mediaenc=None):
    """baresip as flat1 playing FLAT_TONE: over TLS to the proxy's TLS port
    with ca_file, else over UDP."""
    source = write_wav(tmp_path / "flat_tone.wav", steady_tone(60, FLAT_TONE))
    port = proxy.port if ca_file is None else proxy.tls_port
    flat = Baresip(tmp_path / "flat1", "flat1", PASSWORDS["flat1"], port, source, ca_file, mediaenc)
    return owned(flat).start()


def assert_both_heard(tmp_path, flat, door):
    door.send("quit")  # its WAV is complete once it stopped
    assert door.wait() == 0, door.stderr()
    assert heard_share(flat.recording("dec"), DOOR_TONE) > 0.9
    assert heard_share(read_wav(tmp_path / "door1" / "heard.wav"), FLAT_TONE) > 0.9


def test_building_tls_door_calls_a_tls_flat_with_srtp_and_its_code_opens(
    tmp_path, owned, building_proxy
):
    authority, proxy = tls_building(tmp_path, owned, building_proxy)
    flat = flat_phone(owned, tmp_path, proxy, authority.certificate, "srtp-mand")
    door = tls_door(
        owned,
        tmp_path,
        proxy,
        authority,
        audio={"input": "file:visitor.wav", "srtp": "mandatory"},
        door={"code": DOOR_CODE, "hangup_after_open": 1},
    )
    bound = proxy.wait_registered(["door1", "flat1"])
    assert all(contact.endswith(";transport=tls") for contact in bound["door1"] + bound["flat1"])

    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10, target="flat1")
    flat.wait_event("CALL_ESTABLISHED")
    time.sleep(3.0)  # seconds of audio each way
    for digit in DOOR_CODE:
        flat.command("sndcode", digit)
        time.sleep(0.25)
    door.wait_for("door_opened", timeout=5)
    assert door.wait_for("call_ended", timeout=5)["reason"] == "door_opened"
    flat.wait_event("CALL_CLOSED")  # the door's BYE came through over TLS
    assert_both_heard(tmp_path, flat, door)
    # both sides refuse a call without SRTP (the door: 488), so it ran on SRTP
    assert "INVITE from door1 to flat1 relayed" in "\n".join(proxy.log_lines())


def test_building_tls_door_and_udp_flat_call_each_other_both_ways(tmp_path, owned, building_proxy):
    authority, proxy = tls_building(tmp_path, owned, building_proxy)
    flat = flat_phone(owned, tmp_path, proxy)  # UDP, no SRTP
    door = tls_door(owned, tmp_path, proxy, authority, call={"answer_from": ["flat1"]})
    bound = proxy.wait_registered(["door1", "flat1"])
    assert bound["door1"][0].endswith(";transport=tls"), bound
    assert "transport=tls" not in bound["flat1"][0], bound

    # the flat (UDP) calls the door (TLS) and hangs up: its BYE follows the
    # route set from the UDP side to the TLS side
    baresip_calls_the_door(flat, door, "sip:door1@127.0.0.1", 3.0)
    flat.events.clear()
    # the door (TLS) calls the flat (UDP) and hangs up: the other way
    mark = len(door.seen)
    door.send("press")
    door.wait_for("answered", timeout=10, after=mark, target="flat1")
    flat.wait_event("CALL_ESTABLISHED")
    time.sleep(1.0)
    door.send("hangup")
    assert door.wait_for("call_ended", timeout=5, after=mark)["reason"] == "local_hangup"
    flat.wait_event("CALL_CLOSED")
    for ended in [event for event in door.seen if event["event"] == "call_ended"]:
        assert ended["media"]["audio"] == "ok", ended  # RTP both ways
        assert ended["media"]["packets_received"] > 0, ended
    text = "\n".join(proxy.log_lines())
    assert "INVITE from door1 to flat1 relayed" in text, text
    assert "INVITE from flat1 to door1 relayed" in text, text
    byes = [line for line in proxy.log_lines() if line.startswith("in-dialog BYE")]
    assert len(byes) == 2, text


def test_building_tls_record_routes_once_per_transport(tmp_path, owned, building_proxy):
    authority, proxy = tls_building(tmp_path, owned, building_proxy)
    register = Sipp(
        tmp_path,
        "register_flat1",
        "flat_register.xml",
        remote=proxy.address,
        options=["-s", "flat1", "-au", "flat1", "-ap", PASSWORDS["flat1"]],
    )
    owned(register).start()
    assert register.wait() == 0, register.report()
    flat = owned(Sipp(tmp_path, "flat1", "flat_answers.xml", port=register.port)).start()
    door = tls_door(owned, tmp_path, proxy, authority)
    door.send("press")
    door.wait_for("answered", timeout=10, target="flat1")
    door.send("hangup")
    assert door.wait_for("call_ended", timeout=5)["reason"] == "local_hangup"
    assert flat.wait() == 0, flat.report()  # the door's BYE reached the UDP flat
    invite = [m for m in flat.messages() if m.method == "INVITE"][0]
    routes = [
        uri.strip()
        for line in invite.text.split("\n")
        if line.lower().startswith("record-route:")
        for uri in line.split(":", 1)[1].split(",")
    ]
    # RFC 3261 16.6 step 4: the flat's side first (UDP), then the door's (TLS)
    assert len(routes) == 2, routes
    assert ":%d;" % proxy.port in routes[0] and "transport=tls" not in routes[0], routes
    assert ":%d;" % proxy.tls_port in routes[1] and "transport=tls" in routes[1], routes


def test_building_tls_refuses_a_door_that_does_not_trust_the_proxy(tmp_path, owned, building_proxy):
    _, proxy = tls_building(tmp_path, owned, building_proxy)
    stranger = Authority(tmp_path / "other", name="another CA")
    folder = tmp_path / "door2"
    folder.mkdir()
    sections = {
        "device": {"name": "Door 2", "board": "sim"},
        "sip": {
            "server": "127.0.0.1:%d" % proxy.tls_port,
            "transport": "tls",
            "tls_ca": str(stranger.certificate),
            "user": "door2",
            "password": PASSWORDS["door2"],
            "local_port": 0,
        },
        "call": {"targets": ["flat1"]},
        "door": {"code": DOOR_CODE},
        "audio": {"input": "silence", "output": "null"},
    }
    door = start_door(owned, folder, sections)
    failed = door.wait_for("registration_failed", timeout=15)
    assert failed["reason"] == "tls_untrusted", failed
    assert failed["retry_in_ms"] > 0, failed  # it tries again later
    assert "registered" not in door.names()
    assert "door2" not in proxy.bindings()
    assert not any("door2" in line for line in proxy.log_lines())  # no REGISTER reached it
