# The door's speaker path, frame by frame, as the benchmark times it on
# both interpreters (portable: imported by host_tools.bench.speaker on
# CPython and by speaker_micropython.py under the MicroPython unix port).
#
# One scenario is 10 s of a phone's RTP as the door receives it (20 ms
# PCMU packets of a voice-like signal, built with the firmware's own
# MediaSession), replayed into a fresh door MediaSession: per frame the
# frame's packets go to receive_rtp, then play_frame runs (jitter buffer,
# decoding, DTMF detection and muting, concealment).
#
#   reference      RtpReceiver and JitterBuffer alone, the packets of
#                  "rfc4733 idle" (what a frame costs without RTCP, DTMF
#                  detection and muting)
#   rfc4733 idle   telephone-event negotiated, no key pressed: the detector
#                  does not run (the common case)
#   rfc4733 keys   telephone-event negotiated, four keys as RFC 4733 events
#                  with their tones left in the audio: the detector runs
#                  near each event only
#   inband keys    no telephone-event: the detector runs on every frame,
#                  the same four keys as tones

import math

from intercom.media import g711
from intercom.media.jitter import JitterBuffer
from intercom.media.rtp import RtpReceiver
from intercom.media.session import MediaSession

FRAMES = 500  # 10 s
KEY_FRAMES = (100, 200, 300, 400)
KEY_LENGTH = 7  # frames (140 ms)
EVENT_PT = 101
ROW_HZ = (697, 770, 852, 941)
COLUMN_HZ = (1209, 1336, 1477, 1633)
NAMES = ("reference", "rfc4733 idle", "rfc4733 keys", "inband keys")


def counter_bytes(count):
    return bytes([(7 * index + 3) & 0xFF for index in range(count)])


def media(port, telephone_event_pt):
    return {
        "remote_host": "127.0.0.1",
        "remote_port": port,
        "payload_type": 0,
        "codec": "PCMU",
        "telephone_event_pt": telephone_event_pt,
        "ptime": 20,
        "direction": "sendrecv",
        "srtp": None,
    }


def voice_frame(number, key):
    """20 ms of a voice-like signal (140 Hz and two harmonics, syllables of
    200 ms), or of key `key` (0..15) as tones when key is not None."""
    frame = bytearray(320)
    for index in range(160):
        t = (number * 160 + index) / 8000.0
        if key is None:
            envelope = 6000.0 if (number // 10) % 5 != 4 else 0.0
            value = envelope * (
                math.sin(2 * math.pi * 140 * t)
                + 0.5 * math.sin(2 * math.pi * 280 * t)
                + 0.3 * math.sin(2 * math.pi * 420 * t)
            )
        else:
            value = 7000.0 * (
                math.sin(2 * math.pi * ROW_HZ[key // 4] * t)
                + math.sin(2 * math.pi * COLUMN_HZ[key % 4] * t)
            )
        value = int(value) & 0xFFFF
        frame[2 * index] = value & 0xFF
        frame[2 * index + 1] = value >> 8
    return frame


def key_at(number):
    for key, start in enumerate(KEY_FRAMES):
        if start <= number < start + KEY_LENGTH:
            return key, number - start
    return None, 0


def event_packet(sequence, timestamp, event, duration, marker, end):
    return bytes(
        [
            0x80,
            (0x80 if marker else 0) | EVENT_PT,
            (sequence >> 8) & 0xFF,
            sequence & 0xFF,
            (timestamp >> 24) & 0xFF,
            (timestamp >> 16) & 0xFF,
            (timestamp >> 8) & 0xFF,
            timestamp & 0xFF,
            1,
            2,
            3,
            4,
            event,
            (0x80 if end else 0) | 10,
            duration >> 8,
            duration & 0xFF,
        ]
    )


def stream(keys, events):
    """[[packet bytes, ...] per frame]: the phone's audio, with keys=True its
    keys as tones, with events=True also as RFC 4733 events."""
    phone = MediaSession(media(20000, EVENT_PT), counter_bytes, 0, "phone")
    frames = []
    sequence = 9000
    for number in range(FRAMES):
        key, step = key_at(number) if keys else (None, 0)
        packets = [bytes(p) for p in phone.send_frame(voice_frame(number, key), 20 * number)]
        if events and key is not None:
            timestamp = 160 * KEY_FRAMES[key]
            duration = 160 * (step + 1)
            packets.append(event_packet(sequence, timestamp, key, duration, step == 0, False))
            sequence += 1
            if step == KEY_LENGTH - 1:
                for _ in range(3):
                    packets.append(event_packet(sequence, timestamp, key, duration, False, True))
                    sequence += 1
        frames.append(packets)
    return frames


class Scenarios:
    """Each scenario's packets, built once; play(name) replays one."""

    def __init__(self):
        idle = stream(False, False)
        self.packets = {
            "reference": idle,
            "rfc4733 idle": idle,
            "rfc4733 keys": stream(True, True),
            "inband keys": stream(True, False),
        }

    def play(self, name):
        packets = self.packets[name]
        if name == "reference":
            return _play_jitter_alone(packets)
        telephone_event_pt = None if name == "inband keys" else EVENT_PT
        door = MediaSession(media(20000, telephone_event_pt), counter_bytes, 0, "door")
        source = ("127.0.0.1", 20000)
        now = 0
        for frame in packets:
            now += 20
            for packet in frame:
                door.receive_rtp(packet, source, now)
            door.play_frame(now)
        return door


def _play_jitter_alone(packets):
    source = ("127.0.0.1", 20000)
    receiver = RtpReceiver([0, EVENT_PT], source)
    jitter = JitterBuffer(g711.ulaw_decode_into, min_delay_ms=20)
    now = 0
    for frame in packets:
        now += 20
        for data in frame:
            packet = receiver.receive(data, source)
            jitter.put(packet.timestamp_low, packet.payload, now, packet.marker)
        jitter.get(now)
    return jitter
