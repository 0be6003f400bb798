# What the visitor hears on the whole door: when nobody answered, the
# prompt's own samples on the door's speaker, then (voicemail.record) the
# beep and the visitor's voice into a message; a resident listening in (a
# call the door answered) sets off the listen notice at once and then every
# call.notice_interval, sample for sample, whatever the resident says.

from intercom.media import tones
from media_signals import tone_share
from station_harness import Pair, door_config, flat_config, tone_frame
from test_app_voicemail import MemoryMessages, ramp

FRAME_BYTES = 320


def refusing_pair(record=True, max_seconds=5, prompt_samples=8000):
    config = door_config()
    config["voicemail"]["record"] = record
    config["voicemail"]["max_seconds"] = max_seconds
    messages = MemoryMessages(ramp(prompt_samples))
    pair = Pair(door_cfg=config, flat_cfg=flat_config(answer=False), door_messages=messages)
    pair.door_mic = tone_frame(FRAME_BYTES)
    pair.record()
    pair.press(pair.door, 0)
    return pair, messages


def test_nobody_answered_the_prompt_plays_then_the_visitor_is_recorded():
    pair, messages = refusing_pair()
    ended = pair.first("door", "call_ended")
    assert ended["reason"] == "refused" and pair.door.voicemail.state == "prompt"
    pair.run(1000)  # the prompt: 1 s
    assert b"".join(pair.played["door"])[: 2 * 8000] == ramp(8000)
    pair.run(600)  # its end, then the beep
    beep = b"".join(pair.played["door"][51:76])
    assert tone_share(beep, 1000) > 0.95
    assert pair.door.mic_live and pair.door.voicemail.recording
    assert pair.door.state == "idle"
    pair.run(6000)
    message = messages.messages[0]
    assert len(message.pcm) == 5 * 16000
    assert bytes(message.pcm) == bytes(pair.door_mic) * 250  # what the mic heard
    recorded = pair.first("door", "message_recorded")
    assert recorded == {
        "ts_ms": recorded["ts_ms"],
        "event": "message_recorded",
        "path": "messages/1.wav",
        "duration_ms": 5000,
    }
    assert pair.door.voicemail.state == "idle" and not pair.door.mic_live
    assert pair.names("door").index("call_ended") < pair.names("door").index("message_recorded")


def test_without_record_only_the_prompt_plays():
    pair, messages = refusing_pair(record=False)
    pair.run(3000)
    assert messages.messages == [] and pair.door.voicemail.state == "idle"
    speaker = b"".join(pair.played["door"])
    assert speaker[: 2 * 8000] == ramp(8000) and speaker[2 * 8000 :] == bytes(len(speaker) - 16000)


def test_a_press_while_recording_keeps_the_message_and_rings_again():
    pair, messages = refusing_pair(max_seconds=30)
    pair.run(3000)
    assert pair.door.voicemail.recording
    pair.press(pair.door, 200)
    recorded = pair.first("door", "message_recorded")
    assert recorded is not None and 0 < recorded["duration_ms"] < 2000
    assert messages.messages[0].closed
    assert pair.names("door").count("call_started") == 2


def test_a_call_to_the_door_ends_the_recording_and_is_answered():
    config = door_config()
    config["voicemail"]["record"] = True
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    messages = MemoryMessages(ramp(800))
    flat = flat_config(answer=False)
    pair = Pair(door_cfg=config, flat_cfg=flat, door_messages=messages)
    pair.press(pair.door, 2000)
    assert pair.door.voicemail.recording
    pair.press(pair.flat, 500)
    assert pair.door.state == "talking" and pair.door.voicemail.state == "idle"
    assert pair.first("door", "message_recorded")["duration_ms"] > 0


# -- the listen notice ------------------------------------------------------------------


def listening_pair(interval_s):
    config = door_config()
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    config["call"]["notice_interval"] = interval_s
    config["call"]["max_duration"] = 600
    pair = Pair(door_cfg=config)
    pair.record()
    pair.press(pair.flat, 0)
    assert pair.door.state == "talking" and pair.door.listen_in
    return pair


def test_a_resident_listening_in_sets_off_the_notice_at_once_and_every_interval():
    pair = listening_pair(2)
    pair.run(7000)
    played = b"".join(pair.played["door"])
    reference = bytearray(len(played))
    tones.listen_notice(2000).read_into(reference)
    assert played == bytes(reference)  # the flat sends silence: the notice alone
    starts = range(0, len(played) // 2, 8000)  # each second's first sample
    seconds = [index // 8000 for index in starts if played[2 * index + 20]]
    assert seconds == [0, 2, 4, 6]  # from the call's first frame, every 2 s


def test_the_notice_beeps_over_what_the_resident_says():
    pair = listening_pair(3)
    pair.flat_mic = tone_frame(FRAME_BYTES)  # 500 Hz, all the time
    pair.run(6500)
    frames = pair.played["door"]
    notice = bytearray(FRAME_BYTES * len(frames))
    tones.listen_notice(3000).read_into(notice)
    for start_s in (0, 3, 6):
        first = start_s * 50  # frames per second
        assert frames[first] == bytes(notice[FRAME_BYTES * first : FRAME_BYTES * (first + 1)])
        assert tone_share(b"".join(frames[first : first + 6]), 1200) > 0.9
    # between the beeps the resident is heard
    assert tone_share(b"".join(frames[100:120]), 500) > 0.8


def test_a_visitors_call_has_no_notice():
    pair = Pair()
    pair.record()
    pair.press(pair.door, 5000)
    assert pair.door.state == "talking" and not pair.door.listen_in
    for frame in pair.played["door"]:
        assert tone_share(frame, 1200) < 0.2 or frame == bytes(FRAME_BYTES)


def test_the_notice_stops_with_the_call():
    pair = listening_pair(1)
    pair.flat.hangup(pair.now)
    pair.route()
    assert not pair.door.listen_in and pair.door.state == "idle"
    pair.played["door"] = []
    pair.run(3000)
    assert b"".join(pair.played["door"]) == bytes(FRAME_BYTES * 150)
