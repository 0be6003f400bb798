# The jitter buffer re-frames any packet time into the board's frame: packets
# of 10 to 60 ms (whole 10 ms blocks) in, frames of our own ptime out. The
# payloads carry a ramp (sample n holds n % 251 + 1, never 0), decoded to
# 100 times that, so every sample played shows whether the stream came out
# whole and in order across packet and frame boundaries (silence is 0).

from intercom.media.jitter import JitterBuffer
from intercom.media.plc import Concealer
from media_signals import pcm, tones

RAMP = 251  # prime: no packet or frame length is a multiple of it
START_TS = 0x1234F000


def ramp_decoder(src, dst):
    for index in range(len(src)):
        value = src[index] * 100
        dst[2 * index] = value & 0xFF
        dst[2 * index + 1] = value >> 8


def ramp_payload(first_sample, count):
    return bytes([(first_sample + index) % RAMP + 1 for index in range(count)])


def ramp_value(sample):
    """What sample `sample` of the stream decodes to."""
    return (sample % RAMP + 1) * 100


def follows(previous, value):
    return value == (previous // 100 % RAMP + 1) * 100


def run(packet_ms, frame_ms, lost=(), duration_ms=2000, min_delay_ms=20):
    """Packets of packet_ms sent every packet_ms (5 ms network delay), one
    get() every frame_ms. Returns (frames played as sample lists, buffer)."""
    packet = 8 * packet_ms
    buffer = JitterBuffer(ramp_decoder, frame_samples=8 * frame_ms, min_delay_ms=min_delay_ms)
    frames = []
    number = 0
    now = 1000
    next_get = 1000 + frame_ms
    while now < 1000 + duration_ms:
        sent = 1000 + number * packet_ms
        if sent + 5 <= now:
            if number not in lost:
                buffer.put(
                    START_TS + number * packet, ramp_payload(number * packet, packet), sent + 5
                )
            number += 1
            continue
        if now >= next_get:
            out = buffer.get(now)
            frames.append([out[2 * i] | (out[2 * i + 1] << 8) for i in range(len(out) // 2)])
            next_get += frame_ms
        now += 1
    return frames, buffer


def assert_whole_ramp(samples):
    """From the first sound on, every sample follows the one before;
    returns the index of the first sound."""
    first = 0
    while samples[first] == 0:
        first += 1
    for index in range(first + 1, len(samples)):
        assert follows(samples[index - 1], samples[index]), (index, samples[index - 1 : index + 1])
    return first


def joined(frames):
    return [value for frame in frames for value in frame]


def test_every_packet_time_from_10_to_60_ms_plays_whole_in_20_ms_frames():
    for packet_ms in (10, 20, 30, 40, 50, 60):
        frames, buffer = run(packet_ms, 20)
        samples = joined(frames)
        first = assert_whole_ramp(samples)
        assert len(samples) - first >= 8 * (2000 - 100 - 2 * packet_ms), packet_ms
        counters = buffer.counters
        assert counters["concealed"] == 0 and counters["late"] == 0, (packet_ms, counters)
        assert counters["malformed"] == 0 and counters["overflow"] == 0, (packet_ms, counters)


def test_frames_of_10_30_and_60_ms_play_every_packet_time_whole():
    for frame_ms in (10, 30, 60):
        for packet_ms in (10, 20, 30, 40, 60):
            frames, buffer = run(packet_ms, frame_ms)
            assert_whole_ramp(joined(frames))
            assert buffer.counters["concealed"] == 0, (frame_ms, packet_ms, buffer.counters)
            assert buffer.counters["late"] == 0, (frame_ms, packet_ms, buffer.counters)


def test_a_packet_shorter_than_the_frame_waits_for_the_frames_last_block():
    # 10 ms packets, 20 ms frames: a frame is played only once both halves
    # are in, then after the minimum delay (20 ms) like any frame.
    frames, buffer = run(10, 20, min_delay_ms=20)
    assert buffer.target_ms == 20
    assert 20 <= buffer.delay_ms < 30


def test_a_lost_10_ms_packet_conceals_only_its_half_of_the_frame():
    # Packet 101 is the second half of the frame of samples 8000..8159.
    frames, buffer = run(10, 20, lost={101})
    assert buffer.counters["concealed"] == 1
    samples = joined(frames)
    first = samples.index(ramp_value(0))
    frame = samples[first + 8000 : first + 8160]
    assert frame[0] == ramp_value(8000)
    assert all(follows(frame[n - 1], frame[n]) for n in range(1, 80))  # the half that came
    assert not all(follows(frame[n - 1], frame[n]) for n in range(80, 160))  # concealed
    # After the 40 samples blended at recovery the stream is whole again.
    rest = samples[first + 8160 + 40 :]
    assert rest[0] == ramp_value(8200)
    assert all(follows(rest[n - 1], rest[n]) for n in range(1, len(rest)))


def test_a_packet_partly_played_already_keeps_its_later_blocks():
    # 40 ms packets into 20 ms frames; the third packet comes 30 ms late:
    # its first frame was due (concealed), its second still plays in place,
    # once the buffer has grown by the 10 ms it was late beyond the delay.
    buffer = JitterBuffer(ramp_decoder, frame_samples=160, min_delay_ms=20)
    buffer.put(START_TS, ramp_payload(0, 320), 1000)
    buffer.put(START_TS + 320, ramp_payload(320, 320), 1040)
    firsts = []
    for now in range(1020, 1120, 20):
        out = buffer.get(now)
        firsts.append(out[0] | (out[1] << 8))
    buffer.put(START_TS + 640, ramp_payload(640, 320), 1110)
    assert buffer.get(1120) is not None and buffer.target_ms == 30  # grows: a filler
    out = buffer.get(1140)  # its first 40 samples blend out of the concealment
    assert firsts[:4] == [ramp_value(0), ramp_value(160), ramp_value(320), ramp_value(480)]
    assert out[80] | (out[81] << 8) == ramp_value(840)
    assert buffer.counters["late"] == 0 and buffer.counters["concealed"] == 2


def test_payloads_that_are_no_whole_number_of_blocks_or_longer_than_the_ring_are_malformed():
    buffer = JitterBuffer(ramp_decoder, frame_samples=160, max_delay_ms=100)
    for length in (40, 100, 81, 0, 8 * 1000):
        buffer.put(START_TS, bytes(length), 1000)
    assert buffer.counters["malformed"] == 5
    buffer.put(START_TS, bytes(480), 1000)  # 60 ms: fits
    assert buffer.counters["malformed"] == 5


def test_concealment_works_on_10_ms_frames():
    period = 50
    concealer = Concealer(80)
    older = pcm(tones([(8000 / period, 8000)], 80))
    previous = pcm(tones([(8000 / period, 8000)], 80, start=80))
    out = bytearray(160)
    assert concealer.conceal(out, previous, older) is True
    expected = tones([(8000 / period, 8000)], 80, start=160)
    got = [out[2 * i] | (out[2 * i + 1] << 8) for i in range(80)]
    got = [value - 0x10000 if value >= 0x8000 else value for value in got]
    assert max(abs(got[n] - expected[n]) for n in range(80)) < 300
