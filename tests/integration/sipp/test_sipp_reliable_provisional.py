# Reliable provisional responses (RFC 3262, 100rel) on the wire, SIPp as
# the phone or PBX, a sim door peer-to-peer on 127.0.0.1:
#   - a phone that requires 100rel calls the door: the door's 180 is
#     reliable, the phone's PRACK gets 200, the door answers;
#   - a flat's phone answers the door with a reliable 183 carrying its SDP:
#     the door PRACKs it once, has early media, and the call is answered.

import pathlib

import pytest
from support.door import start_door_answering
from support.sipp import door_calling_sipp_flat, sipp_calling_door

pytestmark = pytest.mark.integration
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
FLAT1 = "sip:flat1@127.0.0.1"


def test_a_phone_that_requires_100rel_gets_a_reliable_180_and_the_call(tmp_path, owned):
    door = start_door_answering(owned, tmp_path / "door", FLAT1)
    phone = sipp_calling_door(
        owned,
        tmp_path,
        "phone",
        SCENARIOS / "phone_requires_100rel.xml",
        door,
        options=["-mi", "127.0.0.1"],
        fill={"PAUSE_MS": 500},
    )
    assert door.wait_for("incoming_call", timeout=10)["accepted"] is True
    assert phone.wait() == 0, phone.report()  # Require: 100rel and RSeq held
    assert door.wait_for("call_ended", timeout=10)["reason"] == "remote_hangup"
    received = [m for m in phone.messages() if m.direction == "received"]
    prack_ok = [m for m in received if m.status == 200 and "PRACK" in m.header("CSeq")]
    assert len(prack_ok) == 1
    rings = [m for m in received if m.status == 180]
    assert rings and all(m.header("RSeq") == rings[0].header("RSeq") for m in rings)


def test_the_door_pracks_a_flats_reliable_183_and_hears_its_early_media(tmp_path, owned):
    scenario = SCENARIOS / "flat_sends_reliable_183.xml"
    flat, flat_rtp, door = door_calling_sipp_flat(owned, tmp_path, scenario)
    flat_rtp.start(("127.0.0.1", door.rtp_port))
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10)
    door.send("hangup")
    assert flat.wait() == 0, flat.report()  # the PRACK's RAck named RSeq 4711
    assert door.wait_for("call_ended", timeout=10)["reason"] == "local_hangup"
    pracks = [m for m in flat.messages() if m.method == "PRACK"]
    assert len(pracks) == 1
    assert pracks[0].header("RAck") == "4711 1 INVITE"
