"""Mouth-to-ear delay of one audio direction, measured on the audio itself.

Inputs: the WAV the sender spoke (the reference), the sender's timeline
(its RTP as captured: when each sample left, see timeline.wire_timeline)
and the receiver's timeline (what it played and when). Steps:

  1. the whole reference is found in what was sent, and in what was played
     from PLAYED_FROM_MS before to PLAYED_UNTIL_MS after the moment it was
     sent (coarse positions): a reference said more than once is played
     where the copy sent is, and a receiver that stretched or cut it
     several times, so that no whole copy matches well, is not looked for
     seconds away where a part of it matches better;
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
# Where the reference is looked for in what was played, from when it was
# sent: early enough that a wrong timeline shows as a negative delay, less
# than the 2.8 s between the replies the flat says three times (--echo).
PLAYED_FROM_MS = 500
PLAYED_UNTIL_MS = 2000


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
    if sent_at.peak <= 0.0:
        return None
    when_sent = played.sample_at(sent.sample_time(sent_at.lag_samples))
    played_at = estimate_delay(
        reference,
        played.samples,
        when_sent,
        max_lag_ms=PLAYED_UNTIL_MS,
        min_lag_ms=-PLAYED_FROM_MS,
    )
    if played_at.peak <= 0.0:
        return None
    played_start = when_sent + played_at.lag_samples
    size = SEGMENT_MS * SAMPLE_RATE // 1000
    delays = []
    peaks = []
    for offset in range(0, len(reference) - size + 1, size):
        piece = reference[offset : offset + size]
        if numpy.sqrt(numpy.mean(piece * piece)) < MIN_SEGMENT_RMS:
            continue
        out = _near(piece, sent.samples, sent_at.lag_samples + offset)
        back = _near(piece, played.samples, played_start + offset)
        peaks.append(back.peak)
        if out.peak < MIN_PIECE_PEAK or back.peak < MIN_PIECE_PEAK:
            continue
        mouth = sent.sample_time(sent_at.lag_samples + offset + out.lag_samples)
        ear = played.sample_time(played_start + offset + back.lag_samples)
        delays.append(1000.0 * (ear - mouth))
    if not delays:
        return None
    return MouthToEar(delays, peaks)
