# The door calls the flat through a real Kamailio (registrar + proxy, digest
# for INVITE) and the flat is a real SIPp UAS that registered its contact
# with its own digest REGISTER (support/scenarios/flat_register.xml) just
# before.

import pytest

pytestmark = pytest.mark.integration


def requests_sent(door, method):
    return [text for text in door.sent_text() if text.startswith(method + " ")]


def test_call_answered_then_hung_up_by_the_door(kamailio, registered_door, registered_flat):
    flat = registered_flat("flat_answers", "flat_answers.xml")
    door = registered_door()
    mark = kamailio.log_mark()

    call_id = door.call("flat1")
    ringing = door.wait_for("ringing", call_id=call_id)
    answered = door.wait_for("answered", call_id=call_id)
    assert door.events.index(ringing) < door.events.index(answered)
    assert answered["media"]["codec"] == "PCMU"
    assert answered["media"]["payload_type"] == 0
    assert answered["media"]["remote_host"] == "127.0.0.1"

    door.hangup(call_id)
    ended = door.wait_for("call_ended", call_id=call_id)
    assert ended["reason"] == "local_hangup"
    assert flat.wait() == 0, flat.report()

    # The 407 was answered exactly once: two INVITEs, the second with
    # qop=auth digest credentials for the proxy's realm.
    invites = requests_sent(door, "INVITE")
    assert len(invites) == 2
    assert "Proxy-Authorization" not in invites[0]
    assert 'realm="127.0.0.1"' in invites[1] and "qop=auth" in invites[1]
    log = kamailio.log_lines(mark)
    assert sum(line.endswith("challenged") and "INVITE" in line for line in log) == 1
    assert any("user=door auth=1" in line for line in log), log
    assert "INVITE relayed to sip:flat1@127.0.0.1:%d" % flat.port in log
    assert "reply 200 OK for INVITE from 127.0.0.1:%d" % flat.port in log
    assert "reply 200 OK for BYE from 127.0.0.1:%d" % flat.port in log

    # What the flat saw: INVITE without our credentials (the proxy consumed
    # them), 180, 200, ACK, then our BYE through the proxy, answered 200.
    assert flat.flow_past_trying() == [
        ("received", "INVITE"),
        ("sent", 180),
        ("sent", 200),
        ("received", "ACK"),
        ("received", "BYE"),
        ("sent", 200),
    ]
    messages = flat.messages()
    assert messages[0].header("Proxy-Authorization") is None
    assert messages[0].header("Record-Route") is not None
    bye = [m for m in messages if m.method == "BYE"][0]
    assert bye.header("Call-ID") == call_id


def test_ring_timeout_cancels_the_call(kamailio, registered_door, registered_flat):
    flat = registered_flat("flat_never_answers", "flat_never_answers.xml")
    door = registered_door()
    mark = kamailio.log_mark()

    call_id = door.call("flat1", ring_timeout_ms=2000)
    door.wait_for("ringing", call_id=call_id)
    failed = door.wait_for("call_failed", call_id=call_id, timeout_s=8)
    assert failed["reason"] == "timeout"
    assert failed["status"] == 487
    assert flat.wait() == 0, flat.report()

    assert len(requests_sent(door, "CANCEL")) == 1
    acks = requests_sent(door, "ACK")
    assert len(acks) == 2  # for the 407 and for the 487, each hop by hop
    log = kamailio.log_lines(mark)
    assert "CANCEL sip:flat1@127.0.0.1 from 127.0.0.1:%d" % door.port in log
    assert "reply 487 Request Terminated for INVITE from 127.0.0.1:%d" % flat.port in log

    assert flat.flow_past_trying() == [
        ("received", "INVITE"),
        ("sent", 180),
        ("received", "CANCEL"),
        ("sent", 200),
        ("sent", 487),
        ("received", "ACK"),
    ]


def test_flat_sends_dtmf_and_hangs_up(kamailio, registered_door, registered_flat):
    flat = registered_flat("flat_dtmf", "flat_answers_sends_dtmf_hangs_up.xml")
    door = registered_door()
    mark = kamailio.log_mark()

    call_id = door.call("flat1")
    ended = door.wait_for("call_ended", call_id=call_id)
    assert ended["reason"] == "remote_hangup"
    assert flat.wait() == 0, flat.report()
    digits = [e["digit"] for e in door.events if e["event"] == "dtmf"]
    assert digits == ["4", "#"]
    assert all(e["source"] == "info" for e in door.events if e["event"] == "dtmf")

    # The flat's INFOs and BYE came along the recorded route and each got
    # the door's 200, relayed back by Kamailio.
    assert flat.flow_past_trying() == [
        ("received", "INVITE"),
        ("sent", 180),
        ("sent", 200),
        ("received", "ACK"),
        ("sent", "INFO"),
        ("received", 200),
        ("sent", "INFO"),
        ("received", 200),
        ("sent", "BYE"),
        ("received", 200),
    ]
    log = kamailio.log_lines(mark)
    assert (
        sum(line.startswith("in-dialog INFO sip:door@127.0.0.1:%d" % door.port) for line in log)
        == 2
    )
    assert "reply 200 OK for BYE from 127.0.0.1:%d" % door.port in log


def test_call_to_an_unregistered_flat_fails_not_found(kamailio, registered_door):
    door = registered_door()
    mark = kamailio.log_mark()
    call_id = door.call("flat2")  # flat2 never registered in this module
    failed = door.wait_for("call_failed", call_id=call_id)
    assert failed["reason"] == "not_found"
    assert failed["status"] == 404
    assert "INVITE sip:flat2@127.0.0.1 not registered" in kamailio.log_lines(mark)


def test_flat_puts_the_door_on_hold(kamailio, registered_door, registered_flat):
    flat = registered_flat("flat_hold", "flat_answers_holds_hangs_up.xml")
    door = registered_door()

    call_id = door.call("flat1")
    ended = door.wait_for("call_ended", call_id=call_id)
    assert ended["reason"] == "remote_hangup"
    assert flat.wait() == 0, flat.report()  # SIPp checked a=recvonly in our answer
    updated = door.find("media_updated", call_id=call_id)
    assert updated["media"]["direction"] == "recvonly"
    assert flat.flow_past_trying()[3:] == [
        ("received", "ACK"),
        ("sent", "INVITE"),
        ("received", 200),
        ("sent", "ACK"),
        ("sent", "BYE"),
        ("received", 200),
    ]
