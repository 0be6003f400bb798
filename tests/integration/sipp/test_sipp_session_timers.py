# Session timers (RFC 4028) and UPDATE (RFC 3311) on the wire, SIPp as the
# PBX or phone, a sim door peer-to-peer on 127.0.0.1:
#   - a phone that refreshes calls the door: the door's 200 agrees on the
#     interval and requires timer, answers a refresh UPDATE without SDP and
#     an UPDATE that moves the phone's media (the door's RTP follows it);
#   - a flat's phone answers with a 90 s interval that the door refreshes:
#     the door sends its UPDATE within half of it, and the call goes on.

import pathlib
import time

import pytest
from support.audio import noise_syllables
from support.door import start_door_answering
from support.flat_rtp import FlatRtp
from support.sipp import door_calling_sipp_flat, sipp_calling_door
from support.wait import wait_until

pytestmark = pytest.mark.integration
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
FLAT1 = "sip:flat1@127.0.0.1"


def test_a_phone_refreshes_by_update_and_moves_its_media_with_one(tmp_path, owned):
    door = start_door_answering(owned, tmp_path / "door", FLAT1)
    moved = owned(FlatRtp(noise_syllables(4, 3)))
    moved.start(("127.0.0.1", door.rtp_port))
    phone = sipp_calling_door(
        owned,
        tmp_path,
        "phone",
        SCENARIOS / "phone_refreshes_and_moves_media_by_update.xml",
        door,
        options=["-mi", "127.0.0.1"],
        fill={"MOVED_PORT": moved.port, "PAUSE_MS": 1500},
    )
    assert door.wait_for("incoming_call", timeout=10)["accepted"] is True
    assert phone.wait() == 0, phone.report()  # every check of its scenario held
    # neither UPDATE ended the call: the phone's BYE did
    assert door.wait_for("call_ended", timeout=10)["reason"] == "remote_hangup"
    assert door.names().count("call_ended") == 1
    # the door's audio went to the address the UPDATE named
    assert moved.received, "no RTP from the door at the moved address"
    updates = [m for m in phone.messages() if m.direction == "received" and m.status == 200]
    refresh_ok, move_ok = [m for m in updates if "UPDATE" in (m.header("CSeq") or "")]
    assert refresh_ok.header("Content-Type") is None
    assert refresh_ok.header("Contact") is not None  # RFC 3311 5.2
    assert move_ok.header("Content-Type") == "application/sdp"


def test_the_door_refreshes_a_flats_session_with_update(tmp_path, owned):
    scenario = SCENARIOS / "flat_has_the_door_refresh_by_update.xml"
    # the call needs the flat's RTP to go on
    flat, flat_rtp, door = door_calling_sipp_flat(owned, tmp_path, scenario, timeout_s=90)
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10)
    answered_at = time.monotonic()
    flat_rtp.start(("127.0.0.1", door.rtp_port))
    # RFC 4028 10: the refresher refreshes at half the interval (45 s)
    wait_until(lambda: any(m.method == "UPDATE" for m in flat.messages()), 70.0, "the refresh")
    print("door refreshed %.1f s after the answer" % (time.monotonic() - answered_at))
    door.send("hangup")
    assert flat.wait() == 0, flat.report()
    assert door.wait_for("call_ended", timeout=10)["reason"] == "local_hangup"
    [update] = [m for m in flat.messages() if m.method == "UPDATE"]
    assert update.header("Session-Expires") == "90;refresher=uac"
    assert update.header("Content-Length") == "0"
