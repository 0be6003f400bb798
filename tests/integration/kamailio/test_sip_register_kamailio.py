# Registration against a real Kamailio 5.6 registrar on 127.0.0.1 (CPython
# only). Each test starts its own Kamailio (support/kamailio/registrar.cfg: users in
# an htable, digest with qop=auth and nonce-count checks, bindings in
# memory), drives intercom.sip.register.Registration (in its session
# context) over a real UDP socket with sip_register_driver.
# RegistrationDriver, and reads the bindings back
# with `kamcmd ul.dump`. Kamailio is installed with apt-get when missing.

import os
import time

import pytest
from boards.runtime.udp import UdpSocket
from intercom.compat import ticks_diff
from intercom.config import validate
from intercom.sip.agent_settings import AgentSettings
from intercom.sip.context import SessionContext
from intercom.sip.register import Registration
from sip_register_driver import RegistrationDriver
from support.kamailio import REGISTRAR_CONFIG, Kamailio

pytestmark = pytest.mark.integration
PASSWORD = "door-secret-42"
NONCE_EXPIRE_S = 3


def all_contacts(kamailio):
    """Every contact URI registered, whoever the user."""
    return [contact for contacts in kamailio.bindings().values() for contact in contacts]


@pytest.fixture
def kamailio(tmp_path, owned):
    substitutions = {"PASSWORD": PASSWORD, "NONCE_EXPIRE": NONCE_EXPIRE_S}
    return owned(Kamailio(tmp_path, REGISTRAR_CONFIG, substitutions)).start()


def make_driver(owned, kamailio, password=PASSWORD, expires_s=60, contact=None, keepalive_ms=0):
    """A Registration for door@127.0.0.1 on its own socket, inside a driver
    that owned stops (closing the socket) after the test.

    `contact` replaces the socket's address in the Contact and the Via.
    """
    udp_socket = UdpSocket("127.0.0.1", 0)
    host, port = contact or udp_socket.local_address
    sip = {"server": "127.0.0.1:%d" % kamailio.port, "user": "door", "password": password}
    settings = AgentSettings(validate({"sip": sip, "call": {"targets": ["flat1"]}}), host, port)
    settings.expires_s = expires_s  # the tests go below the config's 60 s
    settings.keepalive_ms = keepalive_ms  # and below its 1 s steps
    context = SessionContext(settings, os.urandom)
    return owned(RegistrationDriver(Registration(context), context, udp_socket))


def registered_driver(owned, kamailio, **settings):
    """make_driver's driver (settings: its keywords), started, and the
    `registered` event it waited for."""
    driver = make_driver(owned, kamailio, **settings)
    driver.registration.start(driver.now())
    return driver, driver.wait_for_event("registered")


def test_register_with_the_right_password_then_unregister(kamailio, owned):
    driver, registered = registered_driver(owned, kamailio)
    registration = driver.registration
    contact = "sip:door@127.0.0.1:%d" % driver.socket.local_address[1]
    assert registered == {"event": "registered", "expires": 60, "contact": contact}
    assert [response.status for response in driver.responses] == [401, 200]
    assert driver.sent[0].headers.get("Authorization") is None
    assert "qop=auth" in driver.sent[1].headers.get("Authorization")
    assert all_contacts(kamailio) == [contact]

    registration.stop(driver.now())
    unregistered = driver.wait_for_event("unregistered")
    assert unregistered["status"] == 200
    assert driver.sent[-1].headers.get("Expires") == "0"
    assert all_contacts(kamailio) == []


def test_wrong_password_is_forbidden(kamailio, owned):
    driver = make_driver(owned, kamailio, password="not-the-password")
    driver.registration.start(driver.now())
    failed = driver.wait_for_event("registration_failed")
    assert failed["reason"] == "forbidden"
    assert failed["status"] == 403
    assert 30000 <= failed["retry_in_ms"] <= 60000
    assert [response.status for response in driver.responses] == [401, 403]
    assert len(driver.sent) == 2  # no third try before the back-off ends
    assert all_contacts(kamailio) == []


def test_refresh_before_expiry_and_after_the_nonce_went_stale(kamailio, owned):
    driver, _ = registered_driver(owned, kamailio, expires_s=60)
    registration = driver.registration
    # refresh at max(60 s / 2, 60 s - 32 s) = 30 s after the 200
    assert 29000 <= ticks_diff(registration.get_timer(), driver.now()) <= 30000
    driver.advance(30000)
    driver.wait_for_event("registered")
    refresh = driver.sent[-1]
    assert refresh.headers.get("CSeq") == "3 REGISTER"
    assert refresh.headers.get("Call-ID") == driver.sent[0].headers.get("Call-ID")
    assert "nc=00000002" in refresh.headers.get("Authorization")
    assert driver.responses[-1].status == 200  # Kamailio checks nonce-counts

    # Once Kamailio's nonce expired, the cached one earns stale=true and
    # exactly one retry with the new nonce.
    time.sleep(NONCE_EXPIRE_S + 1)
    driver.advance(30000)
    driver.wait_for_event("registered")
    statuses = [response.status for response in driver.responses]
    assert statuses == [401, 200, 200, 401, 200]
    assert "stale=true" in driver.responses[3].headers.get("WWW-Authenticate").lower()
    assert "nc=00000001" in driver.sent[-1].headers.get("Authorization")
    contact = "sip:door@127.0.0.1:%d" % driver.socket.local_address[1]
    assert all_contacts(kamailio) == [contact]
    registration.stop(driver.now())
    driver.wait_for_event("unregistered")


def test_nat_contact_is_corrected_from_received_and_rport(kamailio, owned):
    # The Via and Contact claim 192.0.2.1:5999 (TEST-NET, as a phone behind
    # NAT would claim its private address); Kamailio answers with received
    # and rport, and the Registration re-registers its real address.
    driver, registered = registered_driver(owned, kamailio, contact=("192.0.2.1", 5999))
    registration = driver.registration
    real = "sip:door@127.0.0.1:%d" % driver.socket.local_address[1]
    assert registered["contact"] == real
    assert registration.contact == real
    assert driver.sent[-1].headers.get_all("Contact") == [
        "<sip:door@192.0.2.1:5999>;expires=0",
        "<%s>" % real,
    ]
    assert all_contacts(kamailio) == [real]
    registration.stop(driver.now())
    driver.wait_for_event("unregistered")
    assert all_contacts(kamailio) == []


def test_keepalives_do_not_disturb_the_registrar(kamailio, owned):
    driver, _ = registered_driver(owned, kamailio, keepalive_ms=200)
    driver.run_until(lambda: driver.keepalives >= 3, timeout_s=5)
    assert driver.keepalives >= 3
    driver.registration.stop(driver.now())
    assert driver.wait_for_event("unregistered")["status"] == 200
    assert all_contacts(kamailio) == []
