# A FRITZ!Box takes an authenticated REGISTER only with the Call-ID and
# From tag of the REGISTER it challenged (RFC 3261 10.2.4: one Call-ID for
# all registrations of a UA), and drops one that changed them. The box
# grants 2 s here, so the door refreshes within a second, with the same
# Call-ID and From tag and a CSeq one higher each time.

import pytest
from intercom.sip.message import parse_cseq, parse_name_addr
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def test_refreshes_keep_call_id_and_from_tag(tmp_path, owned):
    box = owned(FritzBox(granted_expires=2)).start()
    door = fritzbox_door(owned, tmp_path / "door", box)
    door.wait_count("registered", 3, timeout=10)
    registers = [request for request, _ in box.requests("REGISTER")]
    assert len({request.headers.get("Call-ID") for request in registers}) == 1
    tags = {parse_name_addr(request.headers.get("From")).tag for request in registers}
    assert len(tags) == 1 and None not in tags
    numbers = [parse_cseq(request.headers.get("CSeq"))[0] for request in registers]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert box.dropped == []
    assert "registration_failed" not in door.names()
