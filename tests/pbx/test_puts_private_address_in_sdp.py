# A FRITZ!Box's SDP names its private LAN address (here 127.0.0.9, where
# nothing listens) while its RTP comes from another address and port (the
# FRITZ!Box as a NAT router, its media relay). With audio.symmetric_rtp
# the door takes that stream, since it comes from the SIP peer's own host
# (the hardening rules: two packets in sequence with one SSRC), sends its
# audio there, and the FRITZ!Fon's code opens. Without it (the default)
# nothing from there is played or counts as a digit.

import pytest
from support.audio import noise_syllables
from support.door import DOOR_CODE
from support.flat_rtp import FlatRtp
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def _call(tmp_path, owned, **audio):
    media = owned(FlatRtp(noise_syllables(2, 4), dtmf_payload_type=100))
    box = owned(FritzBox(answer_dtmf_pt=100, media=media, sdp_host="127.0.0.9")).start()
    door = fritzbox_door(
        owned,
        tmp_path / "door",
        box,
        audio={"input": "tone", **audio},
        door={"hangup_after_open": 1},
    )
    door.send("press")
    door.wait_for("answered", timeout=10)
    media.start(("127.0.0.1", door.rtp_port))
    return door, media


def test_with_symmetric_rtp_the_door_follows_the_box_and_opens(tmp_path, owned):
    door, media = _call(tmp_path, owned, symmetric_rtp=True)
    media.dtmf(DOOR_CODE)
    door.wait_for("door_opened", timeout=10)
    assert any(payload_type == 0 for payload_type, _ in media.received)  # the door's audio


def test_without_it_the_stream_from_elsewhere_is_ignored(tmp_path, owned):
    door, media = _call(tmp_path, owned)
    media.dtmf(DOOR_CODE)
    door.send("hangup")
    door.wait_for("call_ended", timeout=10)
    assert "door_opened" not in door.names() and "dtmf" not in door.names()
    assert media.received == []
