# The whole door (agent, doorbell, door policy, media) against a flat phone
# station, both sans-I/O on a virtual clock with an in-memory network.

from station_harness import DOOR_RTP, DOOR_SIP, Pair, door_config, flat_config


def test_button_call_answer_audio_code_opens_and_hangs_up():
    pair = Pair(door_cfg=door_config(show_dtmf_digits=True))
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    assert pair.names("door")[:5] == ["started", "button", "call_started", "ringing", "answered"]
    incoming = pair.first("flat", "incoming_call")
    assert incoming["accepted"] is True and "door@127.0.0.1" in incoming["from"]
    # The visitor's tone reaches the flat's speaker once the jitter buffer fills.
    assert max(pair.flat_heard[-20:]) > 1000000
    assert pair.door.relay_on is False
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert [e["digit"] for e in pair.events["door"] if e["event"] == "dtmf"] == list("1234")
    assert all(e["source"] == "rfc4733" for e in pair.events["door"] if e["event"] == "dtmf")
    assert pair.door.relay_on is True
    opened = pair.first("door", "door_opened")
    assert opened is not None
    # hangup_after_open is 2 s: the door hangs up, the flat sees the BYE.
    pair.run(2500)
    ended = pair.first("door", "call_ended")
    assert ended["reason"] == "door_opened"
    assert pair.door.state == "idle" and pair.flat.state == "idle"
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"
    # The relay pulse (3 s) ends by its own timer after the call.
    pair.run(1000)
    assert pair.door.relay_on is False
    assert pair.first("door", "door_closed") is not None


def test_started_names_the_sip_and_rtp_ports_the_door_listens_on():
    # A door configured with port 0 binds any free port: the started event
    # is where its supervisor (and a test) learns which one.
    pair = Pair()
    started = pair.first("door", "started")
    assert started["sip_port"] == DOOR_SIP[1]
    assert started["rtp_port"] == DOOR_RTP


def test_wrong_code_is_rejected_and_the_relay_stays_off():
    pair = Pair()
    pair.press(pair.door, 1000)
    pair.flat.media.send_digits("9999")
    pair.run(1500)
    rejected = pair.first("door", "code_rejected")
    assert rejected is not None and rejected["reason"] == "wrong_code"
    assert pair.door.relay_on is False and pair.first("door", "door_opened") is None


def test_flat_that_does_not_answer_lets_the_door_give_up_with_no_answer():
    pair = Pair(flat_cfg=flat_config(answer=False))
    pair.press(pair.door, 1000)
    ended = pair.first("door", "call_ended")
    assert ended is not None and (ended["reason"], ended["detail"]) == ("refused", "declined")
    assert ended["sip_code"] == 403 and ended["media"] is None
    assert pair.door.state == "idle"
    assert pair.first("flat", "incoming_call")["accepted"] is False


def test_flat_hangs_up_and_the_door_goes_idle_with_the_duration():
    pair = Pair()
    pair.press(pair.door, 1000)
    pair.flat.hangup(pair.now)
    pair.route()
    pair.run(200)
    ended = pair.first("door", "call_ended")
    assert ended["reason"] == "remote_hangup"
    assert 900 <= ended["duration_ms"] <= 1100
    assert pair.door.led == "on" and pair.door.state == "idle"


def test_flat_calls_the_door_which_answers_an_allowed_caller():
    from station_harness import door_config

    config = door_config()
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    pair = Pair(door_cfg=config)
    pair.press(pair.flat, 600)
    incoming = pair.first("door", "incoming_call")
    assert incoming["accepted"] is True
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.relay_on is True


def test_unlisted_caller_gets_no_answer_and_no_media():
    pair = Pair()  # the door's answer_from is empty
    pair.press(pair.flat, 600)
    assert pair.first("door", "incoming_call")["accepted"] is False
    assert pair.door.state == "idle" and pair.door.media is None
    ended = pair.first("flat", "call_ended")
    assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("refused", "declined", 403)


def test_peer_that_vanishes_mid_call_is_hung_up_after_the_rtp_timeout():
    pair = Pair()
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    # The flat disappears: nothing it sends arrives any more.
    vanished = pair.flat
    pair.flat = type("Gone", (), {})()
    for method in ("receive_sip", "receive_rtp", "receive_rtcp"):
        setattr(pair.flat, method, lambda *arguments: None)
    pair.flat.sip_datagrams = lambda now: []
    pair.flat.rtp_datagrams = lambda: []
    pair.flat.rtcp_datagrams = lambda now, wall: []
    pair.flat.get_timer = lambda: None
    pair.flat.next_event = lambda: None
    pair.flat.audio_frame = lambda mic, now: bytearray(320)
    pair.run(pair.door.config["call"]["media_timeout"] * 1000 + 1000)
    ended = pair.first("door", "call_ended")
    assert ended["reason"] == "rtp_timeout"
    assert vanished.state == "talking"


def test_button_press_and_release_are_both_reported_and_release_starts_nothing():
    pair = Pair()
    pair.door.button(False, pair.now)
    pair.route()
    assert pair.events["door"][-1]["event"] == "button"
    assert pair.events["door"][-1]["state"] == "released"
    assert pair.door.state == "idle" and pair.first("door", "call_started") is None
    pair.door.button(True, pair.now)
    pair.route()
    assert [e.get("state") for e in pair.events["door"] if e["event"] == "button"] == [
        "released",
        "pressed",
    ]
