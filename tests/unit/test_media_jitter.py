# Jitter buffer and packet loss concealment on a virtual clock: scripted
# arrivals, one get() every 20 ms, and what comes out (which frames, in
# which order, how many concealed) and the delay it settles at.

import math
import struct

from intercom.media.jitter import JitterBuffer
from intercom.media.plc import Concealer, estimate_pitch
from media_signals import pcm, samples_of, tones

FRAME = 160
LOUD = struct.pack("<h", -7000) * FRAME
QUIET = b"\x00\x00" * FRAME
NUMBER_SAMPLE = 100  # past the 40 samples blended after a loss


def frame_decoder(src, dst):
    # Test payloads: bytes 0-1 the frame number, byte 2 says loud (1) or
    # quiet (0). Output sample 100 is the frame number, the rest loud or quiet.
    dst[:] = LOUD if src[2] else QUIET
    dst[2 * NUMBER_SAMPLE] = src[0]
    dst[2 * NUMBER_SAMPLE + 1] = src[1]


def frame_number(out):
    return out[2 * NUMBER_SAMPLE] | (out[2 * NUMBER_SAMPLE + 1] << 8)


def payload(number, quiet=False, frames=1):
    data = b""
    for index in range(frames):
        data += struct.pack("<HB", number + index, 0 if quiet else 1) + b"\x00" * (FRAME - 3)
    return data


class Run:
    """Feeds scripted arrivals and calls get() every 20 ms."""

    def __init__(self, first_timestamp=0x12345678, **options):
        self.buffer = JitterBuffer(frame_decoder, **options)
        self.first_timestamp = first_timestamp
        self.played = []
        self.delays = []
        self.at_last_play = {}  # counters when the last frame was played

    def play(self, arrivals, start_ms, end_ms, get_phase_ms=5):
        """arrivals: list of (arrival_ms, frame number[, marker, quiet])."""
        pending = sorted(arrivals)
        position = 0
        now = start_ms + get_phase_ms
        while now < end_ms:
            while position < len(pending) and pending[position][0] <= now:
                self.put(*pending[position])
                position += 1
            before = self.buffer.counters["played"]
            out = self.buffer.get(now)
            if self.buffer.counters["played"] != before:
                self.played.append(frame_number(out))
                self.at_last_play = dict(self.buffer.counters)
            self.delays.append(self.buffer.delay_ms)
            now += 20

    def put(self, arrival_ms, number, marker=False, quiet=False):
        timestamp = (self.first_timestamp + number * FRAME) & 0xFFFFFFFF
        self.buffer.put(timestamp, payload(number, quiet), arrival_ms, marker)


def steady(numbers, start_ms=1000, spacing_ms=20.0, late=None):
    late = late or {}
    return [(start_ms + int(n * spacing_ms) + late.get(n, 0), n) for n in numbers]


def test_in_order_stream_plays_every_frame_after_the_minimum_delay():
    run = Run()
    run.play(steady(range(100)), 1000, 3020)
    assert run.played == list(range(100))
    counters = run.buffer.counters
    assert counters["concealed"] == 0
    assert counters["late"] == 0
    assert counters["silent"] == 1  # the first get, before the minimum delay
    assert run.buffer.delay_ms == 25  # 20 ms minimum + the 5 ms get phase
    assert run.buffer.target_ms == 20


def test_silence_before_the_first_packet_and_after_the_stream():
    run = Run()
    run.play(steady(range(10), start_ms=1100), 1000, 1500)
    assert run.played == list(range(10))
    # 5 gets before the first packet, 1 while it waits for the minimum
    # delay, and 10 after the end (nothing to conceal: the stream stopped
    # after a loud frame, so 3 concealed frames, then silence).
    assert run.buffer.counters["concealed"] == 3
    assert run.buffer.counters["silent"] == 25 - 10 - 3


def test_reordering_within_the_delay_is_absorbed():
    arrivals = steady(range(60))
    for index in range(10, 58, 2):  # every pair swapped from frame 10 on
        arrivals[index], arrivals[index + 1] = (
            (arrivals[index + 1][0], index),
            (arrivals[index][0], index + 1),
        )
    run = Run()
    run.play(arrivals, 1000, 2500)
    assert run.played == list(range(60))
    assert run.buffer.counters["late"] == 0
    assert run.at_last_play["concealed"] == 0
    assert run.buffer.target_ms == 40  # one frame 20 ms early, the rest 20 ms later


def test_reordering_beyond_the_delay_grows_it_once():
    # From frame 30 on, every third frame comes 50 ms late.
    late = {n: 50 for n in range(30, 120, 3)}
    run = Run()
    run.play(steady(range(120), late=late), 1000, 3600)
    counters = run.buffer.counters
    assert counters["late"] == 1  # only the first one, then the delay grew
    assert run.played == [n for n in range(120) if n != 30]
    assert run.buffer.target_ms == 50
    assert 50 <= run.buffer.delay_ms < 70


def test_lost_bursts_are_concealed_then_faded_to_silence():
    lost = {40, 41, 42} | set(range(60, 68))
    run = Run()
    run.play(steady([n for n in range(100) if n not in lost]), 1000, 3020)
    assert run.played == [n for n in range(100) if n not in lost]
    counters = run.buffer.counters
    # 3 frames concealed for the first burst; the 8-frame burst gets 3
    # concealed frames (60 ms fade) and 5 of silence.
    assert counters["concealed"] == 3 + 3
    assert counters["silent"] == 1 + 5


def test_jitter_spike_grows_the_delay_then_silence_shrinks_it():
    # Frames 50..54 are held up and arrive together with frame 55.
    late = {n: (55 - n) * 20 for n in range(50, 55)}
    numbers = list(range(400))
    arrivals = steady(numbers, late=late)
    # A talk spurt ends at 399; after 10 frames of DTX the next one starts
    # with the marker bit set.
    arrivals += [(1000 + n * 20, n, n == 410) for n in range(410, 460)]
    run = Run()
    run.play(arrivals, 1000, 1000 + 460 * 20)
    counters = run.buffer.counters
    assert counters["late"] == 4  # 50..53 missed their turn, 54 made it
    missing = [n for n in numbers if n not in run.played]
    assert missing[:4] == [50, 51, 52, 53]
    # Right after the spike the delay sits at the new target.
    assert 100 <= run.delays[120] < 120
    # Once the spike has left the windows (2 x 128 packets) the surplus
    # above target + 3 frames is dropped while talking (two forced skips),
    # the rest goes in the silent gap.
    assert len(missing) == 6 and missing[4] > 200
    assert 60 <= run.delays[395] < 80
    assert run.buffer.target_ms == 20
    assert 20 <= run.buffer.delay_ms < 40
    after = run.played[run.played.index(410) :]
    assert after == list(range(410, 410 + len(after))) and len(after) >= 45


def test_delay_is_capped_at_the_maximum():
    late = {n: (58 - n) * 20 for n in range(50, 58)}  # a 160 ms hold-up
    run = Run(max_delay_ms=100)
    run.play(steady(range(150), late=late), 1000, 4000)
    assert run.buffer.target_ms == 100
    assert 100 <= max(run.delays) < 120
    assert run.played[-40:] == list(range(150 - 40 - 5, 150 - 5))  # 5: 100 ms buffered


def test_duplicates_are_dropped():
    arrivals = steady(range(50)) + steady(range(50))
    run = Run()
    run.play(arrivals, 1000, 2100)
    assert run.played == list(range(50))
    assert run.buffer.counters["duplicate"] == 50


def test_timestamp_wrap_is_seamless():
    run = Run(first_timestamp=0xFFFFFF00)
    run.play(steady(range(100)), 1000, 3100)
    assert run.played == list(range(100))
    assert run.at_last_play["concealed"] == 0


def test_a_stalled_board_catches_up():
    run = Run()
    run.play(steady(range(25)), 1000, 1500)
    # No get() for 2 s while packets keep coming on time; then playout
    # resumes close to the newest frames and settles at the target delay.
    for number in range(25, 125):
        run.put(1000 + number * 20, number)
    run.play(steady(range(125, 200)), 3500, 5080)
    assert run.played[:24] == list(range(24))
    resumed = run.played[24:]
    assert resumed == list(range(resumed[0], 200))
    assert resumed[0] >= 110  # at most 300 ms (the ring) behind
    # Loud frames are dropped only down to target + 3 frames; the rest
    # waits for a quiet frame.
    assert 20 <= run.delays[-1] < 20 + 3 * 20


def test_packets_of_several_frames_are_split():
    run = Run()
    for index in range(20):
        arrival = 1000 + index * 40
        timestamp = (run.first_timestamp + 2 * index * FRAME) & 0xFFFFFFFF
        run.buffer.put(timestamp, payload(2 * index, frames=2), arrival)
        for offset in (5, 25):
            before = run.buffer.counters["played"]
            out = run.buffer.get(arrival + offset)
            if run.buffer.counters["played"] != before:
                run.played.append(frame_number(out))
    assert run.played == list(range(39))


def test_payloads_that_are_not_whole_frames_are_malformed():
    buffer = JitterBuffer(frame_decoder)
    buffer.put(0, b"\x00" * 100, 0)
    buffer.put(0, b"", 0)
    assert buffer.counters["malformed"] == 2
    assert buffer.counters["played"] == 0


def test_sender_clock_restart_without_marker_resynchronises_after_ten_packets():
    run = Run()
    run.play(steady(range(50)), 1000, 2020)
    run.first_timestamp += 20000
    run.play([(2040 + n * 20, n) for n in range(50)], 2020, 3100)
    assert run.buffer.counters["resynced"] == 1
    assert run.buffer.counters["overflow"] == 9
    assert run.played == list(range(50)) + list(range(9, 50))


def test_sender_clock_restart_resynchronises():
    run = Run()
    first = steady(range(50))
    run.play(first, 1000, 2020)
    # New timestamps, 30000 units back, marker set on the first packet.
    restart = [(2040 + n * 20, n, n == 0) for n in range(50)]
    run.first_timestamp -= 30000
    run.play(restart, 2020, 3100)
    assert run.buffer.counters["resynced"] == 1
    assert run.played == list(range(50)) + list(range(50))


def test_slow_sender_clock_inserts_frames_without_losing_any():
    # The sender's clock is 1 % slow: a frame every 20.2 ms.
    run = Run()
    run.play(steady(range(1000), spacing_ms=20.2), 1000, 1000 + 20300)
    counters = run.at_last_play
    assert run.played == list(range(1000))
    assert counters["late"] == 0
    inserted = counters["concealed"] + counters["silent"] - 1  # 1: the start
    assert 8 <= inserted <= 12
    assert 20 <= run.buffer.delay_ms < 60


def test_fast_sender_clock_skips_quiet_frames():
    # The sender's clock is 1 % fast: a frame every 19.8 ms; every 25th
    # frame is quiet, and only those may be dropped.
    quiet = set(range(12, 1000, 25))
    arrivals = [(1000 + int(n * 19.8), n, False, n in quiet) for n in range(1000)]
    run = Run()
    run.play(arrivals, 1000, 1000 + 19800 + 100)
    counters = run.buffer.counters
    skipped = [n for n in range(1000) if n not in run.played]
    assert 8 <= counters["skipped"] <= 12
    assert set(skipped) <= quiet
    assert run.at_last_play["concealed"] == 0
    assert max(run.delays[100:]) < 60


def test_fast_sender_clock_with_no_silence_is_bounded():
    run = Run()
    run.play(steady(range(1000), spacing_ms=19.8), 1000, 1000 + 19800 + 100)
    assert 8 <= run.buffer.counters["skipped"] <= 12
    assert max(run.delays[100:]) < 20 + 3 * 20 + 20


def periodic_history(period, peak=8000):
    return pcm(tones([(8000 / period, peak)], FRAME))


def test_pitch_estimate_finds_the_period_of_a_voiced_signal():
    for period in (45, 64, 80, 100, 118):
        history = pcm(
            tones(
                [(8000 / period, 6000), (2 * 8000 / period, 3000), (3 * 8000 / period, 1500)], FRAME
            )
        )
        lag = estimate_pitch(history, FRAME)
        assert lag % period == 0 or abs(lag - period) <= 1, (period, lag)


def test_concealment_continues_the_waveform_then_fades_to_silence():
    period = 50  # 160 Hz
    history = periodic_history(period)
    expected = tones([(8000 / period, 8000)], 3 * FRAME, start=FRAME)
    concealer = Concealer()
    frames = []
    audible = []
    for _ in range(3):
        out = bytearray(2 * FRAME)
        audible.append(concealer.conceal(out, history, bytes(2 * FRAME)))
        frames.append(samples_of(out))
        history = out
    # The first 10 ms continue the sine within quantisation.
    assert max(abs(frames[0][n] - expected[n]) for n in range(80)) < 300
    energies = [sum(value * value for value in samples) for samples in frames]
    assert energies[0] > energies[1] > energies[2] > 0
    assert abs(frames[2][-1]) < 50
    assert audible == [True, True, False]  # faded out 60 ms after the loss began
    assert not concealer.losing


def test_the_fast_concealment_loop_gives_the_same_samples_as_the_plain_one():
    # Under MicroPython the fast concealer runs plc_viper; under CPython both
    # are the plain loop. A loss from a two-tone history until it fades out
    # (full level, the fade, silence), into a buffer at an odd address, then
    # the recovery blend; twice, the second loss on another period.
    fast = Concealer()
    plain = Concealer(fast=False)
    assert plain.path == "plain" and fast.path in ("viper", "plain")
    odd = bytearray(2 * FRAME + 1)
    view = memoryview(odd)[1:]
    other = bytearray(2 * FRAME)
    for period in (47, 113):
        history = pcm(tones([(8000 / period, 7000), (16000 / period, 2500)], FRAME))
        audible = True
        while audible:
            audible = fast.conceal(view, history, bytes(2 * FRAME))
            assert plain.conceal(other, history, bytes(2 * FRAME)) == audible
            assert bytes(view) == bytes(other)
        assert fast.pitch == plain.pitch
        fast.conceal(view, history, bytes(2 * FRAME))
        plain.conceal(other, history, bytes(2 * FRAME))
        good = bytearray(history)
        same = bytearray(history)
        fast.recover(good)
        plain.recover(same)
        assert good == same


def test_recovery_blends_into_the_next_good_frame():
    period = 48
    concealer = Concealer()
    concealer.conceal(bytearray(2 * FRAME), periodic_history(period), bytes(2 * FRAME))
    good = bytearray(2 * FRAME)  # a silent good frame shows the blend alone
    concealer.recover(good)
    blended = samples_of(good)
    # Sample 320 of the continued sine, at 80 % level (20 ms into the loss).
    synthetic = tones([(8000 / period, 8000)], 1, start=2 * FRAME)[0] * 0.8
    assert abs(blended[0] - synthetic) < 300
    assert abs(blended[39]) < abs(synthetic) / 10
    assert all(value == 0 for value in blended[40:])
    assert not concealer.losing


def test_pcm_samples_round_trip_through_the_helpers():
    values = [0, 1, -1, 32767, -32768, int(1000 * math.sin(1))]
    assert samples_of(pcm(values)) == values
