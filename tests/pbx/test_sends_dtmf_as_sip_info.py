# A FRITZ!Box whose answer (or offer) has no telephone-event sends the
# FRITZ!Fon's keys as SIP INFO: application/dtmf-relay ("Signal=1") or
# application/dtmf ("1"). In both call directions the "open door" key,
# which sends the code the box holds for the door, opens it.

import pytest
from support.door import DOOR_CODE
from support.fritzbox import FritzBox, fritzbox_door, fritzfon_calls_the_door

pytestmark = pytest.mark.integration

CONTENT_TYPES = ["application/dtmf-relay", "application/dtmf"]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_the_door_calls_and_the_fritzfon_opens_by_info(tmp_path, owned, content_type):
    box = owned(FritzBox(answer_dtmf_pt=None)).start()
    door = fritzbox_door(owned, tmp_path / "door", box, door={"hangup_after_open": 1})
    door.send("press")
    door.wait_for("answered", timeout=10)
    call_id = box.requests("INVITE")[-1][0].headers.get("Call-ID")
    box.info_dtmf(call_id, DOOR_CODE, content_type)
    opened = door.wait_for("door_opened", timeout=10)
    assert opened["source"] == "info"
    assert opened["caller"] == "**610@fritz.box"


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_the_fritzfon_calls_the_door_and_opens_by_info(tmp_path, owned, content_type):
    box = owned(FritzBox()).start()
    door, call_id, _ = fritzfon_calls_the_door(owned, tmp_path / "door", box, None)
    box.info_dtmf(call_id, DOOR_CODE, content_type)
    opened = door.wait_for("door_opened", timeout=10)
    assert opened["caller"] == "**610@fritz.box"


def test_a_phone_not_allowed_to_open_gets_nothing_by_info(tmp_path, owned):
    box = owned(FritzBox()).start()
    door = fritzbox_door(
        owned,
        tmp_path / "door",
        box,
        call={"answer_from": ["**610", "**620"]},
        door={"open_from": ["**610"]},
    )
    call_id = box.call_door("**620", sdp_dtmf_pt=None)
    box.acknowledge(call_id)
    door.wait_for("incoming_call", accepted=True)
    box.info_dtmf(call_id, DOOR_CODE)
    door.wait_count("dtmf", len(DOOR_CODE), timeout=10)
    assert "door_opened" not in door.names()
