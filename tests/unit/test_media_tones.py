# Tone generator: frequency (zero crossings and Goertzel), cadence by frame
# index, amplitude, fades, continuity across frames, one-shot endings.
# Portable: runs under pytest and tests/unit/mp_runner.py.

import math
import struct

from intercom.media import tones

FRAME = tones.FRAME_BYTES


def read_samples(generator, count):
    """The next `count` samples (fewer if the tone ends) as a list."""
    buffer = bytearray(2 * count)
    written = generator.read_into(buffer)
    return list(struct.unpack("<%dh" % (written // 2), buffer[:written]))


def frame_flags(generator, count):
    """For each of the next `count` 20 ms frames: does it carry sound?"""
    flags = []
    buffer = bytearray(FRAME)
    for _ in range(count):
        written = generator.read_into(buffer)
        if not written:
            break
        flags.append(any(buffer[:written]))
    return flags


def zero_crossings(samples):
    crossings = 0
    for index in range(1, len(samples)):
        if (samples[index - 1] < 0) != (samples[index] < 0):
            crossings += 1
    return crossings


def goertzel_power(samples, frequency):
    coefficient = 2 * math.cos(2 * math.pi * frequency / tones.SAMPLE_RATE)
    previous = 0.0
    before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return previous * previous + before * before - coefficient * previous * before


def test_ringback_is_425_hz_by_zero_crossings():
    on = read_samples(tones.ringback(), 8000)  # the first second: tone
    crossings = zero_crossings(on[tones.FADE_SAMPLES : -tones.FADE_SAMPLES])
    seconds = (len(on) - 2 * tones.FADE_SAMPLES) / tones.SAMPLE_RATE
    assert abs(crossings / seconds / 2 - 425) < 2


def test_ringback_cadence_is_1_s_on_4_s_off_by_frame_index():
    pattern = frame_flags(tones.ringback(), 520)
    assert len(pattern) == 520  # repeats, never ends
    for index in range(520):
        assert pattern[index] == (index % 250 < 50), index


def test_ringback_cadence_and_frequencies_are_configurable():
    generator = tones.ringback(frequencies=(440, 480), on_ms=2000, off_ms=4000)
    pattern = frame_flags(generator, 300)
    assert pattern == [index % 300 < 100 for index in range(300)]
    read_samples(generator, 800)
    on = read_samples(generator, 4000)  # 0.1 s into the second burst
    for frequency in (440, 480):
        assert goertzel_power(on, frequency) > 100 * goertzel_power(on, 425)
        assert goertzel_power(on, frequency) > 100 * goertzel_power(on, 520)


def test_amplitude_is_the_requested_peak():
    for amplitude in (tones.DEFAULT_AMPLITUDE, 32767, 1000):
        on = read_samples(tones.ringback(amplitude=amplitude), 8000)
        peak = max(abs(sample) for sample in on)
        assert amplitude * 0.99 <= peak <= amplitude, (amplitude, peak)
    dual = read_samples(tones.ringback(frequencies=(440, 480), amplitude=20000), 8000)
    assert max(abs(sample) for sample in dual) <= 20000


def test_frames_join_into_the_same_samples_as_one_long_read():
    # door_opened crosses tone, gap and tone steps inside single reads.
    whole = read_samples(tones.door_opened(), 4000)
    assert len(whole) == 4000
    for piece_samples in (160, 37):
        generator = tones.door_opened()
        pieces = []
        while True:
            piece = read_samples(generator, piece_samples)
            if not piece:
                break
            pieces.extend(piece)
        assert pieces == whole, piece_samples


def test_waveform_is_continuous_across_frame_boundaries():
    generator = tones.ringback()
    samples = []
    for _ in range(50):
        samples.extend(read_samples(generator, 160))
    # A 425 Hz sine of peak A moves at most 2 pi f A / fs per sample, plus
    # one step of the 256-entry table (phase truncation). A phase restarted
    # at a frame boundary would jump by up to 2 A.
    step = 2 * math.pi * tones.DEFAULT_AMPLITUDE
    limit = step * 425 / tones.SAMPLE_RATE + step / 256 + 2
    for index in range(1, len(samples)):
        assert abs(samples[index] - samples[index - 1]) <= limit, index


def test_bursts_fade_in_and_out_without_a_click():
    samples = read_samples(tones.ringback(), 8160)
    fade = tones.FADE_SAMPLES
    peak = tones.DEFAULT_AMPLITUDE
    assert samples[0] == 0 and samples[7999] == 0
    for index in range(fade):
        assert abs(samples[index]) <= peak * index // fade + 1, index
        assert abs(samples[7999 - index]) <= peak * index // fade + 1, index
    assert max(abs(sample) for sample in samples[fade : 2 * fade]) > peak // 2
    assert samples[8000:] == [0] * 160


def test_one_shot_tones_end_after_their_cadence():
    for make, duration_ms in (
        (tones.door_opened, 500),
        (tones.code_rejected, 700),
        (tones.call_failed, 2 * (3 * 330 + 1000)),
        (tones.call_ending, 1200),
    ):
        generator = make()
        assert len(frame_flags(generator, 1000)) == duration_ms // 20, make
        assert generator.finished
        assert generator.read_into(bytearray(FRAME)) == 0


def test_door_opened_rises_and_rejection_stays_low():
    opened = read_samples(tones.door_opened(), 4000)
    first, second = opened[:1200], opened[1600:4000]
    assert goertzel_power(first, 660) > 100 * goertzel_power(first, 990)
    assert goertzel_power(second, 990) > 100 * goertzel_power(second, 660)
    rejected = read_samples(tones.code_rejected(), 5600)
    assert goertzel_power(rejected, 300) > 100 * goertzel_power(rejected, 660)


def test_call_failed_plays_the_three_information_tones_in_order():
    generator = tones.call_failed()
    for frequency in (950, 1400, 1800):
        part = read_samples(generator, 2640)[100:-100]  # 330 ms each
        for other in (950, 1400, 1800):
            if other != frequency:
                assert goertzel_power(part, frequency) > 100 * goertzel_power(part, other)
    assert not any(read_samples(generator, 8000))  # 1 s of silence
    assert any(read_samples(generator, 160))  # and again


def test_call_ending_beeps_three_times():
    assert frame_flags(tones.call_ending(), 100) == [index % 20 < 10 for index in range(60)]
    on = read_samples(tones.call_ending(), 1600)[100:-100]
    assert abs(zero_crossings(on) / (len(on) / 8000) / 2 - 1400) < 10


def test_bad_parameters_raise():
    for call in (
        lambda: tones.ringback(frequencies=(4000,)),
        lambda: tones.ringback(frequencies=(0,)),
        lambda: tones.ringback(on_ms=0),
        lambda: tones.ringback(amplitude=40000),
        lambda: tones.ToneGenerator((), True),
    ):
        try:
            call()
        except ValueError:
            continue
        raise AssertionError("accepted")


def test_the_fast_loop_gives_the_same_samples_as_the_plain_one():
    # Under MicroPython the fast generator runs tones_viper; under CPython
    # both are the plain loop. Steps of one, two and three frequencies, fades,
    # silence, a repeat, and a buffer at an odd address.
    cadence = ((130, (425,)), (70, ()), (250, (440, 480)), (90, (950, 1400, 1800)))
    fast = tones.ToneGenerator(cadence, True, 12000)
    plain = tones.ToneGenerator(cadence, True, 12000, fast=False)
    assert plain.path == "plain" and fast.path in ("viper", "plain")
    odd = bytearray(FRAME + 1)
    view = memoryview(odd)[1:]
    other = bytearray(FRAME)
    for _ in range(40):  # 800 ms: every step and the start of the repeat
        assert fast.read_into(view) == plain.read_into(other) == FRAME
        assert bytes(view) == bytes(other)
