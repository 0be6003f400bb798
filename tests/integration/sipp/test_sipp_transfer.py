# Call transfer with SIPp phones and a peer-to-peer sim door (RFC 3515,
# RFC 3891): the flat the door called answers and transfers it, blind and
# attended; the door answers 202, NOTIFYs 100 then 200 (sipfrag), calls
# the target with Referred-By (and the Replaces of an attended transfer)
# and leaves the first flat. Refusals: a target outside call.transfer_to,
# an embedded Route, another From tag, no Refer-To. A phone that takes
# the door's call over by an INVITE with Replaces gets it only when it is
# allowed.

import pathlib
import urllib.parse

import pytest
from support.door import start_peer_door
from support.sipp import Sipp, sipp_calling_door

pytestmark = pytest.mark.integration
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"


def uas(owned, tmp_path, name, scenario, **fill):
    """A started SIPp UAS of scenario (this folder's scenarios/, else
    support/scenarios/: the transfer scenarios the Pico's test shares)."""
    if (SCENARIOS / scenario).exists():
        scenario = SCENARIOS / scenario
    peer = owned(Sipp(tmp_path, name, scenario, options=["-mi", "127.0.0.1"], fill=fill))
    return peer.start()


def uri(user, sipp):
    return "sip:%s@127.0.0.1:%d" % (user, sipp.port)


def received(sipp, method):
    return [m for m in sipp.messages() if m.direction == "received" and m.method == method]


def transfer_door(owned, tmp_path, flat1, transfer_to):
    return start_peer_door(
        owned,
        tmp_path / "door",
        [uri("flat", flat1)],
        call={"transfer_to": transfer_to, "ring_timeout": 10},
    )


def test_interop_a_blind_transfer_notifies_and_moves_the_door_to_the_target(tmp_path, owned):
    flat2 = uas(
        owned,
        tmp_path,
        "flat2",
        "transfer_target_answers.xml",
        EXPECT_HEADER="Referred-By",
        EXPECT_REGEXP="sip:flat@127.0.0.1",
    )
    flat1 = uas(owned, tmp_path, "flat1", "flat_transfers_door.xml", REFER_TO=uri("flat2", flat2))
    door = transfer_door(owned, tmp_path, flat1, [uri("flat2", flat2)])
    door.send("press")
    door.wait_for("answered", timeout=10)
    requested = door.wait_for("transfer_requested", timeout=10)
    assert requested["accepted"] is True and requested["attended"] is False, requested
    transferred = door.wait_for("transferred", timeout=10)
    assert transferred["target"] == uri("flat2", flat2)
    assert flat1.wait() == 0, flat1.report()  # 202, NOTIFY 100, NOTIFY 200, BYE
    door.send("hangup")
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "local_hangup", ended
    assert flat2.wait() == 0, flat2.report()  # it got the INVITE and the BYE
    invite = received(flat2, "INVITE")[0]
    assert invite.header("Replaces") is None
    assert [e["event"] for e in door.seen].count("call_ended") == 1, door.seen


def test_interop_an_attended_transfer_carries_replaces_to_the_target(tmp_path, owned):
    replaces = "consult-1@127.0.0.1;to-tag=flat2tag;from-tag=flat1tag"
    flat2 = uas(
        owned,
        tmp_path,
        "flat2",
        "transfer_target_answers.xml",
        EXPECT_HEADER="Replaces",
        EXPECT_REGEXP="^ *consult-1@127.0.0.1;to-tag=flat2tag;from-tag=flat1tag$",
    )
    refer_to = "%s?Replaces=%s" % (uri("flat2", flat2), urllib.parse.quote(replaces, safe=""))
    flat1 = uas(owned, tmp_path, "flat1", "flat_transfers_door.xml", REFER_TO=refer_to)
    door = transfer_door(owned, tmp_path, flat1, [uri("flat2", flat2)])
    door.send("press")
    requested = door.wait_for("transfer_requested", timeout=10)
    assert requested["attended"] is True and requested["target"] == uri("flat2", flat2)
    door.wait_for("transferred", timeout=10)
    assert flat1.wait() == 0, flat1.report()
    door.send("hangup")
    door.wait_for("call_ended", timeout=10)
    assert flat2.wait() == 0, flat2.report()


def test_interop_transfers_the_door_must_refuse_are_refused_and_the_call_goes_on(tmp_path, owned):
    elsewhere = "sip:flat2@127.0.0.1:5999"
    flat1 = uas(owned, tmp_path, "flat1", "flat_refers_refused.xml", REFER_TO=elsewhere)
    door = transfer_door(owned, tmp_path, flat1, [elsewhere])
    door.send("press")
    door.wait_for("answered", timeout=10)
    assert flat1.wait() == 0, flat1.report()  # 403, 403, 481, 400, then its BYE
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "remote_hangup", ended
    requested = [e for e in door.seen if e["event"] == "transfer_requested"]
    # only the first REFER reached the door's policy; the others the SIP layer refused
    assert len(requested) == 1, door.seen
    assert requested[0]["accepted"] is False and requested[0]["reason"] == "target_not_allowed"
    started = [e["target"] for e in door.seen if e["event"] == "call_started"]
    assert started == [uri("flat", flat1)], door.seen  # nobody else was called
    assert "transferred" not in door.names()


def door_dialog(flat1):
    """(Call-ID, the door's tag, the flat's tag) of the door's call with flat1."""
    invite = received(flat1, "INVITE")[0]
    door_tag = invite.header("From").split("tag=")[1]
    ok = [m for m in flat1.messages() if m.direction == "sent" and m.status == 200][0]
    flat_tag = ok.header("To").split("tag=")[1]
    return invite.header("Call-ID"), door_tag, flat_tag


@pytest.mark.parametrize("user, accepted", [("flat2", True), ("stranger", False)])
def test_interop_an_invite_with_replaces_takes_the_call_only_from_an_allowed_party(
    tmp_path, owned, user, accepted
):
    flat1 = owned(Sipp(tmp_path, "flat1", "flat_answers.xml", options=["-mi", "127.0.0.1"]))
    flat1.start()
    door = transfer_door(owned, tmp_path, flat1, ["sip:flat2@127.0.0.1"])
    door.send("press")
    door.wait_for("answered", timeout=10)
    call_id, door_tag, flat_tag = door_dialog(flat1)
    replaces = "%s;to-tag=%s;from-tag=%s" % (call_id, door_tag, flat_tag)
    phone = sipp_calling_door(
        owned,
        tmp_path,
        "phone",
        SCENARIOS / "flat_replaces_door_call.xml",
        door,
        options=["-mi", "127.0.0.1"],
        fill={"USER": user, "REPLACES": replaces},
    )
    incoming = door.wait_for("incoming_call", timeout=10)
    assert incoming["accepted"] is accepted and incoming["replaces"] is True, incoming
    assert phone.wait() == 0, phone.report()
    statuses = [m.status for m in phone.messages() if m.direction == "received" and m.status]
    if accepted:
        assert 200 in statuses and 403 not in statuses, statuses
        assert door.wait_for("transferred", timeout=10)["attended"] is True
        assert flat1.wait() == 0, flat1.report()  # the door BYEd the replaced call
        ended = door.wait_for("call_ended", timeout=10)  # the phone's BYE
        assert ended["reason"] == "remote_hangup", ended
    else:
        assert 403 in statuses and 200 not in statuses, statuses
        assert "transferred" not in door.names()
        door.send("hangup")
        door.wait_for("call_ended", timeout=10)
        assert flat1.wait() == 0, flat1.report()
