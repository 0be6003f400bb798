# A FRITZ!Box answers the door's offer of telephone-event (RFC 4733) on
# another payload type than the one offered (100 here), and its phones
# send digits without ever setting the End bit, every packet with
# duration 0. The FRITZ!Fon's "open door" key sends the code the box is
# configured with (the door's code): the door opens; a wrong code does not.
# The same digits in a call from the FRITZ!Fon to the door open it too.

import pytest
from intercom.sdp import parse_sdp
from support.audio import noise_syllables
from support.door import DOOR_CODE
from support.flat_rtp import FlatRtp
from support.fritzbox import FritzBox, fritzbox_door, fritzfon_calls_the_door

pytestmark = pytest.mark.integration


def _call_with_digits(tmp_path, owned, digits):
    media = owned(FlatRtp(noise_syllables(2, 4), dtmf_payload_type=100, zero_durations=True))
    box = owned(FritzBox(answer_dtmf_pt=100, media=media)).start()
    door = fritzbox_door(owned, tmp_path / "door", box, door={"hangup_after_open": 1})
    door.send("press")
    door.wait_for("answered", timeout=10)
    offer = parse_sdp(box.requests("INVITE")[-1][0].body).media[0]
    offered = [pt for pt, (name, _) in offer.rtpmap.items() if name.lower() == "telephone-event"]
    assert offered and "100" not in offered, offered  # the box answers another one
    media.start(("127.0.0.1", door.rtp_port))
    media.dtmf(digits)
    return door, box


def test_the_open_door_key_opens_with_the_code_on_the_answered_payload_type(tmp_path, owned):
    door, _ = _call_with_digits(tmp_path, owned, DOOR_CODE)
    opened = door.wait_for("door_opened", timeout=10)
    assert opened["caller"] == "**610@fritz.box"
    assert "code_rejected" not in door.names()


def test_a_wrong_code_on_that_payload_type_is_refused(tmp_path, owned):
    door, _ = _call_with_digits(tmp_path, owned, "9999")
    door.wait_for("code_rejected", timeout=10)
    assert "door_opened" not in door.names()


def test_the_fritzfon_calls_the_door_and_opens_with_the_same_digits(tmp_path, owned):
    # The other direction: the box offers telephone-event on 100, the door
    # answers on it, the FRITZ!Fon's key sends the code, no End bits.
    media = owned(FlatRtp(noise_syllables(2, 4), dtmf_payload_type=100, zero_durations=True))
    box = owned(FritzBox(media=media)).start()
    door, _, answer = fritzfon_calls_the_door(owned, tmp_path / "door", box, 100)
    answered_types = parse_sdp(answer.body).media[0].rtpmap
    assert answered_types.get("100", ("",))[0].lower() == "telephone-event"
    media.start(("127.0.0.1", door.rtp_port))
    media.dtmf(DOOR_CODE)
    opened = door.wait_for("door_opened", timeout=10)
    assert opened["caller"] == "**610@fritz.box"
