# The jitter buffer runs on the playout clock (media/session.py): a packet is
# stamped with the frame that reads it, so a board whose frame ticks wobble
# by a few ms (a loop timer, an audio device period) does not look like
# network jitter: the buffer keeps its minimum delay (20 ms here).

from intercom.media.session import MediaSession
from media_signals import Lcg, media_towards

A = ("127.0.0.1", 20000)
B = ("127.0.0.1", 30000)
FRAMES = 3000
# The phone's clock runs 0.1 % slow: the phase of its packets against our
# ticks wanders across whole frames, and every 1000 frames the buffer runs
# one frame short (a concealed frame, which is right).
SENDER_PERIOD_US = 20020
NETWORK_MS = 3


def tone(level=6000):
    frame = bytearray(320)
    for index in range(160):
        value = level if (index // 10) % 2 == 0 else -level
        frame[2 * index] = value & 0xFF
        frame[2 * index + 1] = (value >> 8) & 0xFF
    return frame


def test_wobbling_frame_ticks_keep_the_minimum_delay():
    random_bytes = Lcg(11).random_bytes
    sender = MediaSession(media_towards(B), random_bytes, 0, "a@x")
    receiver = MediaSession(media_towards(A), random_bytes, 0, "b@x")
    wobble = Lcg(3).random_bytes(FRAMES + 1)
    mic = tone()
    in_flight = []  # (arrival ms, packet bytes)
    for index in range(FRAMES):
        # The sender is paced by its own clock; the receiver's ticks come 0..9 ms late.
        sent = index * SENDER_PERIOD_US // 1000
        for packet in sender.send_frame(mic, sent):
            in_flight.append((sent + NETWORK_MS, bytes(packet)))
        tick = 20 * index + wobble[index] % 10
        while in_flight and in_flight[0][0] <= tick:  # read right before the frame
            receiver.receive_rtp(in_flight.pop(0)[1], A, tick)
        receiver.play_frame(tick)
    stats = receiver.stats(20 * FRAMES)
    assert stats["played"] >= FRAMES - 6
    assert stats["concealed"] <= FRAMES // 1000
    # Stamped with the loop clock instead, the ticks' wobble reads as 9 ms of
    # network jitter on top of the frame steps and the delay settles at 40.
    assert stats["delay_ms"] <= 20
