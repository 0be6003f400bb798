# SIPp flats the sip_interop tests do not cover, each called by a
# peer-to-peer sim door: a busy flat (sequential fallback and the busy
# reason), a flat with early media before it answers, a FRITZ!Box-style
# flat sending the door code as RFC 4733 events with payload type 114 and
# no End bits, and two phones of a forking proxy both answering. The SIPp
# scenarios point the door's RTP at FlatRtp, the test's socket, which sends
# the flat's audio and digits from there.

import time

from flat_rtp import FlatRtp
from interop_peers import (
    DOOR_CODE,
    block_matches,
    read_wav,
    scenario_copy,
    speech_like,
    start_peer_door,
    ulaw_round_trip,
)

from tests.board_sim.board_sim_door import free_port
from tests.sip_interop.sip_interop_peers import SCENARIOS, Sipp


def flat_uri(sipp):
    return "sip:flat@127.0.0.1:%d" % sipp.port


def sipp_uas(owned, tmp_path, name, scenario):
    peer = owned(Sipp(tmp_path, name, scenario, options=["-mi", "127.0.0.1"]))
    return peer.start().wait_listening()


def test_interop_a_busy_flat_makes_the_door_try_the_next_one(tmp_path, owned):
    busy = sipp_uas(owned, tmp_path, "busy", scenario_copy(tmp_path, "flat_busy.xml"))
    free = sipp_uas(owned, tmp_path, "free", SCENARIOS / "flat_answers.xml")
    door = owned(start_peer_door(tmp_path / "door", [flat_uri(busy), flat_uri(free)]))
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
    busy = sipp_uas(owned, tmp_path, "busy", scenario_copy(tmp_path, "flat_busy.xml"))
    door = owned(start_peer_door(tmp_path / "door", [flat_uri(busy)]))
    door.send("press")
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "busy", ended
    assert "answered" not in door.names()
    assert busy.wait() == 0, busy.report()


def test_interop_early_media_is_heard_before_the_flat_answers(tmp_path, owned):
    media_port = free_port()
    scenario = scenario_copy(tmp_path, "flat_early_media.xml", MEDIA_PORT=media_port, EARLY_MS=2000)
    flat = sipp_uas(owned, tmp_path, "early", scenario)
    door = owned(start_peer_door(tmp_path / "door", [flat_uri(flat)]))
    announcement = speech_like(6, seed=3)
    door.send("press")
    call_started = door.wait_for("call_started", timeout=5)
    rtp = owned(FlatRtp(media_port, ("127.0.0.1", door.rtp_port), announcement))
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
    media_port = free_port()
    scenario = scenario_copy(tmp_path, "flat_dtmf_pt114.xml", MEDIA_PORT=media_port)
    flat = sipp_uas(owned, tmp_path, "fritz", scenario)
    door = owned(
        start_peer_door(
            tmp_path / "door",
            [flat_uri(flat)],
            door={"hangup_after_open": 1},
            device={"show_dtmf_digits": True},
        )
    )
    door.send("press")
    door.wait_for("answered", timeout=10)
    rtp = owned(FlatRtp(media_port, ("127.0.0.1", door.rtp_port), speech_like(2, 4), 114))
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
    scenario = scenario_copy(tmp_path, "flat_forked_answers.xml")
    forked = sipp_uas(owned, tmp_path, "forked", scenario)
    door = owned(start_peer_door(tmp_path / "door", [flat_uri(forked)]))
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
