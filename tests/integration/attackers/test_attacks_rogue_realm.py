# A rogue phone (SIPp UAS on 127.0.0.2, the door's call target) answers the
# door's INVITE with a digest challenge: the door process sends no
# credentials (only the configured server and realm ever get them), ACKs
# the 407, ends the call attempt and goes back to idle.

import pytest
from support.audio import voice_like, write_wav
from support.config import door_sections
from support.door import start_door
from support.kamailio import DOOR_PASSWORD
from support.sipp import Sipp

pytestmark = pytest.mark.integration

ROGUE_HOST = "127.0.0.2"


def test_a_challenge_from_a_rogue_target_gets_no_credentials(tmp_path, owned):
    rogue = owned(Sipp(tmp_path, "rogue", "rogue_challenges_407.xml", host=ROGUE_HOST))
    rogue.start()
    write_wav(tmp_path / "visitor.wav", voice_like(1.0))
    target = "sip:flat1@%s:%d" % (ROGUE_HOST, rogue.port)
    secrets = {"password": DOOR_PASSWORD, "realm": "127.0.0.1"}
    audio = {"input": "file:visitor.wav", "output": "file:door_heard.wav"}
    door = start_door(owned, tmp_path, door_sections([target], "Door F", sip=secrets, audio=audio))
    door.send("press")
    door.send("release")
    ended = door.wait_for("call_ended", timeout=15)
    assert ended["duration_ms"] == 0 and "answered" not in door.names(), door.seen
    assert rogue.wait() == 0, rogue.report()
    assert rogue.flow() == [("received", "INVITE"), ("sent", 407), ("received", "ACK")]
    received = "\n".join(m.text for m in rogue.messages() if m.direction == "received")
    assert "authorization:" not in received.lower()
    assert DOOR_PASSWORD not in received
    door.send("quit")
    assert door.wait() == 0
    assert DOOR_PASSWORD not in door.stderr() + repr(door.seen)
