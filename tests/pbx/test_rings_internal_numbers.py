# A FRITZ!Box reaches its own phones by internal numbers: **9 rings every
# phone, **610 and **620 are DECT/IP phones, 11 an analogue port. The door
# calls them as sip:NUMBER@fritz.box through the box; a '#' (the box's
# end-of-dialling key) is percent-encoded in the Request-URI (RFC 3261
# 19.1.2: '#' is not allowed in a user part).

import pytest
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def test_the_door_rings_internal_numbers_through_the_box(tmp_path, owned):
    box = owned(FritzBox(answer="never")).start()
    targets = ["**9", "**610", "**620", "11", "**611#"]
    door = fritzbox_door(owned, tmp_path / "door", box, targets=targets, call={"mode": "parallel"})
    door.send("press")
    box.wait(lambda: len({r.uri for r, _ in box.requests("INVITE")}) >= 5, what="five INVITEs")
    uris = sorted({request.uri for request, _ in box.requests("INVITE")})
    assert uris == sorted(
        [
            "sip:**9@fritz.box",
            "sip:**610@fritz.box",
            "sip:**620@fritz.box",
            "sip:11@fritz.box",
            "sip:**611%23@fritz.box",
        ]
    )
    door.send("hangup")
    box.wait(lambda: len(box.requests("CANCEL")) >= 5, what="five CANCELs")
