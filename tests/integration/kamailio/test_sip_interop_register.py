# The door registers with a real Kamailio (support/kamailio/proxy.cfg: digest with
# qop=auth, users in an htable). What Kamailio decided is read from its own
# log lines and from `kamcmd ul.dump`, not only from the door's events.

import pytest
from support.kamailio import DOOR_PASSWORD

pytestmark = pytest.mark.integration


def statuses(door):
    return [int(text.split(" ")[1]) for text in door.received_text() if text.startswith("SIP/2.0")]


def registers(door):
    return [text for text in door.sent_text() if text.startswith("REGISTER ")]


def door_settings(kamailio, **overrides):
    settings = {
        "user": "door",
        "server": "127.0.0.1:%d" % kamailio.port,
        "password": DOOR_PASSWORD,
        "realm": "127.0.0.1",
    }
    settings.update(overrides)
    return settings


def test_wrong_password_is_refused(kamailio, door_factory):
    door = door_factory(**door_settings(kamailio, password="not-the-password"))
    mark = kamailio.log_mark()
    door.start()
    failed = door.wait_for("registration_failed")
    assert failed["status"] == 403
    assert failed["reason"] == "forbidden"
    assert failed["retry_in_ms"] >= 1000
    door.run_for(0.5)  # no third try right away: the door backs off
    assert statuses(door) == [401, 403]
    assert len(registers(door)) == 2
    assert door.find("registered") is None
    log = kamailio.log_lines(mark)
    assert "REGISTER sip:door@127.0.0.1 challenged" in log
    refused = [line for line in log if "user=door" in line]
    assert len(refused) == 1 and refused[0].endswith("auth=-2"), log  # -2: wrong password
    assert "door" not in kamailio.bindings()


def test_right_password_registers_the_door_contact(kamailio, door_factory):
    door = door_factory(**door_settings(kamailio, expires_s=60))
    mark = kamailio.log_mark()
    door.start()
    registered = door.wait_for("registered")
    contact = "sip:door@127.0.0.1:%d" % door.port
    assert registered == {"event": "registered", "expires": 60, "contact": contact}
    assert statuses(door) == [401, 200]
    sent = registers(door)
    assert "Authorization:" not in sent[0]
    assert 'realm="127.0.0.1"' in sent[1] and "qop=auth" in sent[1]
    assert kamailio.bindings()["door"] == [contact]
    log = kamailio.log_lines(mark)
    assert "REGISTER sip:door@127.0.0.1 user=door contact=<%s> expires=60 auth=1" % contact in log

    door.stop()
    door.run_until(lambda: door.find("unregistered") is not None, 5)
    assert door.find("unregistered")["status"] == 200
    assert "Expires: 0" in registers(door)[-1]
    assert "door" not in kamailio.bindings()


def test_short_expiry_is_refreshed(kamailio, door_factory):
    door = door_factory(**door_settings(kamailio, expires_s=4))
    mark = kamailio.log_mark()
    door.start()
    door.wait_for("registered")
    # refresh at max(E/2, E - 32 s) = 2 s after the 200
    assert door.run_until(lambda: door.names().count("registered") >= 2, 4)
    contact = "sip:door@127.0.0.1:%d" % door.port
    assert [e["expires"] for e in door.events if e["event"] == "registered"] == [4, 4]
    # The refresh reuses the Call-ID, counts CSeq up and answers the cached
    # challenge with the next nonce-count, which Kamailio checks and accepts.
    sent = registers(door)
    assert len(sent) == 3
    assert "CSeq: 3 REGISTER" in sent[2]
    assert "nc=00000002" in sent[2]
    call_ids = {line for text in sent for line in text.split("\r\n") if line.startswith("Call-ID:")}
    assert len(call_ids) == 1
    assert statuses(door) == [401, 200, 200]
    accepted = [line for line in kamailio.log_lines(mark) if line.endswith("auth=1")]
    assert (
        accepted
        == ["REGISTER sip:door@127.0.0.1 user=door contact=<%s> expires=4 auth=1" % contact] * 2
    )
    assert kamailio.bindings()["door"] == [contact]
