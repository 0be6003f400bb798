"""Mouth-to-ear delay measured on the audio itself (numpy, CPython only).

The sender's audio (the WAV it spoke) is searched for in what the receiver
played, by normalised cross-correlation:

    c[k] = sum_n x[n] * y[n + k] / (|x| * |y[k : k + N]|)

x is the sent signal (N samples), y the recording. Both sums over all k
come from FFTs, the window energies |y[k : k + N]|^2 from a cumulative sum,
so a 10 s recording takes milliseconds. c[k] is 1.0 when the recording
holds an exact (scaled) copy of x at offset k; G.711 with its ~38 dB SNR
gives about 0.99, a lost or concealed stretch lowers it, and unrelated
audio stays far below 0.5.

The lag is reported relative to where the sender's audio *started* on the
recording's timeline (`start_sample`): a recording that begins at the
moment the first sample was spoken gives the delay directly.
"""

import numpy

SAMPLE_RATE = 8000


class DelayEstimate:
    """Where the reference was found: lag (samples and ms) and how well it matched."""

    def __init__(self, lag_samples, peak, sample_rate):
        self.lag_samples = lag_samples
        self.peak = peak
        self.sample_rate = sample_rate

    @property
    def lag_ms(self):
        return 1000.0 * self.lag_samples / self.sample_rate

    def __repr__(self):
        return "DelayEstimate(lag_ms=%.1f, peak=%.3f)" % (self.lag_ms, self.peak)


def pcm_samples(pcm):
    """16-bit signed little-endian PCM bytes as a float64 array."""
    return numpy.frombuffer(bytes(pcm), dtype="<i2").astype(numpy.float64)


def _fft_size(length):
    size = 1
    while size < length:
        size <<= 1
    return size


def estimate_delay(
    reference,
    recording,
    start_sample=0,
    max_lag_ms=2000,
    min_lag_ms=-200,
    sample_rate=SAMPLE_RATE,
):
    """Find `reference` in `recording`; both are 1-D sample arrays.

    Lags from min_lag_ms to max_lag_ms after start_sample are searched (a
    negative lag would mean the audio arrived before it was spoken: it is
    searched so a wrong timeline shows up as such instead of as a clipped
    number). Returns a DelayEstimate; peak is 0.0 when either signal is silent
    or the recording is too short to hold the reference at any searched lag.
    """
    x = numpy.asarray(reference, dtype=numpy.float64)
    y = numpy.asarray(recording, dtype=numpy.float64)
    if x.ndim != 1 or y.ndim != 1 or len(x) == 0:
        raise ValueError("reference and recording must be non-empty 1-D arrays")
    first = start_sample + int(min_lag_ms * sample_rate // 1000)
    last = start_sample + int(max_lag_ms * sample_rate // 1000)
    if last < first:
        raise ValueError("max_lag_ms must not be below min_lag_ms")
    # Offsets before the recording's start see zeros: pad so every searched
    # offset k in [first, last] indexes y_padded[k - first : k - first + N].
    head = max(0, -first)
    needed = last + len(x)
    tail = max(0, needed - len(y))
    padded = numpy.concatenate((numpy.zeros(head), y, numpy.zeros(tail)))
    window_start = first + head
    segment = padded[window_start : window_start + (last - first) + len(x)]
    size = _fft_size(len(segment) + len(x))
    spectrum = numpy.fft.rfft(segment, size) * numpy.conj(numpy.fft.rfft(x, size))
    products = numpy.fft.irfft(spectrum, size)[: last - first + 1]
    energy = numpy.concatenate(([0.0], numpy.cumsum(segment * segment)))
    window_energy = energy[len(x) : len(x) + last - first + 1] - energy[: last - first + 1]
    reference_norm = numpy.sqrt(numpy.dot(x, x))
    # A window quieter than 1 LSB rms holds nothing that could match.
    audible = window_energy > len(x)
    denominator = reference_norm * numpy.sqrt(numpy.where(audible, window_energy, 1.0))
    scores = numpy.where(audible, products / numpy.maximum(denominator, 1e-12), 0.0)
    if not numpy.any(scores > 0.0):
        return DelayEstimate(0, 0.0, sample_rate)
    best = int(numpy.argmax(scores))
    return DelayEstimate(first + best - start_sample, float(scores[best]), sample_rate)
