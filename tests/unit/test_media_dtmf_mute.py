# The door's speaker never plays the DTMF tones of the resident's phone
# (media/dtmf_mute.py, through MediaSession): phones that send the code as
# in-band tones (no telephone-event negotiated), phones that send RFC 4733
# and leave the tones in the audio, and SIP INFO with tones in the audio.
# Measured as the energy at each key's two frequencies in what the door
# plays, from one detector block (102 samples) after the tone reaches the
# speaker to its end: at least 30 dB below the level the tone has in the
# audio the phone sent. A 500 Hz marker before the keys locates the
# playout delay and must play at its full level.

from intercom.media.dtmf_inband import InbandDtmfDetector
from intercom.media.dtmf_mute import DtmfMute
from intercom.media.session import MediaSession
from media_signals import (
    Lcg,
    amplitude,
    assert_keys_muted,
    decibels,
    first_sound,
    marker_then_keys,
    media_towards,
    render,
    tone_function,
    tone_power,
)

A = ("127.0.0.1", 20000)
B = ("127.0.0.1", 30000)
EVENT_PT = 101
MARKER_MS = 300  # the marker starts here, 100 ms long
KEYS_FROM_MS = 700
KEY_MS = 120
KEY_EVERY_MS = 260
KEY_OFFSETS_MS = (0, 7, 13, 3)  # onsets across frame and block boundaries
CODE = "159#"
LEVEL = amplitude(-10)


def key_starts():
    """Sample index where each key of CODE starts in the phone's audio."""
    return [8 * (KEYS_FROM_MS + k * KEY_EVERY_MS + KEY_OFFSETS_MS[k]) for k in range(len(CODE))]


def phone_audio(with_tones=True):
    """The phone's microphone: marker, then the code as tones (or silence)."""
    keys = CODE if with_tones else ""
    return marker_then_keys(2000, MARKER_MS, keys, key_starts(), KEY_MS, LEVEL)


def event_packet(sequence, timestamp, event, duration, marker, end):
    header = bytes(
        [
            0x80,
            (0x80 if marker else 0) | EVENT_PT,
            sequence >> 8,
            sequence & 0xFF,
            (timestamp >> 24) & 0xFF,
            (timestamp >> 16) & 0xFF,
            (timestamp >> 8) & 0xFF,
            timestamp & 0xFF,
            1,
            2,
            3,
            4,
        ]
    )
    return header + bytes([event, (0x80 if end else 0) | 10, duration >> 8, duration & 0xFF])


def call(audio, telephone_event_pt, events=False, info=False, event_ms=KEY_MS):
    """The phone sends `audio` every 20 ms; with `events` also each key of
    CODE as RFC 4733 packets for event_ms from its start, with `info` a SIP
    INFO digit at its start. Returns (what the door played, digits, door)."""
    random_bytes = Lcg(9).random_bytes
    phone = MediaSession(media_towards(B, telephone_event_pt), random_bytes, 0, "phone@x")
    door = MediaSession(media_towards(A, telephone_event_pt), random_bytes, 0, "door@x")
    starts = [start // 160 for start in key_starts()]  # the frame each key starts in
    event_frames = event_ms // 20
    played = []
    digits = []
    sequence = 5000
    for frame in range(len(audio) // 320):
        now = 20 * (frame + 1)
        for packet in phone.send_frame(audio[320 * frame : 320 * (frame + 1)], now):
            door.receive_rtp(bytes(packet), A, now)
        for number, start in enumerate(starts):
            step = frame - start
            if events and 0 <= step < event_frames + 3:
                end = step >= event_frames - 1
                duration = 160 * min(step + 1, event_frames)
                event = "0123456789*#ABCD".index(CODE[number])
                packet = event_packet(sequence, 160 * start, event, duration, step == 0, end)
                door.receive_rtp(packet, A, now)
                sequence += 1
            if info and step == 0:
                door.info_digit(now)
        played.append(bytes(door.play_frame(now)))
        digit = door.next_dtmf()
        while digit is not None:
            digits.append(digit)
            digit = door.next_dtmf()
    return b"".join(played), digits, door


def assert_tones_muted(sent, played, what):
    """Each key, from one block after its onset at the speaker: >= 30 dB
    down; the marker, no DTMF, at its level; played within 200 ms."""
    delay = assert_keys_muted(sent, played, CODE, key_starts(), KEY_MS, MARKER_MS, what)
    assert 0 < delay < 8 * 200, (what, delay)


def test_inband_tones_without_telephone_event_are_detected_and_not_played():
    sent = phone_audio()
    played, digits, door = call(sent, None)
    assert digits == [(key, "inband") for key in CODE]
    assert door.stats(2000)["muted_ms"] >= len(CODE) * KEY_MS
    assert_tones_muted(sent, played, "in-band, no telephone-event")


def test_tones_left_in_the_audio_beside_rfc4733_are_not_played():
    sent = phone_audio()
    played, digits, _ = call(sent, EVENT_PT, events=True)
    assert digits == [(key, "rfc4733") for key in CODE]  # once each, not twice
    assert_tones_muted(sent, played, "RFC 4733 plus tones")


def test_tones_that_outlast_their_rfc4733_events_are_not_played():
    # The events end after 40 ms, the tones go on for 120 ms: the detector,
    # running near each event, finds the rest.
    sent = phone_audio()
    played, digits, _ = call(sent, EVENT_PT, events=True, event_ms=40)
    assert digits == [(key, "rfc4733") for key in CODE]
    assert_tones_muted(sent, played, "short RFC 4733 events, long tones")


def test_tones_beside_sip_info_digits_are_not_played():
    sent = phone_audio()
    for telephone_event_pt in (EVENT_PT, None):
        played, _, _ = call(sent, telephone_event_pt, info=True)
        assert_tones_muted(sent, played, "INFO, telephone-event %r" % telephone_event_pt)


def test_an_rfc4733_event_in_progress_silences_the_speaker_even_without_tones():
    # Speech (a steady 500 Hz here) goes on while the resident presses a
    # key: the frames played during the event and its tail are silent.
    steady = render(8 * 2000, tone_function([(500, LEVEL)]))
    played, digits, _ = call(steady, EVENT_PT, events=True)
    assert [digit for digit, _ in digits] == list(CODE)
    frames = [played[index : index + 320] for index in range(0, len(played), 320)]
    starts = [start // 160 for start in key_starts()]
    for start in starts:
        assert all(byte == 0 for byte in frames[start + 1]), start  # the event's second frame
    assert tone_power(frames[starts[0] - 5], 500) > 0.5 * (LEVEL * 80) ** 2  # before: heard


def test_without_keys_nothing_is_silenced():
    sent = phone_audio(with_tones=False)
    for telephone_event_pt in (EVENT_PT, None):
        played, digits, door = call(sent, telephone_event_pt)
        assert digits == []
        assert door.stats(2000)["muted_ms"] == 0
        delay = first_sound(played, 1500) - first_sound(sent, 1500)
        marker = 2 * 8 * MARKER_MS
        heard = tone_power(played[marker + 2 * delay : marker + 2 * delay + 1600], 500)
        assert abs(decibels(heard / tone_power(sent[marker : marker + 1600], 500))) < 1


def test_a_muted_frame_plays_the_silence_it_was_given():
    # The station hands its own frame of zeros to the session (one frame
    # less of a Pico W's heap); anything but a frame of zeros is refused.
    shared = bytearray(320)
    mute = DtmfMute(160, InbandDtmfDetector(), 0, shared)
    speech = render(160, tone_function([(500, LEVEL)]))
    played = mute.play(bytearray(speech), False, True)
    assert bytes(played) == bytes(320)
    assert bytes(shared) == bytes(320)
    assert bytes(mute.play(bytearray(speech), False, False)) == speech
    for wrong in (bytearray(318), bytearray(b"\x01") + bytearray(319)):
        try:
            DtmfMute(160, InbandDtmfDetector(), 0, wrong)
        except ValueError:
            continue
        raise AssertionError("took %d bytes" % len(wrong))
