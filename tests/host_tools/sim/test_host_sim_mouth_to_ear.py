"""Mouth-to-ear delay per 0.5 s piece, from a sender's to a receiver's timeline."""

import numpy
from intercom.media import g711
from support.audio import read_wav
from support.paths import ROOT

from host_tools.sim.delay import pcm_samples
from host_tools.sim.mouth_to_ear import measure
from host_tools.sim.timeline import Timeline

ASSETS = ROOT / "host_tools" / "sim" / "assets"
FRAME = 160


def visitor():
    pcm = read_wav(ASSETS / "visitor.wav").astype("<i2").tobytes()
    pcm = pcm[: len(pcm) // 320 * 320]  # whole frames
    return pcm_samples(pcm), pcm_samples(g711.ulaw_decode(g711.ulaw_encode(pcm)))


def framed(samples, first_time, lead_frames=5):
    """samples after lead_frames of silence, one frame per 20 ms from first_time."""
    stream = numpy.concatenate((numpy.zeros(lead_frames * FRAME), samples))
    frames = len(stream) // FRAME
    starts = [index * FRAME for index in range(frames)]
    times = [first_time + 0.020 * index for index in range(frames)]
    return Timeline(stream, starts, times)


def test_a_steady_delay_is_measured_in_every_piece():
    reference, coded = visitor()
    sent = framed(coded, 100.0)
    played = framed(coded, 100.045, lead_frames=5)  # each frame played 45 ms later
    result = measure(reference, sent, played)
    assert result.segments >= 6
    assert abs(result.lag_ms - 45.0) < 0.01
    assert abs(result.min_ms - 45.0) < 0.01 and abs(result.max_ms - 45.0) < 0.01
    assert result.peak > 0.99


def test_a_stretch_mid_way_shows_in_the_spread_not_in_a_broken_match():
    reference, coded = visitor()
    sent = framed(coded, 100.0)
    # The receiver ran dry once: two frames of silence in the middle push
    # the rest of the utterance 40 ms later.
    cut = 12 * FRAME * 10  # 2.4 s in
    stretched = numpy.concatenate((coded[:cut], numpy.zeros(2 * FRAME), coded[cut:]))
    played = framed(stretched, 100.030)
    result = measure(reference, sent, played)
    assert abs(result.min_ms - 30.0) < 0.01
    assert abs(result.max_ms - 70.0) < 0.01
    assert {round(delay, 1) for delay in result.delays_ms} == {30.0, 70.0}
    assert result.peak > 0.9


def test_audio_that_never_arrived_is_not_measured():
    reference, coded = visitor()
    sent = framed(coded, 100.0)
    played = framed(numpy.zeros(len(coded)), 100.0)
    assert measure(reference, sent, played) is None
