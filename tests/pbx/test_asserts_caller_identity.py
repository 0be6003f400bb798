# A proxy that asserts identities (RFC 3325): the building proxy we ship,
# on Kamailio and on OpenSIPS, passes on the user it authenticated as
# P-Asserted-Identity and removes any the caller sent. A door with
# sip.asserted_identity = true knows the caller by that alone: flat1,
# claiming to be flat2 in its own P-Asserted-Identity, is flat1 to the
# door, answered where flat1 may call and refused where only flat2 may.

import pathlib

import pytest
from support.door import start_registered_door
from support.sipp import Sipp

pytestmark = pytest.mark.integration

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
PASSWORDS = {"door1": "pw-door1-3", "flat1": "pw-flat1-5", "flat2": "pw-flat2-7"}
USERS = {name: (password, name[:4]) for name, password in PASSWORDS.items()}


def _incoming_from_flat1_claiming_flat2(tmp_path, owned, building_proxy, answer_from, scenario):
    """The door behind the proxy, answering answer_from, called by flat1
    claiming to be flat2: the door and its incoming_call event."""
    proxy = owned(building_proxy(tmp_path, USERS)).start()
    door = start_registered_door(
        owned,
        tmp_path / "door1",
        "Door 1",
        "door1",
        PASSWORDS["door1"],
        proxy.port,
        ["flat1"],
        sip={"asserted_identity": True},
        call={"answer_from": answer_from},
    )
    caller = Sipp(
        tmp_path,
        "flat1",
        SCENARIOS / scenario,
        remote=proxy.address,
        options=["-s", "flat1", "-au", "flat1", "-ap", PASSWORDS["flat1"]],
        fill={"DOOR_USER": "door1", "CLAIMED_USER": "flat2"},
    )
    owned(caller).start()
    assert caller.wait() == 0, caller.report()
    return door, door.wait_for("incoming_call", timeout=10)


def test_the_door_answers_the_caller_the_proxy_asserts(tmp_path, owned, building_proxy):
    door, incoming = _incoming_from_flat1_claiming_flat2(
        tmp_path, owned, building_proxy, ["flat1"], "flat_calls_door_claiming.xml"
    )
    assert incoming["accepted"] is True, incoming
    door.wait_for("call_ended", timeout=10)


def test_a_claimed_identity_does_not_get_the_caller_in(tmp_path, owned, building_proxy):
    _, incoming = _incoming_from_flat1_claiming_flat2(
        tmp_path, owned, building_proxy, ["flat2"], "flat_calls_door_claiming_refused.xml"
    )
    assert incoming["accepted"] is False, incoming
