# Half-duplex echo control: the door's microphone is attenuated while what
# the door's speaker played can still be heard in it, so the resident does
# not hear their own voice come back. For boards without an echo canceller
# (the Pico W) and as the safety net where the canceller is missing.
# Portable; integer arithmetic; nothing is allocated per frame.
#
#   hd = HalfDuplex(frame_samples, ptime_ms, delay_ms, tail_ms, suppress_db)
#   out = hd.process(mic_pcm)   the mic frame with its gain applied (hd's own
#                               buffer, valid until the next call)
#   hd.played(speaker_pcm)      the frame the speaker plays this tick
#   hd.close()                  nothing to release (the runtime's echo stage
#                               interface, boards.audio.echo_control)
#
# delay_ms: where the echo of a played frame starts, counted from the tick
# that played it (the board's audio path, boards.audio.echo_control);
# tail_ms: how long the echo lasts after that (distance, housing, room).
#
# Per frame (16-bit little-endian PCM, ptime_ms):
#
#   level          the mean absolute sample value of a frame
#   far levels     the levels of the frames played lately, newest first
#   expected echo  E = coupling x the largest far level x weight: weight 1
#                  for frames played up to delay_ms + tail_ms / 4 ago (the
#                  echo may be arriving now), then falling 60 dB over the
#                  rest of tail_ms (the room's decay), 0 after delay_ms +
#                  tail_ms. E is the loudest echo the mic can be hearing,
#                  and it fades as the echo does once the far end stops:
#                  the hangover follows the room instead of a fixed time.
#   coupling       how loud the echo is at the mic for a given speaker
#                  level, learnt from frames whose expected echo is 12 dB
#                  above the noise: a louder frame raises it to its ratio at
#                  once, and it falls by 1/64 per frame (about 7 dB/s)
#                  otherwise. A frame taken for near speech raises it only
#                  by 1/128 (so a visitor can break in), except at a far
#                  onset: while the echo of a talk spurt that began with no
#                  near speech about arrives (the first ONSET frames after
#                  E at 0 dB coupling rose past MIN_ECHO_LEVEL, ONSET
#                  covering delay_ms + tail_ms / 4 and one frame), the mic's
#                  rise is the echo, however loud: a hot path (a speaker
#                  louder at the mic than the far end's own level) is learnt
#                  in the first spurt. 0 dB at the start, -24..+24 dB.
#   noise floor N  the mic's quietest level: follows a quieter frame at
#                  once, rises by 1/64 + 1 per frame (about 7 dB/s) while
#                  the mic is open (a muted mic hears echo, not the room)
#   near speech    mic level M > 2 E (6 dB over the expected echo), M > 4 N
#                  (12 dB over the noise) and M > MIN_SPEECH_LEVEL
#
# State machine: one decision per frame, from that frame's own levels and
# before its gain is applied, so a near-end onset passes in the frame it
# starts in (hold counts frames):
#
#   state  condition                                     next   mic gain
#   -----  --------------------------------------------  -----  ----------------
#   PASS   near speech                                   PASS   0 dB, hold = HOLD
#   PASS   hold == 0 and the echo is audible:            MUTE   -suppress_db
#          E > 2 N and E > MIN_ECHO_LEVEL
#   PASS   otherwise                                     PASS   0 dB, hold - 1
#   MUTE   near speech (the visitor breaks in)           PASS   0 dB, hold = HOLD
#   MUTE   the echo is still there (hysteresis):         MUTE   -suppress_db
#          E > N and E > MIN_ECHO_LEVEL / 2
#   MUTE   otherwise (the echo faded into the noise)     PASS   0 dB
#
# HOLD_MS keeps the mic open over the gaps between a visitor's words when
# the far end starts to talk. A gain change ramps over the first
# RAMP_SAMPLES of the frame, so switching does not click. Double talk is
# what half-duplex cannot do: the louder side (against the expected echo)
# wins.
#
# Counters (masked to 30 bits): frames, muted_frames, break_ins.
#
# Paths of the two per-sample loops (level, gain), identical results (the
# tests run each against the others); .path says which one runs:
#   viper   MicroPython with the viper emitter (half_duplex_viper)
#   array   CPython: memoryview casts, sum(map(abs)), list comprehensions
#   plain   per-sample loops (MicroPython without viper; the reference)

from array import array

from intercom.compat import IS_MICROPYTHON

viper_loops = None  # intercom.media.half_duplex_viper where the port has viper
if IS_MICROPYTHON:
    try:
        from intercom.media import half_duplex_viper as viper_loops
    except ImportError:  # a port built without the viper emitter
        pass

PASS = "pass"
MUTE = "mute"
UNITY = 1 << 14  # gains are Q14: products with 16-bit samples stay small ints
COUPLING_UNITY = 1 << 8  # the coupling is Q8
COUPLING_MIN = COUPLING_UNITY >> 4  # -24 dB
COUPLING_MAX = COUPLING_UNITY << 4  # +24 dB
MIN_SPEECH_LEVEL = 64  # mean |sample|: about -54 dBFS
MIN_ECHO_LEVEL = 32
HOLD_MS = 60
RAMP_SHIFT = 5
RAMP_SAMPLES = 1 << RAMP_SHIFT  # 4 ms
COUNTER_MASK = 0x3FFFFFFF


def gain_q14(db):
    """The Q14 gain of -db dB (db >= 0)."""
    return int(UNITY * 10 ** (-db / 20) + 0.5)


def level_plain(pcm, count):
    """Mean absolute value of the first count samples of 16-bit LE pcm."""
    total = 0
    index = 0
    end = 2 * count
    while index < end:
        value = pcm[index] | (pcm[index + 1] << 8)
        if value >= 0x8000:
            value = 0x10000 - value
        total += value
        index += 2
    return total // count


def apply_gain_plain(source, target, count, start_gain, gain):
    """target = source x gain (Q14) for count samples, ramping from
    start_gain over the first RAMP_SAMPLES."""
    step = gain - start_gain
    index = 0
    for sample in range(count):
        value = source[index] | (source[index + 1] << 8)
        if value >= 0x8000:
            value -= 0x10000
        current = gain
        if sample < RAMP_SAMPLES:
            current = start_gain + ((step * sample) >> RAMP_SHIFT)
        value = (value * current) >> 14
        target[index] = value & 0xFF
        target[index + 1] = (value >> 8) & 0xFF
        index += 2


def _samples(pcm, count):
    """pcm's first count samples as a memoryview of native int16 (CPython)."""
    return memoryview(pcm).cast("B")[: 2 * count].cast("h")


def level_array(pcm, count):
    return sum(map(abs, _samples(pcm, count))) // count


def apply_gain_array(source, target, count, start_gain, gain):
    samples = _samples(source, count)
    step = gain - start_gain
    ramp = min(RAMP_SAMPLES, count)
    scaled = [
        (samples[index] * (start_gain + ((step * index) >> RAMP_SHIFT))) >> 14
        for index in range(ramp)
    ]
    scaled += [(value * gain) >> 14 for value in samples[ramp:]]
    _samples(target, count)[:] = array("h", scaled)


def loops(fast):
    """(path, level, apply_gain) for this interpreter."""
    if fast and viper_loops is not None:
        return "viper", viper_loops.level, viper_loops.apply_gain
    if fast and not IS_MICROPYTHON and array("h", [1]).tobytes() == b"\x01\x00":
        return "array", level_array, apply_gain_array
    return "plain", level_plain, apply_gain_plain


def echo_weights(ptime_ms, delay_ms, tail_ms):
    """Q14 weights of the far levels, newest frame first (see the top)."""
    full_ms = delay_ms + tail_ms // 4
    fade_ms = max(1, tail_ms - tail_ms // 4)
    full = -(-full_ms // ptime_ms) + 1  # frames that may overlap full_ms
    fading = -(-fade_ms // ptime_ms)
    weights = array("i", [UNITY] * (full + fading))
    for index in range(fading):
        faded_ms = (index + 1) * ptime_ms
        weights[full + index] = int(UNITY * 10 ** (-3 * faded_ms / fade_ms))
    return weights


class HalfDuplex:
    def __init__(self, frame_samples, ptime_ms, delay_ms, tail_ms, suppress_db, fast=True):
        self.frame_samples = frame_samples
        self.weights = echo_weights(ptime_ms, delay_ms, tail_ms)
        self.far_levels = array("i", [0] * len(self.weights))
        self.muted_gain = gain_q14(suppress_db)
        self.hold_frames = -(-HOLD_MS // ptime_ms)
        self.onset_frames = -(-(delay_ms + tail_ms // 4) // ptime_ms) + 1
        self.onset = 0  # frames left of a far onset's learning window
        self.out = bytearray(2 * frame_samples)
        self.path, self._level, self._apply = loops(fast)
        self.state = PASS
        self.gain = UNITY
        self.hold = 0
        self.coupling = COUPLING_UNITY
        self.noise = -1  # no frame seen yet
        self.echo_at_unity = 0  # E at 0 dB coupling, for this frame
        self.frames = 0
        self.muted_frames = 0
        self.break_ins = 0

    def close(self):
        pass

    def played(self, speaker_pcm):
        levels = self.far_levels
        index = len(levels) - 1
        while index > 0:
            levels[index] = levels[index - 1]
            index -= 1
        levels[0] = self._level(speaker_pcm, self.frame_samples)

    def _expected_echo(self):
        """E for this frame; echo_at_unity is E at 0 dB coupling."""
        levels = self.far_levels
        weights = self.weights
        loudest = 0
        for index in range(len(levels)):
            weighted = (levels[index] * weights[index]) >> 14
            if weighted > loudest:
                loudest = weighted
        self.echo_at_unity = loudest
        return (loudest * self.coupling) >> 8

    def _learn_coupling(self, mic, echo, noise, near, spurt_starts):
        echo_at_unity = self.echo_at_unity
        if echo_at_unity < MIN_ECHO_LEVEL:
            self.onset = 0
            return  # the far end is quiet: nothing to learn from
        if spurt_starts:
            self.onset = self.onset_frames  # a talk spurt starts: its echo comes
        elif self.onset > 0:
            self.onset -= 1
        if echo <= 4 * noise:
            return  # too little echo to tell it from the noise
        ratio = (mic << 8) // echo_at_unity
        coupling = self.coupling
        if ratio > coupling:
            if near and self.onset == 0:
                coupling = min(ratio, coupling + (coupling >> 7) + 1)
            else:
                coupling = ratio
        else:
            coupling -= coupling >> 6
        if coupling > COUPLING_MAX:
            coupling = COUPLING_MAX
        elif coupling < COUPLING_MIN:
            coupling = COUPLING_MIN
        self.coupling = coupling

    def _track_noise(self, mic, state):
        noise = self.noise
        if noise < 0 or mic < noise:
            self.noise = mic
        elif state == PASS:
            self.noise = noise + (noise >> 6) + 1

    def process(self, mic_pcm):
        count = self.frame_samples
        mic = self._level(mic_pcm, count)
        # the far end was quiet and the visitor silent up to this frame
        spurt_starts = self.echo_at_unity < MIN_ECHO_LEVEL and self.hold == 0
        echo = self._expected_echo()
        noise = self.noise if self.noise >= 0 else mic
        near = mic > 2 * echo and mic > 4 * noise and mic > MIN_SPEECH_LEVEL
        state = self.state
        if near:
            if state == MUTE:
                self.break_ins = (self.break_ins + 1) & COUNTER_MASK
            state = PASS
            self.hold = self.hold_frames
        elif state == PASS:
            if self.hold == 0 and echo > 2 * noise and echo > MIN_ECHO_LEVEL:
                state = MUTE
            elif self.hold > 0:
                self.hold -= 1
        elif not (echo > noise and echo > MIN_ECHO_LEVEL // 2):
            state = PASS
        self._learn_coupling(mic, echo, noise, near, spurt_starts)
        self._track_noise(mic, state)
        self.state = state
        start_gain = self.gain
        self.gain = self.muted_gain if state == MUTE else UNITY
        self._apply(mic_pcm, self.out, count, start_gain, self.gain)
        self.frames = (self.frames + 1) & COUNTER_MASK
        if state == MUTE:
            self.muted_frames = (self.muted_frames + 1) & COUNTER_MASK
        return self.out
