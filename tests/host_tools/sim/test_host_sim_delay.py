"""Delay measurement: a known shift of known audio through G.711 comes back."""

import numpy
from intercom.media import g711
from support.audio import read_wav
from support.paths import ROOT

from host_tools.sim.delay import estimate_delay, pcm_samples

ASSETS = ROOT / "host_tools" / "sim" / "assets"


def visitor_samples():
    return read_wav(ASSETS / "visitor.wav").astype("<i2").tobytes()


def through(codec_encode, codec_decode, pcm):
    return pcm_samples(codec_decode(codec_encode(pcm)))


def test_ulaw_shift_is_found_to_the_sample():
    pcm = visitor_samples()
    heard = through(g711.ulaw_encode, g711.ulaw_decode, pcm)
    shift = 437  # 54.625 ms
    recording = numpy.concatenate((numpy.zeros(shift), heard, numpy.zeros(800)))
    estimate = estimate_delay(pcm_samples(pcm), recording)
    assert estimate.lag_samples == shift
    assert abs(estimate.lag_ms - 54.625) < 1e-9
    assert estimate.peak > 0.99


def test_alaw_shift_relative_to_the_start_sample():
    pcm = visitor_samples()
    heard = through(g711.alaw_encode, g711.alaw_decode, pcm)
    # The reference started 1 s into the recording and arrived 120 ms later.
    lead = 8000 + 960
    recording = numpy.concatenate((numpy.zeros(lead), heard))
    estimate = estimate_delay(pcm_samples(pcm), recording, start_sample=8000)
    assert estimate.lag_samples == 960
    assert estimate.lag_ms == 120.0
    assert estimate.peak > 0.99


def test_recording_cut_short_and_noisy_is_still_found():
    pcm = visitor_samples()
    heard = through(g711.ulaw_encode, g711.ulaw_decode, pcm)
    random = numpy.random.default_rng(7)
    recording = numpy.concatenate((numpy.zeros(400), heard[: len(heard) * 3 // 4]))
    recording = recording + random.normal(0.0, 300.0, len(recording))
    estimate = estimate_delay(pcm_samples(pcm), recording)
    assert estimate.lag_samples == 400
    assert 0.6 < estimate.peak < 0.99


def test_audio_before_its_start_gives_a_negative_lag():
    pcm = visitor_samples()
    recording = numpy.concatenate((numpy.zeros(1000), pcm_samples(pcm)))
    estimate = estimate_delay(pcm_samples(pcm), recording, start_sample=1400)
    assert estimate.lag_samples == -400
    assert estimate.lag_ms == -50.0


def test_unrelated_audio_does_not_match():
    pcm = visitor_samples()
    noise = numpy.random.default_rng(3).normal(0.0, 3000.0, len(pcm) // 2 + 16000)
    estimate = estimate_delay(pcm_samples(pcm), noise)
    assert estimate.peak < 0.2


def test_silence_matches_nothing():
    pcm = visitor_samples()
    estimate = estimate_delay(pcm_samples(pcm), numpy.zeros(40000))
    assert estimate.peak == 0.0
    assert estimate.lag_samples == 0


def test_lags_outside_the_window_are_not_searched():
    pcm = visitor_samples()
    recording = numpy.concatenate((numpy.zeros(8000), pcm_samples(pcm)))  # 1000 ms late
    estimate = estimate_delay(pcm_samples(pcm), recording, max_lag_ms=500)
    assert estimate.lag_ms <= 500.0
    assert estimate.peak < 0.5
