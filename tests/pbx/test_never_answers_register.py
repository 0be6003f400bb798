# A registrar that never answers (a FRITZ!Box whose IP-phone account was
# deleted, or the wrong address) is reported as registration_failed with
# reason no_response, distinct from a wrong password (403, "forbidden")
# and from 423 Interval Too Brief, which the door answers by asking the
# box's Min-Expires.

import pytest
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def test_a_silent_registrar_is_no_response(tmp_path, owned):
    box = owned(FritzBox(registrar="silent")).start()
    door = fritzbox_door(owned, tmp_path / "door", box, wait_registered=False)
    failed = door.wait_for("registration_failed", timeout=60)
    assert failed["reason"] == "no_response"
    assert len(box.requests("REGISTER")) >= 1


def test_a_wrong_password_is_forbidden(tmp_path, owned):
    box = owned(FritzBox()).start()
    door = fritzbox_door(
        owned, tmp_path / "door", box, wait_registered=False, sip={"password": "wrong"}
    )
    failed = door.wait_for("registration_failed", timeout=10)
    assert failed["reason"] == "forbidden"


def test_423_asks_the_box_minimum_and_registers(tmp_path, owned):
    box = owned(FritzBox(min_expires=900)).start()
    door = fritzbox_door(owned, tmp_path / "door", box, sip={"expires": 300})
    assert "registration_failed" not in door.names()
    registers = [request for request, _ in box.requests("REGISTER")]
    assert registers[-1].headers.get("Expires") == "900"
