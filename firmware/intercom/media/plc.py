# Packet loss concealment for 8 kHz linear PCM, after the idea of ITU-T G.711
# Appendix I: on a lost frame, estimate the pitch period of the last good
# audio by autocorrelation, repeat that period, attenuate it over consecutive
# losses until it fades to silence, and blend the first good frame after a
# loss into the synthetic signal. Integer arithmetic only (Q14 gains, so
# sample * gain stays a small int on a Pico).
#
# Public API
#
#   Concealer(frame_samples=160)
#       frame_samples: any frame of at least HISTORY_SAMPLES / 2 (80
#       samples, 10 ms); the pitch search looks back HISTORY_SAMPLES (160),
#       over the last two frames when a frame is shorter than that.
#     .conceal(out, previous, older) -> True while the synthetic signal is
#         audible, False once it has faded to silence. out: the frame to
#         fill; previous, older: the last two frames played before it (good
#         or concealed), the history a loss starts from (read on its first
#         frame only). Frames are PCM as everywhere in intercom.media:
#         16-bit signed little-endian samples in a bytearray
#         (2 * frame_samples bytes).
#     .stop()           forget the current loss (silence follows)
#     .recover(frame)   the first good frame after losses: its start is
#                       cross-faded with the continuation of the synthetic
#                       signal (in place)
#     .losing           True from the first conceal() until recover(),
#                       stop() or the fade-out
#     .pitch            the period (samples) used for the current loss
#
# Timing (G.711 Appendix I, 8 kHz): full level for the first 10 ms of a loss,
# then -20 % of full level per 10 ms, silent from 60 ms on. Pitch search over
# lags 40..120 samples (200..66 Hz), correlation window of the last 40
# samples of history, coarse search on even lags then +/-1 refinement. The
# recovery cross-fade lasts 40 samples (5 ms).
#
# Allocation: the history and the pitch period live in preallocated
# buffers, filled on the first frame of a loss; the search itself uses
# plain ints whose products can outgrow a small int (so allocate), also
# only on that frame, never on the steady path.

from array import array

from intercom.compat import IS_MICROPYTHON

plc_loops = None  # intercom.media.plc_viper where the port has viper
if IS_MICROPYTHON:
    try:
        from intercom.media import plc_viper as plc_loops
    except ImportError:  # a port built without the viper emitter
        pass

MIN_PITCH = 40
MAX_PITCH = 120
CORRELATION_WINDOW = 40
FULL_LEVEL_SAMPLES = 80  # 10 ms
FADE_SAMPLES = 400  # 50 ms from full level to silence
MERGE_SAMPLES = 40
HISTORY_SAMPLES = MAX_PITCH + CORRELATION_WINDOW


class Concealer:
    """See the top. fast: the viper loop where the port has one (.path
    "viper"), else the plain loop (.path "plain"); the same samples."""

    def __init__(self, frame_samples=160, fast=True):
        if 2 * frame_samples < HISTORY_SAMPLES:
            raise ValueError("frame shorter than half the pitch search history")
        self.frame_samples = frame_samples
        self._period = array("h", bytes(2 * MAX_PITCH))
        self.pitch = MIN_PITCH
        self.losing = False
        self._phase = 0
        self._elapsed = 0  # samples synthesised since the loss began
        # The history a loss starts from: the last HISTORY_SAMPLES played,
        # or the last two frames when they are shorter than that.
        two = frame_samples < HISTORY_SAMPLES
        self._history_samples = 2 * frame_samples if two else HISTORY_SAMPLES
        history = memoryview(bytearray(2 * self._history_samples))
        self._history = history
        self._older = history[: 2 * frame_samples] if two else None
        self._newer = history[2 * frame_samples :] if two else history
        self._tail = 2 * (frame_samples - HISTORY_SAMPLES)  # of a frame, when one suffices
        self.path = "plain"
        self._loop = None
        if fast and plc_loops is not None:
            self.path = "viper"
            self._loop = plc_loops.conceal
        self._state = array("i", bytes(12))  # the viper loop's pitch, phase, elapsed

    def conceal(self, out, previous, older):
        if not self.losing:
            self._start(previous, older)
        if self._loop is not None:  # apart: MicroPython allocates a large frame at every call
            return self._conceal_viper(out)
        return self._conceal_plain(out)

    def _conceal_plain(self, out):
        pitch = self.pitch
        period = self._period
        phase = self._phase
        elapsed = self._elapsed
        for index in range(self.frame_samples):
            # _gain(elapsed), inline: a call per sample costs more than the rest
            if elapsed < FULL_LEVEL_SAMPLES:
                value = period[phase]
            elif elapsed < FULL_LEVEL_SAMPLES + FADE_SAMPLES:
                gain = 16384 - ((elapsed - FULL_LEVEL_SAMPLES) * 16384) // FADE_SAMPLES
                value = (period[phase] * gain) >> 14
            else:
                value = 0
            out[2 * index] = value & 0xFF
            out[2 * index + 1] = (value >> 8) & 0xFF
            phase += 1
            if phase == pitch:
                phase = 0
            elapsed += 1
        self._phase = phase
        self._elapsed = elapsed
        if elapsed >= FULL_LEVEL_SAMPLES + FADE_SAMPLES:
            self.losing = False  # faded out: the talk spurt is over
            return False
        return True

    def _conceal_viper(self, out):
        loop = self._loop
        if loop is None:
            return False
        state = self._state
        state[0] = self.pitch
        state[1] = self._phase
        state[2] = self._elapsed
        loop(out, self.frame_samples, self._period, state)
        self._phase = state[1]
        self._elapsed = state[2]
        if state[2] >= FULL_LEVEL_SAMPLES + FADE_SAMPLES:
            self.losing = False  # faded out: the talk spurt is over
            return False
        return True

    def stop(self):
        """Forget the current loss (silence follows, nothing to blend)."""
        self.losing = False

    def recover(self, frame):
        if self.losing:  # apart: MicroPython allocates a large frame at every call
            self._merge(frame)

    def _merge(self, frame):
        self.losing = False
        period = self._period
        phase = self._phase
        elapsed = self._elapsed
        for index in range(MERGE_SAMPLES):
            synthetic = (period[phase] * _gain(elapsed)) >> 14
            value = (sample(frame, index) * index + synthetic * (MERGE_SAMPLES - index)) // (
                MERGE_SAMPLES
            )
            frame[2 * index] = value & 0xFF
            frame[2 * index + 1] = (value >> 8) & 0xFF
            phase += 1
            if phase == self.pitch:
                phase = 0
            elapsed += 1

    def _start(self, previous, older):
        self.losing = True
        self._elapsed = 0
        self._phase = 0
        if self._older is not None:
            self._older[:] = older
            self._newer[:] = previous
        else:
            self._newer[:] = memoryview(previous)[self._tail :]
        values = _samples(self._history, self._history_samples)
        self.pitch = _pitch(values, self._history_samples)
        start = self._history_samples - self.pitch
        for index in range(self.pitch):
            self._period[index] = values[start + index]


def sample(pcm, index):
    """Sample `index` of 16-bit little-endian PCM, as a signed int."""
    value = pcm[2 * index] | (pcm[2 * index + 1] << 8)
    return value - 0x10000 if value >= 0x8000 else value


def _gain(elapsed):
    """Q14 gain after `elapsed` concealed samples."""
    if elapsed < FULL_LEVEL_SAMPLES:
        return 16384
    faded = elapsed - FULL_LEVEL_SAMPLES
    if faded >= FADE_SAMPLES:
        return 0
    return 16384 - (faded * 16384) // FADE_SAMPLES


def _samples(pcm, count):
    """The first count samples of pcm as an array('h') (a new one: the
    first frame of a loss allocates, see the top)."""
    values = array("h", bytes(2 * count))
    for index in range(count):
        values[index] = sample(pcm, index)
    return values


def estimate_pitch(history, length):
    """Lag in MIN_PITCH..MAX_PITCH that best repeats the end of history
    (PCM, length samples)."""
    return _pitch(_samples(history, length), length)


def _pitch(values, length):
    """estimate_pitch on the samples as ints (values, an array('h'))."""
    end = length
    window_start = end - CORRELATION_WINDOW
    best_lag = MIN_PITCH
    best_score_num = -1
    best_score_den = 1
    for lag in range(MIN_PITCH, MAX_PITCH + 1, 2):
        num, den = _score(values, window_start, end, lag, 2)
        if num * best_score_den > best_score_num * den:
            best_lag, best_score_num, best_score_den = lag, num, den
    coarse = best_lag
    best_score_num = -1
    for lag in (coarse - 1, coarse, coarse + 1):
        if MIN_PITCH <= lag <= MAX_PITCH:
            num, den = _score(values, window_start, end, lag, 1)
            if num * best_score_den > best_score_num * den:
                best_lag, best_score_num, best_score_den = lag, num, den
    return best_lag


def _score(values, start, end, lag, step):
    # Normalised correlation, kept as the fraction corr*|corr| / energy
    # (the sign kept so that anti-correlated lags lose).
    correlation = 0
    energy = 1
    for index in range(start, end, step):
        earlier = values[index - lag] >> 2
        correlation += (values[index] >> 2) * earlier
        energy += earlier * earlier
    magnitude = correlation if correlation >= 0 else -correlation
    return correlation * magnitude, energy
