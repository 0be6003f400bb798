# Call-progress and feedback tones as 16-bit 8000 Hz PCM, frame by frame.
#
# A tone is a cadence: a list of (duration_ms, frequencies) steps, where no
# frequency means silence, played once or repeated. Each step starts at phase
# zero and fades in and out over FADE_SAMPLES so bursts do not click. The
# generator keeps its phase and position between calls: frames joined end to
# end are the same samples as one long read.
#
# Integer arithmetic only (a Pico's floats are single precision): a 24-bit
# phase accumulator per frequency (8000 / 2**24 Hz resolution, small ints on
# every port) indexes a 256-entry sine period, read from the quarter wave
# and scaled to the step's amplitude sample by sample (sine_sample): a
# table per tone would take 0.5 KiB of a Pico's heap while it plays.
# Truncating the phase to 8 bits leaves spurs near -48 dBc, well under
# G.711's own ~38 dB SNR.
#
#   tone            default cadence                             plays
#   ringback        425 Hz, 1 s on / 4 s off (as in Germany,    until stopped
#                   ITU-T E.180 Suppl. 2); configurable
#   door_opened     660 Hz 150 ms, 50 ms gap, 990 Hz 300 ms     once
#   code_rejected   300 Hz 150 ms, 100 ms gap, 300 Hz 450 ms    once
#   call_failed     950, 1400, 1800 Hz x 330 ms, 1 s silence    twice
#                   (the special information tone, ITU-T Q.35:
#                   nobody answered / not registered)
#   call_ending     1400 Hz 200 ms on / 200 ms off, three beeps  once
#                   (the call reaches max_duration soon)
#   chime           660 Hz 400 ms, 550 Hz 700 ms ("ding-dong":   once
#                   the bell rang; chime.tone on a press)
#   listen_notice   1200 Hz 120 ms, 80 ms gap, 1200 Hz 120 ms,   every
#                   then silence to the interval (a resident     interval_ms
#                   listens in: the door is not a hidden mic)
#   message_beep    1000 Hz 500 ms: "leave a message after       once
#                   the tone"
#
# A silent stretch can be passed over without writing samples:
# silent_for(samples) says whether the next samples all lie in one silent
# step, skip(samples) then moves past them (the listen notice costs nothing
# between its beeps).

from array import array

from intercom.compat import IS_MICROPYTHON

tone_loops = None  # intercom.media.tones_viper where the port has viper
if IS_MICROPYTHON:
    try:
        from intercom.media import tones_viper as tone_loops
    except ImportError:  # a port built without the viper emitter
        pass

SAMPLE_RATE = 8000
SAMPLES_PER_MS = 8
FRAME_SAMPLES = 160  # 20 ms
FRAME_BYTES = 2 * FRAME_SAMPLES
DEFAULT_AMPLITUDE = 10000  # about -10 dBFS peak
FADE_SHIFT = 5
FADE_SAMPLES = 1 << FADE_SHIFT  # 4 ms
PHASE_BITS = 24
PHASE_MASK = (1 << PHASE_BITS) - 1
TABLE_SHIFT = PHASE_BITS - 8

# round(32767 * sin(pi / 2 * i / 64)) for i = 0..64: a quarter wave.
QUARTER_SINE = (
    0, 804, 1608, 2410, 3212, 4011, 4808, 5602, 6393, 7179, 7962, 8739, 9512,
    10278, 11039, 11793, 12539, 13279, 14010, 14732, 15446, 16151, 16846, 17530,
    18204, 18868, 19519, 20159, 20787, 21403, 22005, 22594, 23170, 23731, 24279,
    24811, 25329, 25832, 26319, 26790, 27245, 27683, 28105, 28510, 28898, 29268,
    29621, 29956, 30273, 30571, 30852, 31113, 31356, 31580, 31785, 31971, 32137,
    32285, 32412, 32521, 32609, 32678, 32728, 32757, 32767,
)  # fmt: skip


# The quarter wave as the viper loop reads it (130 bytes, once).
QUARTER_WAVE = array("H", QUARTER_SINE)


def sine_sample(index, amplitude):
    """Sample `index` (0..255) of one sine period with the given peak."""
    quarter = index & 63
    if index & 64:
        quarter = 64 - quarter
    value = (QUARTER_SINE[quarter] * amplitude + 16383) >> 15
    return -value if index & 128 else value


def phase_step(frequency):
    """Phase increment per sample for frequency (Hz) on the 24-bit circle."""
    if not 0 < frequency < SAMPLE_RATE // 2:
        raise ValueError("tone frequency %r Hz outside 1..3999" % (frequency,))
    return ((frequency << PHASE_BITS) + SAMPLE_RATE // 2) // SAMPLE_RATE


class ToneGenerator:
    """PCM for one cadence; read_into() fills the caller's buffer.

    cadence: sequence of (duration_ms, frequencies) with frequencies a tuple
    of ints in Hz, () for silence. repeat: loop forever, else play once.
    amplitude: peak of the summed frequencies (each gets an equal share).
    fast: the viper loop where the port has one (.path "viper"), else the
    plain loop (.path "plain"); both give the same samples.
    """

    def __init__(self, cadence, repeat, amplitude=DEFAULT_AMPLITUDE, fast=True):
        if not 0 <= amplitude <= 32767:
            raise ValueError("tone amplitude %r outside 0..32767" % (amplitude,))
        if not cadence:
            raise ValueError("empty tone cadence")
        self.steps = []
        for duration_ms, frequencies in cadence:
            if duration_ms <= 0:
                raise ValueError("tone step of %r ms" % (duration_ms,))
            count = len(frequencies)
            increments = tuple(phase_step(frequency) for frequency in frequencies)
            # each frequency's peak (the sum's peak is the tone's); None: silence
            peak = amplitude // count if count else None
            self.steps.append((duration_ms * SAMPLES_PER_MS, increments, peak))
        self.repeat = repeat
        self.cycle_samples = sum(step[0] for step in self.steps)
        self.step_index = 0
        self.position = 0
        self.phases = [0] * len(self.steps[0][1])
        self.finished = False
        self.path = "plain"
        self._loop = None
        if fast and tone_loops is not None:
            self.path = "viper"
            self._loop = tone_loops.synthesise
        # the viper loop's state: position, length, n, n phases, n increments
        most = max(len(step[1]) for step in self.steps)
        self._state = array("i", bytes(4 * (3 + 2 * most)))

    def read_into(self, buffer):
        """Write the next samples into buffer; returns the bytes written.

        A whole buffer (even length) until a one-shot tone ends, then the
        rest of it, then 0.
        """
        written = 0
        capacity = len(buffer) >> 1
        while written < capacity and not self.finished:
            length, increments, peak = self.steps[self.step_index]
            run = min(capacity - written, length - self.position)
            if peak is None:
                end = (written + run) << 1
                for offset in range(written << 1, end):
                    buffer[offset] = 0
            else:
                self.synthesise(buffer, written, run, length, increments, peak)
            written += run
            self.position += run
            if self.position == length:
                self.advance()
        return written << 1

    def silent_for(self, samples):
        """Whether the next `samples` lie in one silent step (not finished)."""
        if self.finished:
            return False
        length, increments, peak = self.steps[self.step_index]
        return peak is None and length - self.position >= samples

    def skip(self, samples):
        """Move past `samples` that silent_for(samples) said are silent."""
        if not self.silent_for(samples):
            raise ValueError("skip(%d) over a sounding or finished step" % samples)
        self.position += samples
        if self.position == self.steps[self.step_index][0]:
            self.advance()

    def synthesise(self, buffer, start, count, length, increments, peak):
        if self._loop is not None:
            self._synthesise_viper(buffer, start, count, length, increments, peak)
            return
        phases = self.phases
        position = self.position
        offset = start << 1
        for _ in range(count):
            value = 0
            for index in range(len(increments)):
                value += sine_sample(phases[index] >> TABLE_SHIFT, peak)
                phases[index] = (phases[index] + increments[index]) & PHASE_MASK
            fade = min(position, length - 1 - position)
            if fade < FADE_SAMPLES:
                value = (value * fade) >> FADE_SHIFT
            buffer[offset] = value & 0xFF
            buffer[offset + 1] = (value >> 8) & 0xFF
            offset += 2
            position += 1

    def _synthesise_viper(self, buffer, start, count, length, increments, peak):
        loop = self._loop
        if loop is None:
            return
        state = self._state
        phases = self.phases
        frequencies = len(increments)
        state[0] = self.position
        state[1] = length
        state[2] = frequencies
        for index in range(frequencies):
            state[3 + index] = phases[index]
            state[3 + frequencies + index] = increments[index]
        loop(buffer, start << 1, count, state, QUARTER_WAVE, peak)
        for index in range(frequencies):
            phases[index] = state[3 + index]

    def advance(self):
        self.position = 0
        self.step_index += 1
        if self.step_index == len(self.steps):
            self.step_index = 0
            if not self.repeat:
                self.finished = True
                return
        self.phases = [0] * len(self.steps[self.step_index][1])


def ringback(frequencies=(425,), on_ms=1000, off_ms=4000, amplitude=DEFAULT_AMPLITUDE):
    """Ringback heard by the visitor while the flat rings (repeats)."""
    return ToneGenerator(((on_ms, tuple(frequencies)), (off_ms, ())), True, amplitude)


def door_opened(amplitude=DEFAULT_AMPLITUDE):
    """Rising two-note confirmation: the door is open."""
    return ToneGenerator(((150, (660,)), (50, ()), (300, (990,))), False, amplitude)


def code_rejected(amplitude=DEFAULT_AMPLITUDE):
    """Low double buzz: wrong code, or opening refused."""
    return ToneGenerator(((150, (300,)), (100, ()), (450, (300,))), False, amplitude)


def call_failed(amplitude=DEFAULT_AMPLITUDE):
    """Special information tone, twice: nobody answered / not registered."""
    cycle = ((330, (950,)), (330, (1400,)), (330, (1800,)), (1000, ()))
    return ToneGenerator(cycle + cycle, False, amplitude)


def call_ending(amplitude=DEFAULT_AMPLITUDE):
    """Three short beeps: the call ends soon (max_duration)."""
    beep = ((200, (1400,)), (200, ()))
    return ToneGenerator(beep + beep + beep, False, amplitude)


def chime(amplitude=DEFAULT_AMPLITUDE):
    """Falling two-note door chime: the bell rang."""
    return ToneGenerator(((400, (660,)), (700, (550,))), False, amplitude)


def listen_notice(interval_ms, amplitude=DEFAULT_AMPLITUDE):
    """Two short beeps, repeated every interval_ms (from its first sample)."""
    beeps = ((120, (1200,)), (80, ()), (120, (1200,)))
    quiet_ms = interval_ms - 320
    if quiet_ms <= 0:
        raise ValueError("listen notice interval %r ms under its 320 ms beeps" % (interval_ms,))
    return ToneGenerator(beeps + ((quiet_ms, ()),), True, amplitude)


def message_beep(amplitude=DEFAULT_AMPLITUDE):
    """One 1 kHz beep: the message recording starts after it."""
    return ToneGenerator(((500, (1000,)),), False, amplitude)
