# The visitor must not hear the door code: the whole door (station) against
# a flat phone station whose microphone plays the resident's keys as DTMF
# tones, sent as in-band tones only (telephone-event taken out of the
# door's offer) or beside SIP INFO digits. What the door's speaker plays,
# from one detector block after each tone's onset to its end, holds the
# key's two frequencies at least 30 dB below the level the flat sent, and
# the door still takes every digit. A 500 Hz marker first locates the
# playout delay and plays at its level.

from media_signals import (
    amplitude,
    assert_keys_muted,
    marker_then_keys,
)
from station_harness import Pair, door_config

KEYS_SENT = "2580"  # a prefix of the code: no door tone answers it
LEVEL = amplitude(-10)
MARKER_MS = 200
KEYS_FROM_MS = 500
KEY_MS = 140
KEY_EVERY_MS = 300
KEY_OFFSETS_MS = (0, 9, 4, 13)


def key_starts():
    return [
        8 * (KEYS_FROM_MS + k * KEY_EVERY_MS + KEY_OFFSETS_MS[k]) for k in range(len(KEYS_SENT))
    ]


def flat_audio():
    return marker_then_keys(1800, MARKER_MS, KEYS_SENT, key_starts(), KEY_MS, LEVEL)


def without_telephone_event(message):
    if getattr(message, "method", None) == "INVITE" and message.body:
        lines = [line for line in message.body.split(b"\r\n") if b":101 " not in line]
        message.body = b"\r\n".join(lines).replace(b" 101\r\n", b"\r\n")


def call_with_keys(rewrite=None, info=False):
    config = door_config(code=KEYS_SENT + "1")
    config["device"]["show_dtmf_digits"] = True  # the events show which keys came
    pair = Pair(door_cfg=config)
    if rewrite is not None:
        pair.rewrite_sip("door", rewrite)
    pair.flat_mic = bytearray(320)
    pair.press(pair.door, 600)
    assert pair.door.state == "talking"
    audio = flat_audio()
    frames = [audio[index : index + 320] for index in range(0, len(audio), 320)]
    info_frames = [start // 160 for start in key_starts()]
    pair.record()
    for number, frame in enumerate(frames):
        pair.flat_mic = bytearray(frame)
        if info and number in info_frames:
            pair.flat_sends_info(KEYS_SENT[info_frames.index(number)], 140)
        pair.run(20)
    pair.flat_mic = bytearray(320)
    pair.run(400)
    return pair, audio, b"".join(pair.played["door"])


def assert_keys_not_heard(sent, played, what):
    assert_keys_muted(sent, played, KEYS_SENT, key_starts(), KEY_MS, MARKER_MS, what)


def door_digits(pair):
    return [(e["digit"], e["source"]) for e in pair.events["door"] if e["event"] == "dtmf"]


def test_inband_keys_reach_the_door_policy_but_not_its_speaker():
    pair, sent, played = call_with_keys(rewrite=without_telephone_event)
    assert door_digits(pair) == [(key, "inband") for key in KEYS_SENT]
    assert_keys_not_heard(sent, played, "in-band only")
    assert pair.door.media.stats(pair.now)["muted_ms"] >= len(KEYS_SENT) * KEY_MS


def test_keys_sent_by_sip_info_with_their_tones_in_the_audio_are_not_heard():
    pair, sent, played = call_with_keys(info=True)
    assert door_digits(pair) == [(key, "info") for key in KEYS_SENT]
    assert_keys_not_heard(sent, played, "INFO and tones")
