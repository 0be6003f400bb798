# A rogue phone (SIPp UAS on 127.0.0.2, the door's call target) answers the
# door's INVITE with a digest challenge: the door process sends no
# credentials (only the configured server and realm ever get them), ACKs
# the 407, ends the call attempt and goes back to idle.

from faults_rig import door_sections, free_port, free_rtp_pair, speech_like, start_door, write_wav
from sip_interop_peers import DOOR_PASSWORD, Sipp

ROGUE_HOST = "127.0.0.2"


def test_a_challenge_from_a_rogue_target_gets_no_credentials(tmp_path, rig):
    port = free_port(ROGUE_HOST)
    rogue = rig.peer(
        Sipp(tmp_path, "rogue", "rogue_challenges_407.xml", port=port, host=ROGUE_HOST)
    )
    rogue.start().wait_listening()
    write_wav(tmp_path / "visitor.wav", speech_like(1.0))
    target = "sip:flat1@%s:%d" % (ROGUE_HOST, port)
    secrets = {"password": DOOR_PASSWORD, "realm": "127.0.0.1"}
    door = rig.door(
        start_door(tmp_path, door_sections(free_port(), free_rtp_pair(), [target], sip=secrets))
    )
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
