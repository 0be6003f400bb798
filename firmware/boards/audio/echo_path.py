# A simulated acoustic echo path for the sim board (CPython with numpy): the
# door's speaker output comes back into its microphone, as it does in a
# real housing, on top of what the mic hears anyway (the visitor's WAV).
#
#   speaker frames ──> delay (delay_ms) ──> room impulse response (gain_db)
#                                                    │
#   mic source (near-end speech) ──────────────────> + <── room noise (noise_db)
#                                                    │
#                                                    └──> the door's mic frames
#
# The impulse response is generated, never loaded: a direct path after
# delay_ms (speaker to mic inside the housing), a few early reflections in
# the next EARLY_SPAN_MS, then a diffuse tail of random values under an
# exponential envelope that falls 60 dB in decay_ms (the room's RT60). It
# is scaled so that its energy sum(h^2) is gain_db (0 dB: the echo is as
# loud as the speaker signal). Room noise is white noise through a one-pole
# low-pass (a corner near 450 Hz) at noise_db dBFS RMS. The same
# seed gives the same response and noise.
#
# On top of delay_ms comes the sim's own audio path: the runtime reads a
# mic frame and then plays the speaker frame of the same tick, so a speaker
# frame reaches the mic one frame later at the earliest.
#
#   path = EchoPath(frame_samples, delay_ms=20, gain_db=-3, decay_ms=150,
#                   noise_db=-60, seed=1)
#   path.mic_frame(near_pcm, out)   out = near + the echo of what was played
#                                   before + noise (16-bit LE, clipped)
#   path.played(speaker_pcm)        the frame the speaker plays this tick
#   path.echo / path.noise          the last mic frame's parts (float
#                                   arrays), for measurements
#   room_response(...)              the impulse response alone

import numpy

SAMPLE_RATE = 8000
SAMPLES_PER_MS = SAMPLE_RATE // 1000
EARLY_REFLECTIONS = 4
EARLY_SPAN_MS = 8
DIRECT_SHARE = 0.5  # the direct path's share of the response's energy
NOISE_POLE = 0.7  # one-pole low-pass of the room noise (corner near 450 Hz)
FULL_SCALE = 32768.0


def room_response(delay_ms, gain_db, decay_ms, seed):
    """A decaying room response (numpy float array of delay_ms + decay_ms),
    energy gain_db dB."""
    delay = delay_ms * SAMPLES_PER_MS
    tail = max(1, decay_ms * SAMPLES_PER_MS)
    random = numpy.random.default_rng(seed)
    diffuse = random.standard_normal(tail) * 10.0 ** (-3.0 * numpy.arange(tail) / tail)
    diffuse[0] = 0.0
    early = numpy.zeros(tail)
    positions = random.integers(1, EARLY_SPAN_MS * SAMPLES_PER_MS, EARLY_REFLECTIONS)
    early[positions] = random.uniform(-0.6, 0.6, EARLY_REFLECTIONS)
    reverberant = diffuse + early
    reverberant *= numpy.sqrt((1.0 - DIRECT_SHARE) / numpy.sum(reverberant**2))
    response = numpy.zeros(delay + tail)
    response[delay] = numpy.sqrt(DIRECT_SHARE)
    response[delay:] += reverberant
    return response * 10.0 ** (gain_db / 20.0)


class EchoPath:
    def __init__(self, frame_samples, delay_ms=20, gain_db=-3, decay_ms=150, noise_db=-60, seed=1):
        self.frame_samples = frame_samples
        self.response = room_response(delay_ms, gain_db, decay_ms, seed)
        # the speaker signal the response still reaches: its length plus the
        # one-frame audio path
        self._history = numpy.zeros(len(self.response) + 2 * frame_samples)
        self._random = numpy.random.default_rng(seed + 1)
        # a one-pole low-pass of unit-variance noise has variance 1 / (1 - p^2)
        self._noise_scale = FULL_SCALE * 10.0 ** (noise_db / 20.0) * numpy.sqrt(1.0 - NOISE_POLE**2)
        self._noise_state = 0.0
        self.echo = numpy.zeros(frame_samples)
        self.noise = numpy.zeros(frame_samples)

    def played(self, speaker_pcm):
        frame = numpy.frombuffer(bytes(speaker_pcm), dtype="<i2").astype(float)
        count = self.frame_samples
        self._history[:-count] = self._history[count:]
        self._history[-count:] = frame

    def _room_noise(self):
        white = self._random.standard_normal(self.frame_samples) * self._noise_scale
        out = numpy.empty(self.frame_samples)
        state = self._noise_state
        for index in range(self.frame_samples):
            state = NOISE_POLE * state + white[index]
            out[index] = state
        self._noise_state = state
        return out

    def mic_frame(self, near_pcm, out):
        count = self.frame_samples
        # mic sample i hears speaker sample i - count - t through response[t];
        # the history ends with the last sample played, one frame before the
        # start of this mic frame
        reach = count + len(self.response) - 1
        self.echo = numpy.convolve(self._history[-reach:], self.response, mode="valid")
        self.noise = self._room_noise()
        near = numpy.frombuffer(bytes(near_pcm[: 2 * count]), dtype="<i2").astype(float)
        mixed = numpy.clip(numpy.rint(near + self.echo + self.noise), -32768, 32767)
        out[: 2 * count] = mixed.astype("<i2").tobytes()
