# No exception leaves the Station: an error in the media, the door policy,
# the doorbell or the station's own code while it handles one input (an RTP
# packet, an audio frame, a timer, a SIP datagram's events) is caught,
# counted, reported as an `error` event and ends at most the call it belongs
# to; the door then takes the next call. MemoryError is the exception: it
# leaves (the board restarts, boards/runtime/runtime.py turns the relay off).

from station_harness import Pair, door_config


def broken(*args):
    raise ValueError("broken on purpose")


def talking_pair(door_cfg=None):
    pair = Pair(door_cfg=door_cfg)
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    return pair


def call_end(pair):
    ended = pair.first("door", "call_ended")
    return (ended["reason"], ended["detail"])


def errors(pair):
    return [event for event in pair.events["door"] if event["event"] == "error"]


def assert_call_ended_by_the_error(pair):
    """The error event, the door's BYE, both sides idle, the door still works."""
    reported = errors(pair)
    assert len(reported) == 1, reported
    assert "broken on purpose" in reported[0]["reason"]
    assert pair.door.stats(pair.now)["internal_errors"] == 1
    assert call_end(pair) == ("error", "internal_error")
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"
    assert pair.door.state == "idle" and pair.door.media is None
    assert pair.door.relay_on is False
    # The next visitor gets a normal call.
    before = len(pair.events["door"])
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    assert "answered" in [event["event"] for event in pair.events["door"][before:]]


def test_an_error_in_the_media_while_playing_a_frame_ends_only_that_call():
    pair = talking_pair()
    pair.door.media.play_frame = broken
    pair.run(500)
    assert_call_ended_by_the_error(pair)


def test_an_error_in_the_media_while_receiving_rtp_ends_only_that_call():
    pair = talking_pair()
    pair.door.media.receive_rtp = broken
    pair.run(500)
    assert_call_ended_by_the_error(pair)


def test_an_error_in_a_media_timer_ends_only_that_call():
    pair = talking_pair()
    pair.door.media.handle_timer = broken
    pair.run(6000)  # the RTCP report timer fires within 5 s
    assert_call_ended_by_the_error(pair)


def test_an_error_in_the_door_policy_on_an_info_digit_ends_only_that_call():
    pair = talking_pair()
    pair.door.policy.receive_digit = broken
    pair.flat_sends_info("5", 160)  # the door's agent hands its dtmf event to the policy
    pair.run(500)
    assert_call_ended_by_the_error(pair)


def test_an_error_in_rtcp_output_ends_only_that_call():
    pair = talking_pair()
    pair.door.media.rtcp_datagrams = broken
    pair.run(6000)  # RTCP reports every 5 s
    assert_call_ended_by_the_error(pair)


def test_an_error_in_the_doorbell_while_idle_is_reported_and_nothing_else_changes():
    pair = Pair()
    pair.door.doorbell.button_pressed = broken
    pair.door.button(True, pair.now)
    pair.route()
    reported = errors(pair)
    assert len(reported) == 1 and "button" in reported[0]["reason"]
    assert pair.door.state == "idle" and pair.door.stats(pair.now)["internal_errors"] == 1


def test_memory_error_leaves_the_station():
    pair = talking_pair()

    def exhausted(*args):
        raise MemoryError("heap")

    pair.door.media.play_frame = exhausted
    try:
        pair.door.audio_frame(pair.door_mic, pair.now + 20)
    except MemoryError:
        pass
    else:
        raise AssertionError("MemoryError was swallowed")
    assert errors(pair) == []


def test_an_error_in_an_incoming_calls_events_ends_that_call():
    config = door_config()
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    pair = Pair(door_cfg=config)
    pair.door.policy.call_answered = broken
    pair.press(pair.flat, 1000)
    assert len(errors(pair)) == 1
    assert pair.door.state == "idle" and pair.door.media is None
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"
