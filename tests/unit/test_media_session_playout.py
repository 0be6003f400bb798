# The jitter buffer runs on the playout clock (media/session.py): a packet is
# stamped with the frame that reads it, so a board whose frame ticks wobble
# by a few ms (a loop timer, an audio device period) does not look like
# network jitter: the buffer keeps its minimum delay (20 ms here).

from intercom.media import g711
from intercom.media.session import MediaSession
from media_signals import Lcg, media_towards, pcm, samples_of

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


# A lossless call between two boards whose frame ticks are each late by
# 0..9 ms (a loop timer under load), with a phase of ours against the
# sender's at which a late tick of ours now and then reads a packet that
# arrived just after the tick was due: that packet looks a frame early.
# Every frame sent must play once, in order: none left out, none played
# twice (a filler in its place).
CLEAN_FRAMES = 1500
TICK_LATE_MS = 10  # each tick 0..9 ms late
RECEIVER_PHASE_MS = 11  # our ticks against the sender's
QUIET_EVERY = 4  # speech has pauses: every fourth frame is quiet


def g711_exact_levels():
    """Loud and quiet 16-bit values that mu-law codes decode to: a frame of
    them is sent and played unchanged."""
    decoded = bytearray(512)
    g711.ulaw_decode_into(bytes(range(256)), decoded)
    values = sorted(set(samples_of(decoded)))
    return [v for v in values if abs(v) > 2000], [v for v in values if abs(v) < 40]


def numbered_frame(number, levels):
    """160 samples of levels, the frame's number written into samples
    100..105 (past the blend after a concealed frame)."""
    count = len(levels)
    values = []
    left = number
    for index in range(160):
        if 100 <= index < 106:
            values.append(levels[left % count])
            left //= count
        else:
            values.append(levels[(number * 7 + index * 13) % count])
    return pcm(values)


def loop_ticks(count, phase_ms, lcg):
    """When a boards.runtime.loop periodic 20 ms timer fires: each tick late
    by 0..TICK_LATE_MS - 1 ms, on its cadence (less than a period late)."""
    ticks = []
    for index in range(count):
        ticks.append(phase_ms + 20 * index + (lcg.next() >> 24) % TICK_LATE_MS)
    return ticks


def test_a_clean_call_plays_every_frame_once_in_order():
    random_bytes = Lcg(11).random_bytes
    sender = MediaSession(media_towards(B), random_bytes, 0, "a@x")
    receiver = MediaSession(media_towards(A), random_bytes, 0, "b@x")
    lcg = Lcg(7)
    sent_at = loop_ticks(CLEAN_FRAMES, 0, lcg)
    ticks = loop_ticks(CLEAN_FRAMES + 10, RECEIVER_PHASE_MS, lcg)
    loud, quiet = g711_exact_levels()
    numbers = {}  # the tail of each frame sent (past the blend) -> its number
    in_flight = []
    for number in range(CLEAN_FRAMES):
        frame = numbered_frame(number, quiet if number % QUIET_EVERY == 0 else loud)
        numbers[frame[80:]] = number
        for packet in sender.send_frame(frame, sent_at[number]):
            in_flight.append((sent_at[number], bytes(packet)))
    played = []
    next_packet = 0
    for tick in ticks:
        while next_packet < len(in_flight) and in_flight[next_packet][0] <= tick:
            receiver.receive_rtp(in_flight[next_packet][1], A, tick)
            next_packet += 1
        played.append(numbers.get(bytes(receiver.play_frame(tick)[80:])))
    first = played.index(0)
    heard = played[first : first + CLEAN_FRAMES]
    # (position, the frame played there; None: a filler) from the first break on
    breaks = [(at, number) for at, number in enumerate(heard) if number != at]
    assert not breaks, "a frame left out or played twice: %r" % breaks[:4]
    assert len(heard) == CLEAN_FRAMES
    assert receiver.stats(ticks[-1])["delay_ms"] == 20
