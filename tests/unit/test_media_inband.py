# In-band DTMF detection on 8 kHz PCM: every key at several levels, after a
# G.711 round trip, with noise; and what must not count as a key press.
# Short signals keep this fast under MicroPython; tests/core/ sweeps
# wider.

import math

from intercom.media import dtmf_inband, g711
from intercom.media.dtmf_inband import COLUMN_HZ, KEYS, ROW_HZ, InbandDtmfDetector
from media_signals import amplitude, noise_function, render, tone_function


def silence(ms):
    return bytes(16 * ms)


def key_components(key, row_dbm0, column_dbm0=None):
    if column_dbm0 is None:
        column_dbm0 = row_dbm0
    index = KEYS.index(key)
    return [
        (ROW_HZ[index // 4], amplitude(row_dbm0)),
        (COLUMN_HZ[index % 4], amplitude(column_dbm0)),
    ]


def key_tones(key, row_dbm0, column_dbm0=None, ms=60):
    return render(ms * 8, tone_function(key_components(key, row_dbm0, column_dbm0)))


def detect(data, law=None):
    if law == "ulaw":
        data = g711.ulaw_decode(g711.ulaw_encode(data))
    elif law == "alaw":
        data = g711.alaw_decode(g711.alaw_encode(data))
    detector = InbandDtmfDetector()
    for start in range(0, len(data), 320):  # 20 ms frames, as the board feeds it
        detector.feed(data[start : start + 320])
    digits = ""
    digit = detector.next_digit()
    while digit is not None:
        digits += digit
        digit = detector.next_digit()
    return digits


def test_the_written_out_constants_are_their_expressions():
    # dtmf_inband keeps its filters' constants as literals (in a Pico's
    # flash): each must be what its expression gives for its frequency.
    m = dtmf_inband
    for index, frequency in enumerate(ROW_HZ + COLUMN_HZ):
        cosine = math.cos(2.0 * math.pi * frequency / m.SAMPLE_RATE)
        fixed = int(round(2.0 * cosine * m.ONE_Q12))
        omega = math.acos(fixed / (2.0 * m.ONE_Q12))
        offset_hz = min(m.FREQUENCY_TOLERANCE * frequency, m.MAX_OFFSET_HZ)
        expected = (
            (m.COEFFICIENTS, fixed / m.ONE_Q12),
            (m.SINES, math.sin(omega)),
            (m.ADVANCES, (omega * m.BLOCK) % (2.0 * math.pi)),
            (m.PHASE_LIMITS, 2.0 * math.pi * m.BLOCK * offset_hz / m.SAMPLE_RATE),
        )
        assert m.FIXED[index] == fixed, frequency
        for table, value in expected:
            assert abs(table[index] - value) <= 1e-9 * abs(value), (frequency, value)


def test_every_key_at_minus_10_dbm0_with_noise_after_ulaw():
    for index, key in enumerate(KEYS):
        keyed = tone_function(key_components(key, -10))
        hiss = noise_function(amplitude(-40), seed=index + 1)
        signal = render(480, lambda n, keyed=keyed, hiss=hiss: keyed(n) + hiss(n))
        assert detect(silence(30) + signal + silence(30), "ulaw") == key, key


def test_every_key_at_minus_3_dbm0_after_alaw():
    for key in KEYS:
        assert detect(silence(30) + key_tones(key, -3) + silence(30), "alaw") == key


def test_every_key_at_minus_20_dbm0_after_ulaw():
    for key in KEYS:
        assert detect(silence(30) + key_tones(key, -20) + silence(30), "ulaw") == key


def test_one_digit_per_press_and_a_pause_re_arms():
    press = key_tones("1", -10, ms=100)
    assert detect(press + silence(40) + press) == "11"
    long_press = key_tones("5", -10, ms=300)
    dropout = long_press[:2400] + silence(10) + long_press[2560:]  # a 10 ms break
    assert detect(dropout) == "5"
    assert detect(key_tones("1", -10) + key_tones("2", -10)) == "12"


def test_minimum_duration():
    assert detect(silence(30) + key_tones("8", -10, ms=40) + silence(30)) == "8"
    assert detect(silence(30) + key_tones("8", -10, ms=20) + silence(30)) == ""


def test_twist_limits():
    assert detect(key_tones("6", -10, -16)) == "6"  # 6 dB normal twist: fine
    assert detect(key_tones("6", -10, -20)) == ""  # 10 dB: too much
    assert detect(key_tones("6", -13, -10)) == "6"  # 3 dB reverse twist: fine
    assert detect(key_tones("6", -16, -10)) == ""  # 6 dB reverse: too much


def test_too_quiet_is_ignored():
    assert detect(key_tones("0", -45)) == ""


def test_single_tones_and_chords_that_are_not_dtmf_pairs():
    level = amplitude(-10)
    cases = [
        [(697, level)],
        [(1336, level)],
        [(697, level), (852, level)],  # two rows
        [(1209, level), (1477, level)],  # two columns
        [(697, level), (1000, level)],
        [(440, level), (1209, level)],
        [(770, level), (1336, level), (1100, level)],  # a pair drowned in a third tone
    ]
    for components in cases:
        assert detect(render(800, tone_function(components))) == "", components


def vowel_function(count, pitch_start, pitch_end, formants):
    """Harmonic-rich voiced sound with a gliding pitch and formant peaks."""
    state = [0.0]

    def sample_at(index):
        pitch = pitch_start + (pitch_end - pitch_start) * index / count
        state[0] += 2 * math.pi * pitch / 8000
        value = 0.0
        harmonic = 1
        while harmonic * pitch < 3400:
            weight = 0.0
            for centre, gain in formants:
                weight += gain / (1 + ((harmonic * pitch - centre) / 120) ** 2)
            value += weight * math.sin(harmonic * state[0])
            harmonic += 1
        return value

    return sample_at


def test_speech_like_vowels_do_not_detect():
    # "ah" (formants ~730/1090 Hz) and "ee" (~270/2290 Hz) glides: their
    # harmonics pass through DTMF frequencies, never as a clean pair.
    ah = vowel_function(800, 110, 190, [(730, 3000), (1090, 2000), (2440, 600)])
    ee = vowel_function(800, 220, 150, [(270, 3000), (2290, 1500), (3010, 600)])
    assert detect(render(800, ah), "ulaw") == ""
    assert detect(render(800, ee), "alaw") == ""


def sweep_function(count, low, high, peak):
    """A tone and its fifth gliding from low to high Hz."""
    state = [0.0]

    def sample_at(index):
        state[0] += 2 * math.pi * (low + (high - low) * index / count) / 8000
        return peak * (math.sin(state[0]) + 0.7 * math.sin(1.5 * state[0]))

    return sample_at


def test_music_like_sweep_does_not_detect():
    assert detect(render(2400, sweep_function(2400, 600, 1700, amplitude(-10)))) == ""
