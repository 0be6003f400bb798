# The committed building proxies, deploy/kamailio/building.cfg on Kamailio
# and deploy/opensips/building.cfg on OpenSIPS (each test runs on both:
# tests/conftest.py's `building_proxy`), with two sim doors and four flats
# registered: flat1 is baresip (a real third-party UA), flat2-flat4 are
# SIPp. Door 1 rings flat1 and flat2 in parallel,
# baresip answers first and flat2 gets the CANCEL; door 2 calls flat3 while
# door 1 still talks. Then the proxy's rules: doors call flats only, no
# unauthenticated calls, no relaying to other domains, floods are dropped.

import hashlib
import shutil
import socket
import subprocess
import time
import uuid

import pytest
from support.audio import noise_syllables, write_wav
from support.baresip import Baresip
from support.door import start_registered_door
from support.kamailio import BUILDING_CONFIG
from support.opensips import BUILDING_CONFIG as OPENSIPS_BUILDING_CONFIG
from support.sipp import Sipp

pytestmark = pytest.mark.integration

PASSWORDS = {
    name: "pw-%s-%d" % (name, 7 * index)
    for index, name in enumerate(("door1", "door2", "flat1", "flat2", "flat3", "flat4"))
}
USERS = {name: (password, name[:4]) for name, password in PASSWORDS.items()}


def register_sipp(owned, tmp_path, proxy, user):
    """SIPp registers `user` (digest) and returns the port it registered."""
    peer = Sipp(
        tmp_path,
        "register_" + user,
        "flat_register.xml",
        remote=proxy.address,
        options=["-s", user, "-au", user, "-ap", PASSWORDS[user]],
    )
    owned(peer).start()
    assert peer.wait() == 0, peer.report()
    return peer.port


def sipp_flat(owned, tmp_path, user, port, scenario):
    peer = Sipp(tmp_path, user, scenario, port=port)
    return owned(peer).start()


def request_bytes(sock, method, uri, user, extra=""):
    """One SIP request as `user` from `sock`'s address."""
    host, port = sock.getsockname()
    tag = uuid.uuid4().hex[:8]
    message = (
        "%s %s SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s\r\n"
        "From: <sip:%s@127.0.0.1>;tag=%s\r\n"
        "To: <%s>\r\n"
        "Call-ID: %s@%s\r\n"
        "CSeq: 1 %s\r\n"
        "Contact: <sip:%s@%s:%d>\r\n"
        "Max-Forwards: 70\r\n%s"
        "Content-Length: 0\r\n\r\n"
    ) % (method, uri, host, port, tag, user, tag, uri, tag, host, method, user, host, port, extra)
    return message.encode()


def sip_request(sock, proxy, method, uri, user):
    """Send one request from `sock`; its final response's status or None."""
    sock.sendto(request_bytes(sock, method, uri, user), proxy.address)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return None
        status = int(data.split(b" ", 2)[1])
        if status >= 200:
            return status
    return None


def register_status(sock, proxy, user, password):
    """REGISTER user, answer the 401 with digest (RFC 7616, qop=auth,
    MD5) for `password`: the final status of the second REGISTER."""
    host, port = sock.getsockname()
    call_id = uuid.uuid4().hex
    uri = "sip:127.0.0.1:%d" % proxy.port

    def register(cseq, authorization):
        message = (
            "REGISTER %s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s\r\n"
            "From: <sip:%s@127.0.0.1>;tag=%s\r\n"
            "To: <sip:%s@127.0.0.1>\r\n"
            "Call-ID: %s\r\nCSeq: %d REGISTER\r\n"
            "Contact: <sip:%s@%s:%d>\r\nExpires: 60\r\nMax-Forwards: 70\r\n%s"
            "Content-Length: 0\r\n\r\n"
        ) % (
            uri,
            host,
            port,
            uuid.uuid4().hex,
            user,
            call_id[:8],
            user,
            call_id,
            cseq,
            user,
            host,
            port,
            authorization,
        )
        sock.sendto(message.encode(), proxy.address)
        sock.settimeout(1.0)
        return sock.recv(4096).decode()

    challenge = register(1, "")
    assert challenge.startswith("SIP/2.0 401"), challenge
    line = [h for h in challenge.split("\r\n") if h.lower().startswith("www-authenticate:")][0]
    fields = dict(
        part.strip().split("=", 1) for part in line.split(" ", 2)[2].split(",") if "=" in part
    )
    realm, nonce = fields["realm"].strip('"'), fields["nonce"].strip('"')

    def md5(text):
        return hashlib.md5(text.encode()).hexdigest()

    cnonce = uuid.uuid4().hex[:8]
    ha1 = md5("%s:%s:%s" % (user, realm, password))
    response = md5("%s:%s:00000001:%s:auth:%s" % (ha1, nonce, cnonce, md5("REGISTER:" + uri)))
    authorization = (
        'Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
        'response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="%s"\r\n'
    ) % (user, realm, nonce, uri, response, cnonce)
    return int(register(2, authorization).split(" ", 2)[1])


def test_interop_building_parallel_ringing_and_two_calls_at_once(tmp_path, owned, building_proxy):
    proxy = owned(building_proxy(tmp_path, USERS)).start()
    flat1_source = write_wav(tmp_path / "flat1.wav", noise_syllables(60, seed=5))
    flat1 = owned(
        Baresip(tmp_path / "flat1", "flat1", PASSWORDS["flat1"], proxy.port, flat1_source)
    ).start()
    ports = {
        user: register_sipp(owned, tmp_path, proxy, user) for user in ("flat2", "flat3", "flat4")
    }
    flat2 = sipp_flat(owned, tmp_path, "flat2", ports["flat2"], "flat_never_answers.xml")
    flat3 = sipp_flat(owned, tmp_path, "flat3", ports["flat3"], "flat_answers.xml")
    door1 = start_registered_door(
        owned,
        tmp_path / "door1",
        "Door 1",
        "door1",
        PASSWORDS["door1"],
        proxy.port,
        ["flat1", "flat2"],
        call={"mode": "parallel"},
    )
    door2 = start_registered_door(
        owned, tmp_path / "door2", "Door 2", "door2", PASSWORDS["door2"], proxy.port, ["flat3"]
    )
    bound = proxy.wait_registered(["door1", "door2", "flat1", "flat2", "flat3", "flat4"])
    assert len(bound) == 6, bound

    door1.send("press")
    answered = door1.wait_for("answered", timeout=10)
    assert answered["target"] == "flat1", answered
    flat1.wait_event("CALL_ESTABLISHED")
    # flat2 rang, then the door's CANCEL came through the proxy
    assert flat2.wait() == 0, flat2.report()
    assert [kind for _, kind in flat2.flow()] == ["INVITE", 180, "CANCEL", 200, 487, "ACK"]

    door2.send("press")
    assert door2.wait_for("answered", timeout=10)["target"] == "flat3"
    time.sleep(1.0)
    # both calls are up at the same time
    assert "call_ended" not in door1.names() and "call_ended" not in door2.names()
    door2.send("hangup")
    door1.send("hangup")
    assert door2.wait_for("call_ended", timeout=5)["reason"] == "local_hangup"
    assert door1.wait_for("call_ended", timeout=5)["reason"] == "local_hangup"
    assert flat3.wait() == 0, flat3.report()
    flat1.wait_event("CALL_CLOSED")

    decisions = proxy.log_lines()
    text = "\n".join(decisions)
    for route in ("door1 to flat1", "door1 to flat2", "door2 to flat3"):
        assert "INVITE from %s relayed" % route in text, text
    assert any(line.startswith("CANCEL sip:flat2@") for line in decisions), text


def test_interop_building_rules_doors_call_flats_only_no_relay_no_anonymous(
    tmp_path, owned, building_proxy
):
    proxy = owned(building_proxy(tmp_path, USERS)).start()
    door2 = start_registered_door(
        owned, tmp_path / "door2", "Door 2", "door2", PASSWORDS["door2"], proxy.port, ["door1"]
    )
    door1 = start_registered_door(
        owned, tmp_path / "door1", "Door 1", "door1", PASSWORDS["door1"], proxy.port, ["flat1"]
    )
    proxy.wait_registered(["door1", "door2"])
    door2.send("press")
    ended = door2.wait_for("call_ended", timeout=10)
    assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("refused", "declined", 403)
    assert "incoming_call" not in door1.names()
    assert "door door2 may not call door1" in proxy.log_lines()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        # no credentials: challenged, never relayed
        assert sip_request(sock, proxy, "INVITE", "sip:door1@127.0.0.1", "flat1") == 407
        # another domain: refused before any challenge (no open relay)
        assert sip_request(sock, proxy, "INVITE", "sip:bob@example.org", "flat1") == 403
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        # only listed users with their own password may register
        assert register_status(sock, proxy, "mallory", "guess") == 403
        assert register_status(sock, proxy, "flat4", PASSWORDS["flat3"]) == 403
        assert register_status(sock, proxy, "flat4", PASSWORDS["flat4"]) == 200
    assert proxy.bindings().get("flat4"), proxy.bindings()
    assert "incoming_call" not in door1.names()
    assert any(line.startswith("relay to sip:bob@example.org") for line in proxy.log_lines())


def test_interop_building_drops_a_flood_from_one_address_only(tmp_path, owned, building_proxy):
    proxy = owned(building_proxy(tmp_path, USERS)).start()
    server = "sip:127.0.0.1:%d" % proxy.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
        flood.bind(("127.0.0.2", 0))
        answers = [sip_request(flood, proxy, "OPTIONS", server, "x") for _ in range(40)]
        for _ in range(300):
            flood.sendto(request_bytes(flood, "OPTIONS", server, "x"), proxy.address)
        time.sleep(0.2)
        while True:  # the answers to the flood that got through
            flood.settimeout(0.1)
            try:
                flood.recv(4096)
            except TimeoutError:
                break
        # unanswered from 127.0.0.2 once pike blocked it
        late = sip_request(flood, proxy, "OPTIONS", server, "x")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as neighbour:
        neighbour.bind(("127.0.0.1", 0))
        other = sip_request(neighbour, proxy, "OPTIONS", server, "y")
    assert answers == [200] * 40
    assert late is None
    assert other == 200
    assert any(line.startswith("flood from 127.0.0.2") for line in proxy.log_lines())


def test_interop_building_forks_to_every_device_of_a_flat(tmp_path, owned, building_proxy):
    proxy = owned(building_proxy(tmp_path, USERS)).start()
    desk = register_sipp(owned, tmp_path, proxy, "flat4")
    app = register_sipp(owned, tmp_path, proxy, "flat4")
    assert len(proxy.bindings()["flat4"]) == 2
    answering = sipp_flat(owned, tmp_path, "flat4_desk", desk, "flat_answers.xml")
    ringing = sipp_flat(owned, tmp_path, "flat4_app", app, "flat_never_answers.xml")
    door = start_registered_door(
        owned, tmp_path / "door1", "Door 1", "door1", PASSWORDS["door1"], proxy.port, ["flat4"]
    )
    door.send("press")
    assert door.wait_for("answered", timeout=10)["target"] == "flat4"
    # the proxy itself cancelled the other device's branch
    assert ringing.wait() == 0, ringing.report()
    assert [kind for _, kind in ringing.flow()] == ["INVITE", 180, "CANCEL", 200, 487, "ACK"]
    door.send("hangup")
    assert door.wait_for("call_ended", timeout=5)["reason"] == "local_hangup"
    assert answering.wait() == 0, answering.report()
    assert "CANCEL" not in "\n".join(proxy.log_lines())  # no CANCEL came from the door


def test_interop_building_config_checks_with_the_example_users_file(tmp_path):
    example = BUILDING_CONFIG.parent / "users.cfg.example"
    command = ["kamailio", "-c", "-f", str(BUILDING_CONFIG), "-E"]
    command += ["--substdef=!USERS_FILE!%s!" % example, "--substdef=!RUNDIR!%s!" % tmp_path]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "udp: 127.0.0.1 [127.0.0.1]:5060" in checked.stdout + checked.stderr
    assert "tls:" not in checked.stdout + checked.stderr  # TLS only with WITH_TLS


def test_interop_building_opensips_config_checks_with_the_example_users_file(
    tmp_path, opensips_build
):
    folder = tmp_path / "etc"
    folder.mkdir()
    shutil.copyfile(OPENSIPS_BUILDING_CONFIG, folder / "opensips.cfg")
    shutil.copyfile(
        OPENSIPS_BUILDING_CONFIG.parent / "users.cfg.example", folder / "building-users.cfg"
    )
    values = {
        "SIP_ADDR": "127.0.0.1",
        "SIP_PORT": 5060,
        "SIP_DOMAIN": "127.0.0.1",
        "RUNDIR": tmp_path,
        "MPATH": "%s/" % opensips_build.module_dir,
        "WORKERS": 4,
        "PIKE_SECONDS": 2,
        "PIKE_REQS": 64,
        "WITH_TLS": "#",
    }
    sed = ["sed"] + ["-e s|@%s@|%s|g" % item for item in sorted(values.items())]
    command = [str(opensips_build.binary), "-c", "-f", str(folder / "opensips.cfg")]
    command += ["-p", " ".join(sed)]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listening = checked.stdout + checked.stderr
    assert "udp: 127.0.0.1 [127.0.0.1]:5060" in listening, listening
    assert "tcp: 127.0.0.1 [127.0.0.1]:5060" in listening, listening
    assert "tls:" not in listening, listening  # its @WITH_TLS@ lines are "#"
