# The sim door's TLS listener (sip.transport = "tls" with sip.tls_cert and
# sip.tls_key): a peer that may talk to us gets SIP over TLS with the
# door's certificate, checked against the test CA; plain SIP sent to the
# TLS port gets no answer in clear, and a peer that connects and never
# finishes the handshake is dropped.

import socket
import ssl
import time

from support.certificates import Authority
from support.config import door_sections
from support.door import start_door, start_peer_door

OPTIONS = (
    b"OPTIONS sip:door@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-tls-1\r\n"
    b"From: <sip:flat1@127.0.0.1>;tag=f1\r\n"
    b"To: <sip:door@127.0.0.1>\r\n"
    b"Call-ID: tls-options-1@127.0.0.1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def tls_door(owned, tmp_path):
    authority = Authority(tmp_path / "ca")
    certificate, key = authority.issue("door", addresses=["127.0.0.1"])
    sip = {"transport": "tls", "tls_cert": str(certificate), "tls_key": str(key)}
    door = start_peer_door(owned, tmp_path / "door", ["sip:flat1@127.0.0.1"], sip=sip)
    return authority, door


def read_until_closed_or(sock, marker, timeout):
    sock.settimeout(timeout)
    data = b""
    try:
        while marker not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_the_door_answers_sip_over_tls_with_its_certificate(tmp_path, owned):
    authority, door = tls_door(owned, tmp_path)
    context = ssl.create_default_context(cafile=str(authority.certificate))
    raw = socket.create_connection(("127.0.0.1", door.sip_port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(OPTIONS)
        answer = read_until_closed_or(tls, b"\r\n\r\n", 5)
    assert answer.startswith(b"SIP/2.0 200 OK\r\n"), answer
    assert b"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-tls-1" in answer


def test_plain_sip_to_the_tls_port_gets_nothing_in_clear(tmp_path, owned):
    _, door = tls_door(owned, tmp_path)
    with socket.create_connection(("127.0.0.1", door.sip_port), timeout=5) as plain:
        plain.sendall(OPTIONS)
        answer = read_until_closed_or(plain, b"SIP/2.0", 8)
    assert b"SIP/2.0" not in answer  # at most a TLS alert, then the door closes
    assert door.names().count("error") == 0


def test_a_peer_that_never_finishes_the_handshake_is_dropped(tmp_path, owned):
    _, door = tls_door(owned, tmp_path)
    with socket.create_connection(("127.0.0.1", door.sip_port), timeout=5) as silent:
        started = time.monotonic()
        closed = read_until_closed_or(silent, b"never", 20)
        waited = time.monotonic() - started
    assert closed == b"" and waited < 20  # closed by the door, not our timeout


def test_an_unreadable_ca_file_stops_the_door_at_start_naming_the_key(tmp_path, owned):
    missing = tmp_path / "none.pem"
    sip = {"transport": "tls", "server": "127.0.0.1:5061", "tls_ca": str(missing)}
    sections = door_sections(["flat1"], sip=sip, audio={"input": "silence", "output": "null"})
    door = start_door(owned, tmp_path, sections, wait=None)
    error = door.wait_for("error", timeout=20)
    assert "sip.tls_ca: cannot read %s" % missing in error["reason"], error
    assert door.wait() != 0
    assert "registered" not in door.names()


def test_without_a_certificate_of_its_own_the_door_listens_for_no_stream(tmp_path, owned):
    door = start_peer_door(
        owned, tmp_path / "door", ["sip:flat1@127.0.0.1"], sip={"transport": "tls"}
    )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        refused = probe.connect_ex(("127.0.0.1", door.sip_port))
    assert refused != 0  # no listener: peers reach it over the connections it opens
