# One call's media between two MediaSessions in memory: audio, RFC 4733
# digits, in-band digits when telephone-event was not negotiated, and the
# source filter.

from intercom.media.session import MediaSession
from media_signals import Lcg, amplitude, media_towards, render, tone_function

A = ("127.0.0.1", 20000)
B = ("127.0.0.1", 30000)


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


def rtp_packet(ssrc, sequence, timestamp, payload, payload_type=0, marker=False):
    header = bytearray(12)
    header[0] = 0x80
    header[1] = (0x80 if marker else 0) | payload_type
    header[2:4] = bytes(((sequence >> 8) & 0xFF, sequence & 0xFF))
    for index in range(4):
        header[4 + index] = (timestamp >> (24 - 8 * index)) & 0xFF
        header[8 + index] = (ssrc >> (24 - 8 * index)) & 0xFF
    return bytes(header) + payload


LOUD_ULAW = bytes([0x80] * 160)  # u-law 0x80: the largest positive sample


def test_a_new_ssrc_starts_the_jitter_buffer_again():
    # a PBX that now relays the phone sends another stream from the same
    # address: 100 ms behind the old one's timeline, it would be late for
    # ten packets without a fresh start
    session = MediaSession(media_towards(B), Lcg(5).random_bytes, 0, "s@x")
    now = 0
    for index in range(20):
        now += 20
        session.receive_rtp(rtp_packet(1111, index, 160 * index, bytes(160)), B, now)
        session.play_frame(now)
    heard = 0
    for index in range(10):
        now += 20
        packet = rtp_packet(2222, 500 + index, 160 * (20 - 5 + index), LOUD_ULAW)
        session.receive_rtp(packet, B, now)
        frame = session.play_frame(now)
        for position in range(1, len(frame), 2):  # high bytes of the samples
            heard = max(heard, frame[position] if frame[position] < 0x80 else 0)
    assert session.stats(now)["late"] == 0
    assert heard > 0x70  # the new stream's loud samples reach the speaker


def test_an_update_with_another_codec_switches_both_ways_at_once():
    a, b = pair()
    tone = frames_of(tone_function([(1000, amplitude(-10))]), 25)
    _, loudest, now = exchange(a, b, 25, 0, tone)
    assert loudest > 3000
    # a re-INVITE/UPDATE agrees on PCMA with telephone-event 96
    a.update(media_towards(B, 96, "PCMA"))
    b.update(media_towards(A, 96, "PCMA"))
    [packet] = a.send_frame(bytes(320), now + 20)
    assert packet[1] & 0x7F == 8  # PCMA from the next frame on
    _, loudest, now = exchange(a, b, 25, now + 20, tone)
    assert loudest > 3000  # decoded as A-law: the tone, not noise
    a.send_digits("7")
    digits, _, now = exchange(a, b, 30, now)
    assert digits == [("7", "rfc4733")]
    # the old payload type is refused now
    b.receive_rtp(rtp_packet(1, 1, 1, LOUD_ULAW, payload_type=0), A, now)
    assert b.stats(now)["dropped"] >= 1
