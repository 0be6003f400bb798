# One call's media between two MediaSessions in memory: audio, RFC 4733
# digits, in-band digits when telephone-event was not negotiated, and the
# source filter.

from intercom.media.session import MediaSession
from media_signals import Lcg, amplitude, render, tone_function

A = ("127.0.0.1", 20000)
B = ("127.0.0.1", 30000)


def media_towards(address, telephone_event_pt=101, codec="PCMU"):
    return {
        "remote_host": address[0],
        "remote_port": address[1],
        "payload_type": 0 if codec == "PCMU" else 8,
        "codec": codec,
        "telephone_event_pt": telephone_event_pt,
        "ptime": 20,
        "direction": "sendrecv",
        "srtp": None,
    }


def pair(telephone_event_pt=101, codec="PCMU"):
    random_bytes = Lcg(5).random_bytes
    a = MediaSession(media_towards(B, telephone_event_pt, codec), random_bytes, 0, "a@x")
    b = MediaSession(media_towards(A, telephone_event_pt, codec), random_bytes, 0, "b@x")
    return a, b


def exchange(a, b, frames, now, a_frames=None, source=A):
    """a sends `frames` frames to b; b plays them. Returns (digits, peak heard, now)."""
    digits = []
    loudest = 0
    silence = bytes(320)
    for index in range(frames):
        now += 20
        mic = a_frames[index] if a_frames is not None and index < len(a_frames) else silence
        for packet in a.send_frame(mic, now):
            b.receive_rtp(bytes(packet), source, now)
        heard = b.play_frame(now)
        for position in range(0, 320, 2):
            value = heard[position] | (heard[position + 1] << 8)
            if value >= 0x8000:
                value -= 0x10000
            loudest = max(loudest, abs(value))
        digit = b.next_dtmf()
        while digit is not None:
            digits.append(digit)
            digit = b.next_dtmf()
    return digits, loudest, now


def frames_of(sample_at, count):
    pcm = render(160 * count, sample_at)
    return [pcm[320 * index : 320 * (index + 1)] for index in range(count)]


def test_audio_crosses_and_rfc4733_digits_arrive_once():
    a, b = pair()
    tone = frames_of(tone_function([(1000, amplitude(-10))]), 25)
    _, loudest, now = exchange(a, b, 25, 0, tone)
    assert loudest > 3000  # about -10 dBm0 after u-law, once the buffer plays
    a.send_digits("12#")
    digits, _, now = exchange(a, b, 60, now)
    assert digits == [("1", "rfc4733"), ("2", "rfc4733"), ("#", "rfc4733")]


def test_inband_digits_count_only_without_telephone_event():
    key_five = frames_of(tone_function([(770, amplitude(-8)), (1336, amplitude(-8))]), 5)
    a, b = pair(telephone_event_pt=None, codec="PCMA")
    digits, _, _ = exchange(a, b, 12, 0, key_five)
    assert digits == [("5", "inband")]
    a, b = pair(telephone_event_pt=101)
    digits, _, _ = exchange(a, b, 12, 0, key_five)
    assert digits == []


def test_packets_from_another_source_are_not_played():
    a, b = pair()
    loud = frames_of(tone_function([(1000, amplitude(-3))]), 20)
    _, loudest, _ = exchange(a, b, 20, 0, loud, source=("127.0.0.1", 40000))
    assert loudest == 0
    assert b.stats(400)["dropped"] >= 1
