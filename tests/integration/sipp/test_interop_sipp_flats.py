# SIPp flats the Kamailio tests do not cover, each called by a
# peer-to-peer sim door: a busy flat (sequential fallback and the busy
# reason), a flat with early media before it answers, a FRITZ!Box-style
# flat sending the door code as RFC 4733 events with payload type 114 and
# no End bits, and two phones of a forking proxy both answering. The SIPp
# scenarios point the door's RTP at FlatRtp, the test's socket, which sends
# the flat's audio and digits from there.

import pathlib
import time

import pytest
from support.audio import block_matches, noise_syllables, read_wav, ulaw_round_trip
from support.door import DOOR_CODE, start_peer_door
from support.flat_rtp import FlatRtp
from support.sipp import Sipp

pytestmark = pytest.mark.integration
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"


def flat_uri(sipp):
    return "sip:flat@127.0.0.1:%d" % sipp.port


def sipp_uas(owned, tmp_path, name, scenario, **fill):
    """A started SIPp UAS of scenario (this folder's scenarios/, else
    support/scenarios/), its placeholders filled."""
    if (SCENARIOS / scenario).exists():
        scenario = SCENARIOS / scenario
    peer = owned(Sipp(tmp_path, name, scenario, options=["-mi", "127.0.0.1"], fill=fill))
    return peer.start()


def test_interop_a_busy_flat_makes_the_door_try_the_next_one(tmp_path, owned):
    busy = sipp_uas(owned, tmp_path, "busy", "flat_busy.xml")
    free = sipp_uas(owned, tmp_path, "free", "flat_answers.xml")
    door = start_peer_door(owned, tmp_path / "door", [flat_uri(busy), flat_uri(free)])
    door.send("press")
    door.wait_for("answered", timeout=10, target=flat_uri(free))
    door.send("hangup")
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "local_hangup", ended
    assert busy.wait() == 0, busy.report()
    assert free.wait() == 0, free.report()
    assert busy.flow() == [("received", "INVITE"), ("sent", 486), ("received", "ACK")]
    started = [e["target"] for e in door.seen if e["event"] == "call_started"]
    assert started[0] == flat_uri(busy), door.seen


def test_interop_a_single_busy_flat_ends_the_call_as_busy(tmp_path, owned):
    busy = sipp_uas(owned, tmp_path, "busy", "flat_busy.xml")
    door = start_peer_door(owned, tmp_path / "door", [flat_uri(busy)])
    door.send("press")
    ended = door.wait_for("call_ended", timeout=10)
    assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("refused", "busy", 486), ended
    assert "answered" not in door.names()
    assert busy.wait() == 0, busy.report()


def test_interop_early_media_is_heard_before_the_flat_answers(tmp_path, owned):
    announcement = noise_syllables(6, seed=3)
    rtp = owned(FlatRtp(announcement))
    fill = {"MEDIA_PORT": rtp.port, "EARLY_MS": 2000}
    flat = sipp_uas(owned, tmp_path, "early", "flat_early_media.xml", **fill)
    door = start_peer_door(owned, tmp_path / "door", [flat_uri(flat)])
    door.send("press")
    call_started = door.wait_for("call_started", timeout=5)
    rtp.start(("127.0.0.1", door.rtp_port))
    answered = door.wait_for("answered", timeout=10)
    # the 200 came EARLY_MS after the 183
    assert answered["ts_ms"] - call_started["ts_ms"] >= 1800, (call_started, answered)
    time.sleep(1.0)
    door.send("hangup")
    door.wait_for("call_ended", timeout=10)
    assert flat.wait() == 0, flat.report()
    rtp.stop()
    heard = read_wav(tmp_path / "door" / "heard.wav")
    # What the door played in the first 1.5 s (before the 200 at 2 s) is the
    # flat's early audio, block by block, in order.
    blocks = block_matches(heard[:12000], ulaw_round_trip(announcement))
    good = [delay for peak, delay in blocks if peak > 0.9]
    print("early media: %d blocks, %d above 0.9, delay %r samples" % (len(blocks), len(good), good))
    assert len(blocks) >= 8 and len(good) >= 0.7 * len(blocks), blocks
    assert all(0 <= delay < 4000 for delay in good), blocks


def test_interop_fritzbox_style_dtmf_payload_114_without_end_bits_opens(tmp_path, owned):
    rtp = owned(FlatRtp(noise_syllables(2, 4), 114))
    flat = sipp_uas(owned, tmp_path, "fritz", "flat_dtmf_pt114.xml", MEDIA_PORT=rtp.port)
    door = start_peer_door(
        owned,
        tmp_path / "door",
        [flat_uri(flat)],
        door={"hangup_after_open": 1},
        device={"show_dtmf_digits": True},
    )
    door.send("press")
    door.wait_for("answered", timeout=10)
    rtp.start(("127.0.0.1", door.rtp_port))
    time.sleep(0.5)
    rtp.dtmf(DOOR_CODE)
    for digit in DOOR_CODE:
        door.wait_for("dtmf", timeout=5, digit=digit)
    door.wait_for("door_opened", timeout=5)
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "door_opened", ended
    digits = [e["digit"] for e in door.seen if e["event"] == "dtmf"]
    assert digits == list(DOOR_CODE), door.seen
    assert flat.wait() == 0, flat.report()
    # the door sent its audio to the negotiated address, nowhere else
    assert rtp.received and {pt for pt, _ in rtp.received} == {0}


def test_interop_a_second_phone_answering_a_forked_call_gets_ack_and_bye(tmp_path, owned):
    forked = sipp_uas(owned, tmp_path, "forked", "flat_forked_answers.xml")
    door = start_peer_door(owned, tmp_path / "door", [flat_uri(forked)])
    door.send("press")
    door.wait_for("answered", timeout=10)
    time.sleep(1.0)  # the second 200, its ACK and BYE come meanwhile
    door.send("hangup")
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "local_hangup", ended
    assert forked.wait() == 0, forked.report()
    received = [m for m in forked.messages() if m.direction == "received"]
    assert [m.method for m in received] == ["INVITE", "ACK", "ACK", "BYE", "BYE"]
    for message, phone in zip(received[1:], ("first", "second", "second", "first"), strict=True):
        assert message.first_line.startswith("%s sip:%s@127.0.0.1:" % (message.method, phone))
        assert phone in message.header("To").rsplit("tag=", 1)[1], message.text
    assert received[1].header("CSeq") == received[2].header("CSeq") == "1 ACK"
    assert [e["event"] for e in door.seen].count("answered") == 1
