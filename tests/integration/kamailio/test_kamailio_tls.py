# SIP over TLS against Kamailio's tls module (tests/support/kamailio/
# proxy.cfg with WITH_TLS): the test makes a CA and the proxy's
# certificate; sim doors with sip.transport = "tls" register over TLS, and
# every way the proxy's certificate can be wrong ends the registration
# with its own reason and nothing sent in clear: a CA the door does not
# trust, a certificate for another host, an expired one, a pinned
# fingerprint that does not match (and one that does, without a CA); a
# proxy that wants a client certificate gets the door's.

import pytest
from support.certificates import Authority, fingerprint
from support.door import start_door
from support.kamailio import DOOR_PASSWORD, Kamailio, KamailioTls

pytestmark = pytest.mark.integration


def tls_proxy(owned, tmp_path, certificate=None, client_ca=None):
    """(the test CA, Kamailio with TLS); the proxy's certificate from that
    CA for 127.0.0.1 unless given."""
    authority = Authority(tmp_path / "ca")
    if certificate is None:
        certificate = authority.issue("proxy", addresses=["127.0.0.1"])
    folder = tmp_path / "kamailio"
    folder.mkdir()
    tls = KamailioTls(certificate[0], certificate[1], client_ca=client_ca)
    return authority, owned(Kamailio(folder, tls=tls)).start()


def tls_door(owned, tmp_path, proxy, **sip):
    settings = {
        "server": "127.0.0.1:%d" % proxy.tls_port,
        "transport": "tls",
        "password": DOOR_PASSWORD,
    }
    settings.update(sip)
    folder = tmp_path / "door"
    folder.mkdir(parents=True, exist_ok=True)
    sections = {
        "device": {"name": "Door", "board": "sim"},
        "sip": dict(settings, user="door", local_port=0),
        "call": {"targets": ["flat1"]},
        "door": {"code": "1234"},
        "audio": {"input": "silence", "output": "null"},
    }
    return start_door(owned, folder, sections)


def test_the_door_registers_over_tls_with_the_ca_it_is_given(tmp_path, owned):
    authority, proxy = tls_proxy(owned, tmp_path)
    mark = proxy.log_mark()
    door = tls_door(owned, tmp_path, proxy, tls_ca=str(authority.certificate))
    door.wait_for("registered", timeout=15)
    assert "tls REGISTER sip:door@127.0.0.1 from 127.0.0.1:" in "\n".join(proxy.log_lines(mark))
    assert any(address.endswith(";transport=tls") for address in proxy.bindings()["door"])


def registration_failure(door):
    failed = door.wait_for("registration_failed", timeout=15)
    assert failed["retry_in_ms"] > 0, failed  # it tries again later
    return failed["reason"]


def test_a_certificate_from_a_ca_the_door_does_not_trust(tmp_path, owned):
    _, proxy = tls_proxy(owned, tmp_path)  # the system store knows no test CA
    mark = proxy.log_mark()
    door = tls_door(owned, tmp_path, proxy)
    assert registration_failure(door) == "tls_untrusted"
    assert "registered" not in door.names()
    assert proxy.log_lines(mark) == []  # no REGISTER ever reached it


def test_a_certificate_for_another_host(tmp_path, owned):
    other = Authority(tmp_path / "other")
    certificate = other.issue("elsewhere", addresses=["192.0.2.7"], hosts=["pbx.example.org"])
    _, proxy = tls_proxy(owned, tmp_path, certificate)
    door = tls_door(owned, tmp_path, proxy, tls_ca=str(other.certificate))
    assert registration_failure(door) == "tls_hostname"


def test_an_expired_certificate(tmp_path, owned):
    other = Authority(tmp_path / "other")
    certificate = other.issue_expired("expired", addresses=["127.0.0.1"])
    _, proxy = tls_proxy(owned, tmp_path, certificate)
    door = tls_door(owned, tmp_path, proxy, tls_ca=str(other.certificate))
    assert registration_failure(door) == "tls_expired"


def test_a_pinned_fingerprint_trusts_that_certificate_and_no_other(tmp_path, owned):
    authority, proxy = tls_proxy(owned, tmp_path)
    proxy_certificate = authority.folder / "proxy.pem"
    door = tls_door(owned, tmp_path, proxy, tls_fingerprint=fingerprint(proxy_certificate))
    door.wait_for("registered", timeout=15)  # no CA given: the pin alone
    door.stop()
    other = authority.issue("other", addresses=["127.0.0.1"])[0]
    door = tls_door(owned, tmp_path / "second", proxy, tls_fingerprint=fingerprint(other))
    assert registration_failure(door) == "tls_fingerprint"


def test_a_proxy_that_wants_a_client_certificate_gets_the_doors(tmp_path, owned):
    clients = Authority(tmp_path / "clients")
    authority, proxy = tls_proxy(owned, tmp_path, client_ca=clients.certificate)
    door = tls_door(owned, tmp_path, proxy, tls_ca=str(authority.certificate))
    assert registration_failure(door) == "tls_handshake"  # the proxy's alert: none given
    door.stop()
    cert, key = clients.issue("door", client=True)
    door = tls_door(
        owned,
        tmp_path / "second",
        proxy,
        tls_ca=str(authority.certificate),
        tls_cert=str(cert),
        tls_key=str(key),
    )
    door.wait_for("registered", timeout=15)
