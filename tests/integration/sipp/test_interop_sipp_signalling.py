# Forged and stray signalling against a sim door, with SIPp as the peer:
#   - a forged INVITE (the flat's address and identity, c= an attacker's
#     port, never ACKed) is answered but gets no audio and no code attempt;
#   - a phone that answers with a 200 crossing the door's CANCEL before any
#     1xx gets its ACK and a BYE, and the door takes the next call;
#   - with sip.asserted_identity, the door knows callers by the
#     P-Asserted-Identity of its server (RFC 3325), not by From.

import pathlib
import time

import pytest
from support.audio import noise_syllables
from support.door import DOOR_CODE, start_door, start_peer_door
from support.flat_rtp import FlatRtp
from support.ports import free_port
from support.sipp import Sipp, sipp_calling_door

pytestmark = pytest.mark.integration
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
FLAT1 = "sip:flat1@127.0.0.1"


def answering_door(tmp_path, owned, targets, **extra):
    """A peer-to-peer door that answers flat1 at 127.0.0.1 and lets it open."""
    sections = {
        "call": {"answer_from": [FLAT1], "ring_timeout": 5},
        "door": {"open_from": [FLAT1]},
        "device": {"show_dtmf_digits": True},
    }
    for name, table in extra.items():
        sections.setdefault(name, {}).update(table)
    return start_peer_door(owned, tmp_path / "door", targets, **sections)


def test_interop_a_forged_invite_gets_neither_the_microphone_nor_a_code_attempt(tmp_path, owned):
    door = answering_door(tmp_path, owned, ["sip:flat1@127.0.0.1:%d" % free_port()])
    attacker_rtp = owned(FlatRtp(noise_syllables(8, 5), 114))
    attacker_rtp.start(("127.0.0.1", door.rtp_port))
    fill = {"MEDIA_PORT": attacker_rtp.port}
    forger = sipp_calling_door(
        owned, tmp_path, "forger", SCENARIOS / "forger_invites_door.xml", door, fill=fill
    )
    incoming = door.wait_for("incoming_call", timeout=10)
    assert incoming["accepted"] is True  # From and source are the flat's: it rings
    time.sleep(0.5)
    attacker_rtp.dtmf(DOOR_CODE)
    assert forger.wait() == 0, forger.report()
    time.sleep(0.3)
    door.send("quit")
    door.drain(timeout=10)  # every event the door printed
    print("forged INVITE: door sent %d RTP packets to the attacker" % len(attacker_rtp.received))
    assert attacker_rtp.received == []  # not one packet of the door's microphone
    names = door.names()
    for refused in ("answered", "dtmf", "door_opened", "code_rejected"):
        assert refused not in names, door.seen
    flow = [step for step in forger.flow() if step[1] not in (100,)]
    assert flow[:3] == [("sent", "INVITE"), ("received", 180), ("received", 200)], flow


def test_interop_a_200_crossing_the_cancel_before_any_1xx_is_acked_and_byed(tmp_path, owned):
    scenario = SCENARIOS / "flat_answers_after_the_ring_timeout.xml"
    late = owned(
        Sipp(tmp_path, "late", scenario, options=["-mi", "127.0.0.1"], fill={"PAUSE_MS": 6500})
    )
    late.start()
    door = answering_door(tmp_path, owned, ["sip:flat@127.0.0.1:%d" % late.port])
    door.send("press")
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "no_answer", ended
    assert late.wait() == 0, late.report()  # it got its ACK and a BYE
    received = [m.method for m in late.messages() if m.direction == "received"]
    assert received[-2:] == ["ACK", "BYE"], received
    assert "answered" not in door.names()
    # Nothing is left of that call: the resident's next call is answered.
    caller = sipp_calling_door(
        owned, tmp_path, "resident", "flat_calls_door_direct.xml", door, options=["-s", "flat1"]
    )
    assert caller.wait() == 0, caller.report()  # 180, 200, ACK, BYE, 200: not 486
    assert door.wait_for("incoming_call", timeout=5)["accepted"] is True


def pbx_door(tmp_path, owned, pbx_port):
    """A door whose server is the SIPp 'PBX' on pbx_port, knowing callers by
    the identity the PBX asserts."""
    folder = tmp_path / "door"
    folder.mkdir()
    sections = {
        "device": {"name": "Door", "board": "sim", "show_dtmf_digits": True},
        "sip": {
            "server": "127.0.0.1:%d" % pbx_port,
            "register": False,
            "domain": "example.org",
            "local_port": 0,
            "asserted_identity": True,
        },
        "call": {"targets": ["flat1"], "answer_from": ["flat1"]},
        "door": {"code": DOOR_CODE, "state_file": "state.json"},
        "audio": {"input": "silence", "output": "null"},
    }
    return start_door(owned, folder, sections)


def pbx_call(tmp_path, owned, door, pbx_port, name, scenario, from_user, asserted_user):
    fill = {"FROM_USER": from_user, "ASSERTED_USER": asserted_user}
    pbx = sipp_calling_door(
        owned, tmp_path, name, SCENARIOS / scenario, door, port=pbx_port, fill=fill
    )
    assert pbx.wait() == 0, pbx.report()
    return pbx


def test_interop_the_door_knows_callers_by_the_pbxs_asserted_identity(tmp_path, owned):
    # The door is told the PBX's port before the PBX (a SIPp UAC that calls
    # at once) runs: picked free, not held in between.
    pbx_port = free_port()
    door = pbx_door(tmp_path, owned, pbx_port)
    # The resident, whatever From says: answered.
    pbx_call(tmp_path, owned, door, pbx_port, "resident", "server_calls_door.xml", "x9", "flat1")
    answered = door.wait_for("incoming_call", timeout=10)
    assert answered["accepted"] is True and answered["from"] == "sip:x9@example.org"
    door.wait_for("call_ended", timeout=10)
    # Someone else claiming to be flat1 in From: refused.
    mark = len(door.seen)
    pbx_call(
        tmp_path, owned, door, pbx_port, "claimer", "server_calls_door_refused.xml", "flat1", "eve"
    )
    refused = door.wait_for("incoming_call", timeout=5, accepted=False)
    assert refused["from"] == "sip:flat1@example.org"
    assert [e["accepted"] for e in door.seen[mark:] if e["event"] == "incoming_call"] == [False]
