"""Mouth-to-ear delay of one audio direction, measured on the audio itself.

Inputs: the WAV the sender spoke (the reference), the sender's timeline
(its RTP as captured: when each sample left, see timeline.wire_timeline)
and the receiver's timeline (what it played and when). Steps:

  1. the whole reference is found in both (coarse positions);
  2. the reference is cut into SEGMENT_MS pieces; each piece that holds
     speech (rms >= MIN_SEGMENT_RMS) is found again near its coarse place
     (+-WINDOW_MS) in both, giving one delay per piece:
         receiver time of the piece - sender time of the piece;
  3. the result is the median over the pieces (and their spread), with the
     median normalised correlation peak of all speech pieces in what was
     played; a piece matching below MIN_PIECE_PEAK (lost, concealed) gives
     no delay but its low peak counts.

Pieces keep the measurement honest when the receiver's jitter buffer
stretched or cut the audio mid-way: each piece lines up on its own, where
one correlation over the whole utterance would only match part of it.
"""

import numpy

from host_tools.sim.delay import estimate_delay

SAMPLE_RATE = 8000
SEGMENT_MS = 500
WINDOW_MS = 250
MIN_SEGMENT_RMS = 300.0
MIN_PIECE_PEAK = 0.5  # a piece matched worse than this gives no delay (lost, concealed)


class MouthToEar:
    """The measured delay: median (lag_ms), spread (min_ms, max_ms), peak."""

    def __init__(self, delays_ms, peaks):
        self.delays_ms = list(delays_ms)
        self.lag_ms = float(numpy.median(self.delays_ms))
        self.min_ms = float(min(self.delays_ms))
        self.max_ms = float(max(self.delays_ms))
        self.peak = float(numpy.median(peaks))

    @property
    def segments(self):
        return len(self.delays_ms)

    def __repr__(self):
        return "MouthToEar(lag_ms=%.1f, min_ms=%.1f, max_ms=%.1f, peak=%.3f, segments=%d)" % (
            self.lag_ms,
            self.min_ms,
            self.max_ms,
            self.peak,
            self.segments,
        )


def locate(reference, recording):
    """Where reference starts in recording (DelayEstimate; lag_samples = index).

    Up to half the reference may be cut off at the recording's start."""
    before_ms = len(reference) * 1000 // SAMPLE_RATE // 2
    length_ms = len(recording) * 1000 // SAMPLE_RATE
    return estimate_delay(reference, recording, 0, max_lag_ms=length_ms, min_lag_ms=-before_ms)


def _near(piece, recording, expected):
    return estimate_delay(piece, recording, expected, max_lag_ms=WINDOW_MS, min_lag_ms=-WINDOW_MS)


def measure(reference, sent, played):
    """MouthToEar of reference from the sent Timeline to the played one, or None
    when the reference holds no speech piece or is found in neither."""
    reference = numpy.asarray(reference, dtype=numpy.float64)
    sent_at = locate(reference, sent.samples)
    played_at = locate(reference, played.samples)
    if sent_at.peak <= 0.0 or played_at.peak <= 0.0:
        return None
    size = SEGMENT_MS * SAMPLE_RATE // 1000
    delays = []
    peaks = []
    for offset in range(0, len(reference) - size + 1, size):
        piece = reference[offset : offset + size]
        if numpy.sqrt(numpy.mean(piece * piece)) < MIN_SEGMENT_RMS:
            continue
        out = _near(piece, sent.samples, sent_at.lag_samples + offset)
        back = _near(piece, played.samples, played_at.lag_samples + offset)
        peaks.append(back.peak)
        if out.peak < MIN_PIECE_PEAK or back.peak < MIN_PIECE_PEAK:
            continue
        mouth = sent.sample_time(sent_at.lag_samples + offset + out.lag_samples)
        ear = played.sample_time(played_at.lag_samples + offset + back.lag_samples)
        delays.append(1000.0 * (ear - mouth))
    if not delays:
        return None
    return MouthToEar(delays, peaks)
