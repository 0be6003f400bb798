# In-band DTMF detection, wider than the portable tests (CPython only,
# numpy for the signals): every key at every level from -3 to -30 dBm0,
# through no codec, u-law and A-law, at several start phases, with noise;
# tone durations and breaks; frequency tolerance; and long stretches of
# speech-like and music-like audio that must never give a digit. The same
# for the speaker's DTMF mute (media/dtmf_mute.py): every key, level, law,
# phase, frame length, frequency offset and twist silenced from one block
# after its onset on, by at least 30 dB; speech and music never silenced.

import numpy
from intercom.media import g711
from intercom.media.dtmf_inband import BLOCK, COLUMN_HZ, KEYS, ROW_HZ, InbandDtmfDetector
from intercom.media.dtmf_mute import DtmfMute

RATE = 8000
ZERO_DBM0_PEAK = 32767 / 10 ** (3.17 / 20)


def amplitude(dbm0):
    return ZERO_DBM0_PEAK * 10 ** (dbm0 / 20)


def to_pcm(samples, law=None):
    data = numpy.clip(numpy.round(samples), -32768, 32767).astype("<i2").tobytes()
    if law == "ulaw":
        return g711.ulaw_decode(g711.ulaw_encode(data))
    if law == "alaw":
        return g711.alaw_decode(g711.alaw_encode(data))
    return data


def detect(samples, law=None):
    data = to_pcm(samples, law)
    detector = InbandDtmfDetector()
    for start in range(0, len(data), 320):
        detector.feed(data[start : start + 320])
    digits = ""
    while (digit := detector.next_digit()) is not None:
        digits += digit
    return digits


def key_signal(key, row_dbm0, column_dbm0, ms, offset=0, row_scale=1.0, column_scale=1.0):
    index = KEYS.index(key)
    time = (numpy.arange(ms * RATE // 1000) + offset) / RATE
    row = amplitude(row_dbm0) * numpy.sin(2 * numpy.pi * ROW_HZ[index // 4] * row_scale * time)
    column = amplitude(column_dbm0) * numpy.sin(
        2 * numpy.pi * COLUMN_HZ[index % 4] * column_scale * time
    )
    return row + column


def silence(ms):
    return numpy.zeros(ms * RATE // 1000)


def test_every_key_every_level_every_law_with_noise():
    generator = numpy.random.default_rng(7)
    failures = []
    for law in (None, "ulaw", "alaw"):
        for level in (-3, -6, -10, -15, -20, -25, -30):
            for key in KEYS:
                offset = int(generator.integers(0, 102))
                tone = key_signal(key, level, level, 60, offset)
                # White noise 20 dB below one tone.
                hiss = generator.normal(0, amplitude(level - 20) / numpy.sqrt(2), tone.size)
                signal = numpy.concatenate([silence(30), tone + hiss, silence(30)])
                got = detect(signal, law)
                if got != key:
                    failures.append((law, level, key, got))
    assert failures == []


def test_durations_and_breaks():
    for ms in (40, 45, 50, 70, 100, 500):
        for offset in range(0, 102, 17):
            signal = numpy.concatenate([silence(20), key_signal("5", -10, -10, ms, offset)])
            assert detect(numpy.concatenate([signal, silence(50)])) == "5", (ms, offset)
    for ms in (10, 15, 20):
        for offset in range(0, 102, 17):
            signal = numpy.concatenate([silence(20), key_signal("5", -10, -10, ms, offset)])
            assert detect(numpy.concatenate([signal, silence(50)])) == "", (ms, offset)
    # Breaks inside one press (up to 10 ms) never split it; 40 ms pauses
    # always separate presses.
    for start in range(0, 400, 13):
        press = key_signal("9", -10, -10, 200)
        press[800 + start : 880 + start] = 0.0
        assert detect(press) == "9", start
    for start in range(0, 102, 7):
        presses = numpy.concatenate(
            [
                silence(1 + start // 8),
                key_signal("3", -10, -10, 60),
                silence(40),
                key_signal("3", -10, -10, 60),
                silence(40),
            ]
        )
        assert detect(presses) == "33", start


def test_frequency_tolerance_accepts_1_5_and_rejects_3_5_percent():
    # ITU-T Q.24: tones within 1.5 % must be accepted, beyond 3.5 % rejected.
    for scale in (0.985, 1.015):
        for key in KEYS:
            for row_scale, column_scale in ((scale, scale), (scale, 2 - scale)):
                tone = key_signal(key, -10, -10, 80, row_scale=row_scale, column_scale=column_scale)
                assert detect(numpy.concatenate([silence(20), tone, silence(40)])) == key
    for scale in (0.965, 1.035):
        for key in KEYS:
            for row_scale, column_scale in ((scale, 1.0), (1.0, scale)):
                tone = key_signal(key, -10, -10, 80, row_scale=row_scale, column_scale=column_scale)
                got = detect(numpy.concatenate([silence(20), tone, silence(40)]))
                assert got == "", (key, row_scale, column_scale)


def test_twist_and_level_boundaries():
    for key in "1590#D":
        assert detect(key_signal(key, -10, -17, 80)) == key  # 7 dB normal twist
        assert detect(key_signal(key, -10, -19, 80)) == ""  # 9 dB
        assert detect(key_signal(key, -13.5, -10, 80)) == key  # 3.5 dB reverse twist
        assert detect(key_signal(key, -15, -10, 80)) == ""  # 5 dB
        assert detect(key_signal(key, -40, -40, 80)) == ""


def speech_like(seconds, generator):
    """Voiced segments with moving formants, and pauses. The pitch glides
    and wavers (a few percent at ~5 Hz) as a voice does."""
    out = []
    while sum(part.size for part in out) < seconds * RATE:
        count = int(generator.integers(800, 3200))
        time = numpy.arange(count) / RATE
        waver = 1 + generator.uniform(0.02, 0.04) * numpy.sin(
            2 * numpy.pi * generator.uniform(4, 7) * time + generator.uniform(0, 6.3)
        )
        pitch = numpy.linspace(*generator.uniform(85, 260, 2), count) * waver
        phase = 2 * numpy.pi * numpy.cumsum(pitch) / RATE
        formants = [
            numpy.linspace(*generator.uniform(250, 900, 2), count),
            numpy.linspace(*generator.uniform(850, 2400, 2), count),
            numpy.linspace(*generator.uniform(2200, 3200, 2), count),
        ]
        gains = (1.0, 0.6, 0.25)
        voiced = numpy.zeros(count)
        for harmonic in range(1, 40):
            frequency = harmonic * pitch
            weight = sum(
                gain / (1 + ((frequency - centre) / 110) ** 2)
                for centre, gain in zip(formants, gains, strict=True)
            )
            voiced += numpy.where(frequency < 3600, weight, 0.0) * numpy.sin(harmonic * phase)
        voiced *= amplitude(generator.uniform(-20, -6)) / numpy.max(numpy.abs(voiced))
        out += [voiced, silence(int(generator.integers(0, 200)))]
    return numpy.concatenate(out)


def test_speech_like_audio_gives_no_digits():
    generator = numpy.random.default_rng(11)
    for law in (None, "ulaw", "alaw"):
        assert detect(speech_like(20, generator), law) == ""


def note(count, frequency, harmonics, glide=1.0):
    """A note with overtone weights `harmonics`; its frequency moves
    geometrically by the factor `glide` over the note."""
    factor = glide ** (numpy.arange(count) / count)
    phase = 2 * numpy.pi * numpy.cumsum(frequency * factor) / RATE
    return sum(weight * numpy.sin((index + 1) * phase) for index, weight in enumerate(harmonics))


def equal_tempered(semitones_from_a4):
    return 440.0 * 2 ** (semitones_from_a4 / 12)


def test_music_like_audio_gives_no_digits():
    # Two tones that dominate a chord and sit within 1.5 % of a row and a
    # column frequency are DTMF by definition (ITU-T Q.24), whatever played
    # them; music here is what a door intercom hears: glissandi, chords of
    # three or more equal voices, and melodies of notes with overtones.
    generator = numpy.random.default_rng(12)
    pieces = []
    for _ in range(40):  # glissandi of triads over half an octave or more per second
        count = int(generator.integers(1600, 4000))
        base = generator.uniform(250, 1200)
        glide = generator.choice([-1, 1]) * generator.uniform(0.5, 1.5) * count / RATE
        voices = [note(count, base * ratio, (1.0,), 2**glide) for ratio in (1.0, 1.26, 1.5)]
        pieces.append(amplitude(-12) * sum(voices) / 3)
    for _ in range(40):  # steady equal-tempered triads, equal voices
        root = int(generator.integers(-12, 16))
        count = int(generator.integers(800, 3200))
        voices = [note(count, equal_tempered(root + step), (1.0,)) for step in (0, 4, 7)]
        pieces.append(amplitude(-12) * sum(voices) / 3)
    for _ in range(80):  # a melody of notes with overtones
        count = int(generator.integers(800, 2400))
        frequency = equal_tempered(int(generator.integers(-24, 12)))
        pieces.append(amplitude(-10) * note(count, frequency, (1.0, 0.5, 0.3, 0.2)) / 1.5)
    music = numpy.concatenate(pieces)
    for law in (None, "ulaw"):
        assert detect(music, law) == ""


LOOKAHEAD = 80  # the speaker's lag behind the detector, as MediaSession sets it


def speaker(samples, law=None, frame=160):
    """What the speaker plays of `samples` behind the DTMF mute (its lag
    undone, so that index n is input sample n), and the mute."""
    data = to_pcm(samples, law)
    mute = DtmfMute(frame, InbandDtmfDetector(), LOOKAHEAD)
    out = []
    for start in range(0, len(data) - 2 * frame + 1, 2 * frame):
        out.append(bytes(mute.play(bytearray(data[start : start + 2 * frame]), True, False)))
    played = numpy.frombuffer(b"".join(out), dtype="<i2").astype(float)
    return played[LOOKAHEAD:], mute


def pair_energy(samples, key):
    index = KEYS.index(key)
    times = numpy.arange(samples.size) / RATE
    total = 0.0
    for frequency in (ROW_HZ[index // 4], COLUMN_HZ[index % 4]):
        total += abs(numpy.sum(samples * numpy.exp(-2j * numpy.pi * frequency * times))) ** 2
    return total


def assert_silenced_after_one_block(tone, key, law, frame, lead, blocks=1):
    """tone (any signal holding the key) after `lead` samples of silence:
    from `blocks` blocks after its onset to its end, >= 30 dB below the tone."""
    signal = numpy.concatenate([numpy.zeros(lead), tone, silence(80)])
    played, _ = speaker(signal, law, frame)
    start = lead + blocks * BLOCK
    end = lead + tone.size
    reference = pair_energy(numpy.asarray(to_pcm_samples(tone, law))[blocks * BLOCK :], key)
    heard = pair_energy(played[start:end], key)
    assert heard * 1000 <= reference, (key, law, frame, lead, 10 * numpy.log10(reference / heard))


def to_pcm_samples(samples, law):
    return numpy.frombuffer(to_pcm(samples, law), dtype="<i2").astype(float)


def test_the_speaker_mute_leaks_at_most_one_block_of_every_key_level_law_and_phase():
    generator = numpy.random.default_rng(21)
    for law in (None, "ulaw", "alaw"):
        for level in (-3, -10, -20, -25):
            for key in KEYS:
                lead = 320 + int(generator.integers(0, 160))
                tone = key_signal(key, level, level, 100, int(generator.integers(0, 102)))
                tone += generator.normal(0, amplitude(level - 20) / numpy.sqrt(2), tone.size)
                assert_silenced_after_one_block(tone, key, law, 160, lead)


def test_the_speaker_mute_holds_for_every_frame_length_offset_and_twist():
    for frame in (80, 160, 240, 480):
        for lead in range(320, 320 + 160, 23):
            assert_silenced_after_one_block(
                key_signal("5", -10, -10, 120), "5", "ulaw", frame, lead
            )
    # Off their nominal frequencies by up to 0.5 %, tones are caught in their
    # first block; up to the 1.5 % that Q.24 accepts, from their second.
    for scale, blocks in ((0.995, 1), (1.005, 1), (0.985, 2), (1.015, 2)):
        for lead in range(320, 320 + 160, 19):
            tone = key_signal("9", -10, -10, 100, row_scale=scale, column_scale=2 - scale)
            assert_silenced_after_one_block(tone, "9", "alaw", 160, lead, blocks)
    assert_silenced_after_one_block(key_signal("#", -10, -16, 100), "#", None, 160, 333)
    assert_silenced_after_one_block(key_signal("#", -13, -10, 100), "#", None, 160, 333)


def test_speech_and_music_are_never_silenced():
    generator = numpy.random.default_rng(11)
    for law in (None, "ulaw", "alaw"):
        played, mute = speaker(speech_like(20, generator), law)
        assert mute.muted == 0, law
    generator = numpy.random.default_rng(12)
    chords = []
    for _ in range(60):
        root = int(generator.integers(-12, 16))
        count = int(generator.integers(800, 3200))
        voices = [note(count, equal_tempered(root + step), (1.0, 0.4)) for step in (0, 4, 7)]
        chords.append(amplitude(-12) * sum(voices) / 3)
    for law in (None, "ulaw"):
        _, mute = speaker(numpy.concatenate(chords), law)
        assert mute.muted == 0, law
