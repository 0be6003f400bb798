# Audio for tests: the one WAV reader and writer (8 kHz mono 16-bit, what
# every door writes and reads), test signals, and ITU-T G.711 u-law
# arithmetic (G.191) independent of the firmware, to check its bytes.

import wave

import numpy

RATE = 8000
FRAME = 160  # samples per 20 ms


def write_wav(path, samples):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(numpy.asarray(samples, dtype="<i2").tobytes())
    return path


def read_wav(path):
    """The samples of an 8 kHz mono 16-bit WAV file, as floats."""
    with wave.open(str(path), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth(), source.getframerate()) == (
            1,
            2,
            RATE,
        ), path
        return numpy.frombuffer(source.readframes(source.getnframes()), dtype="<i2").astype(float)


# ---------------------------------------------------------------- signals


def syllable_tone(seconds=2.0, frequency=600):
    """A syllable-like voice: 200 ms bursts of a tone, 50 ms gaps (no DTMF pair)."""
    count = int(seconds * RATE)
    times = numpy.arange(count) / RATE
    envelope = ((numpy.arange(count) // 400) % 5 != 4).astype(float)
    return (9000 * numpy.sin(2 * numpy.pi * frequency * times) * envelope).astype("<i2")


def voice_like(seconds, seed=11):
    """Deterministic speech-like PCM: gliding harmonics in 200 ms syllables."""
    count = int(seconds * RATE)
    times = numpy.arange(count) / RATE
    rng = numpy.random.default_rng(seed)
    syllable = 1600
    pitch = numpy.repeat(rng.uniform(140, 260, count // syllable + 1), syllable)[:count]
    glide = 1 + 0.15 * numpy.sin(2 * numpy.pi * 1.3 * times)
    phase = 2 * numpy.pi * numpy.cumsum(pitch * glide) / RATE
    signal = sum(numpy.sin(k * phase) / k for k in range(1, 8))
    envelope = numpy.sin(numpy.pi * (numpy.arange(count) % syllable) / syllable) ** 0.5
    return (6000 * signal * envelope).astype("<i2")


def steady_tone(seconds, frequency, level=8000):
    """A pure tone (use a multiple of 50 Hz: a whole number of periods in
    each 20 ms packet, the bin tone_share measures)."""
    times = numpy.arange(int(seconds * RATE)) / RATE
    return (level * numpy.sin(2 * numpy.pi * frequency * times)).astype("<i2")


def tone_share(samples, frequency):
    """The share of the samples' energy at frequency (one DFT bin, the
    Goertzel measure): 1.0 for that pure tone, about 2/len for noise, 0.0
    for silence."""
    samples = numpy.asarray(samples, dtype=float)
    energy = float(numpy.sum(samples * samples))
    if energy == 0.0:
        return 0.0
    phase = 2 * numpy.pi * frequency * numpy.arange(len(samples)) / RATE
    bin_power = abs(numpy.sum(samples * numpy.exp(-1j * phase))) ** 2
    return 2.0 * bin_power / (len(samples) * energy)


def heard_share(samples, tone):
    """The median share of the tone in the loud 20 ms blocks of samples (a
    block may straddle a gap the jitter buffer concealed)."""
    blocks = [samples[index : index + FRAME] for index in range(0, len(samples) - FRAME + 1, FRAME)]
    loud = [block for block in blocks if numpy.abs(block).max() > 1000]
    assert len(loud) > 100, len(loud)  # seconds of it
    return numpy.median([tone_share(block, tone) for block in loud])


def noise_syllables(seconds, seed):
    """Band-limited noise in 200 ms syllables with 50 ms gaps: a signal whose
    autocorrelation has one sharp peak, so the lag found is unambiguous."""
    generator = numpy.random.default_rng(seed)
    count = int(seconds * RATE)
    noise = generator.standard_normal(count + 7)
    smooth = numpy.convolve(noise, numpy.ones(8) / 8, mode="valid")[:count]
    envelope = ((numpy.arange(count) // 400) % 5 != 4).astype(float)
    signal = smooth * envelope
    return (signal / numpy.abs(signal).max() * 12000).astype(numpy.int16)


# ---------------------------------------------------------------- measures


def loud_frames(samples, threshold=1000.0):
    """The 20 ms frames whose RMS exceeds threshold."""
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME)
    rms = numpy.sqrt((frames**2).mean(axis=1))
    return frames[rms > threshold]


def dominant_frequency(frames):
    spectrum = numpy.abs(numpy.fft.rfft(frames.reshape(-1)))
    spectrum[0] = 0
    return numpy.argmax(spectrum) * RATE / frames.size


def find(haystack, needle):
    """Index of the first exact occurrence of needle in haystack, or -1."""
    count = len(needle)
    candidates = numpy.flatnonzero(haystack[: len(haystack) - count + 1] == needle[0])
    for index in candidates:
        if numpy.array_equal(haystack[index : index + count], needle):
            return int(index)
    return -1


def best_match(recorded, reference):
    """(peak, lag): the normalised cross-correlation peak of `reference`
    against every window of `recorded`, and the sample offset of the best
    window (reference starts `lag` samples into recorded)."""
    recorded = numpy.asarray(recorded, dtype=float)
    reference = numpy.asarray(reference, dtype=float)
    windows = len(recorded) - len(reference) + 1
    assert windows > 0, "recording (%d) shorter than reference (%d)" % (
        len(recorded),
        len(reference),
    )
    size = 1 << int(numpy.ceil(numpy.log2(len(recorded) + len(reference))))
    spectrum = numpy.fft.rfft(recorded, size) * numpy.conj(numpy.fft.rfft(reference, size))
    products = numpy.fft.irfft(spectrum, size)[:windows]
    energy = numpy.concatenate(([0.0], numpy.cumsum(recorded**2)))
    window_norm = numpy.sqrt(numpy.maximum(energy[len(reference) :] - energy[:windows], 1e-9))
    scores = products / (window_norm * numpy.linalg.norm(reference))
    lag = int(numpy.argmax(scores))
    return float(scores[lag]), lag


def block_matches(heard, source, block=800, min_rms=300.0):
    """For each loud `block`-sample piece of `heard`: (peak, delay) of its
    best match in `source`, delay = where it is in heard minus where it is
    in source (samples). Shows drops and slips a one-window peak hides."""
    found = []
    for start in range(0, len(heard) - block + 1, block):
        piece = heard[start : start + block]
        if numpy.sqrt(numpy.mean(piece**2)) < min_rms:
            continue
        peak, position = best_match(source, piece)
        found.append((peak, start - position))
    return found


# ---------------------------------------------------------------- G.711 u-law


def ulaw_compress(samples):
    """ITU-T G.711 u-law encoding (G.191 arithmetic) of int16 samples."""
    x = numpy.asarray(samples, dtype=numpy.int32)
    magnitude = numpy.minimum((numpy.where(x >= 0, x, ~x) >> 2) + 33, 8191)
    exponent = numpy.clip(numpy.floor(numpy.log2(magnitude)).astype(numpy.int32) - 5, 0, 7)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    code = (exponent << 4) | mantissa
    return (code ^ numpy.where(x >= 0, 0xFF, 0x7F)).astype(numpy.uint8).tobytes()


def ulaw_expand(codes):
    """ITU-T G.711 u-law decoding (G.191 expand) of u-law bytes or codes."""
    if isinstance(codes, (bytes, bytearray)):
        codes = numpy.frombuffer(codes, dtype=numpy.uint8)
    codes = numpy.asarray(codes, dtype=numpy.int32)
    inverted = ~codes & 0xFF
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return numpy.where(codes < 0x80, -magnitude, magnitude).astype(numpy.int16)


def ulaw_round_trip(samples):
    """What a listener hears of `samples` over PCMU (encode, then decode)."""
    return ulaw_expand(ulaw_compress(samples)).astype(float)
