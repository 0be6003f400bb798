# Echo control measured on the simulated acoustic echo path (CPython, numpy).
#
# A scene is one talk script at 8 kHz, 20 ms frames: the far end's speech
# (what the door's speaker plays: the resident, flat_reply.wav) and the
# near end's speech (the visitor at the door's mic, visitor.wav), placed on
# a timeline of named parts:
#
#   part          what happens                            measured there
#   ------------  --------------------------------------  ------------------------
#   far_only      the resident talks, twice (5.3 s)       ERLE, convergence time
#   near_only     the visitor talks, 0.5 s later          near-end onsets clipped
#   double_talk   both talk at once                       near-end attenuation and
#                                                         correlation
#   handover      the visitor starts 100 ms after the     near-end onsets clipped
#                 resident stops
#
# run_scene(stage, path, scene) plays it through boards.audio.echo_path and
# an echo control stage (process(mic) -> out, played(speaker)), frame by
# frame in the runtime's order (mic in, speaker out), and runs it a second
# time with a fresh stage and the far end silent: that output is the
# near-end as the stage passes it when there is no echo (the canceller's
# DC notch and its frame of delay included), the reference the near-end
# figures compare against.
#
# Figures (figures(run)):
#   erle_db          10 log10(mic energy / output energy) over the far_only
#                    frames from STEADY_FROM_S on (after convergence) where
#                    the echo is at least ACTIVE_DB above the room noise
#   converged_s      the first time after which every ERLE window of
#                    WINDOW_S in far_only (active frames only) reaches
#                    GOAL_ERLE_DB; None when it never holds
#   double_talk_db   near-end attenuation in double talk: -20 log10 of the
#                    projection gain of the output on the echo-free
#                    output, over frames where the visitor speaks
#   double_talk_corr their normalised correlation
#   clipped_ms       per near-end onset (near_only and handover): how long
#                    after the onset the output's gain on the echo-free
#                    output stays under -3 dB, in 5 ms blocks; the largest
#                    of each part is reported
#   cpu_us           process + played per 20 ms frame, microseconds (median
#                    of the frames)

import pathlib
import time
import wave

import numpy
from boards.audio.echo_path import EchoPath

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "sim" / "assets"
RATE = 8000
FRAME = 160
STEADY_FROM_S = 3.3
WINDOW_S = 0.5
GOAL_ERLE_DB = 25.0
ACTIVE_DB = 10.0
ONSET_BLOCK = 40  # 5 ms
ONSET_QUIET_S = 0.1  # silence before an onset
SPEECH_LEVEL_DB = -40.0  # a 5 ms block louder than this (dBFS RMS) is speech
CLIPPED_GAIN = 10 ** (-3 / 20)


def read_wav(path):
    with wave.open(str(path), "rb") as reader:
        data = reader.readframes(reader.getnframes())
    return numpy.frombuffer(data, dtype="<i2").astype(float)


class Scene:
    """The far-end and near-end signals and the timeline's parts (seconds)."""

    def __init__(self, far_speech=None, near_speech=None):
        if far_speech is None:
            far_speech = speech_only(read_wav(ASSETS / "flat_reply.wav"))
        if near_speech is None:
            near_speech = speech_only(read_wav(ASSETS / "visitor.wav"))
        far_s = len(far_speech) / RATE
        near_s = len(near_speech) / RATE
        gap = 0.3
        far_only = (0.0, 2 * far_s + gap)
        near_only = (far_only[1] + 0.5, far_only[1] + 0.5 + near_s)
        talk = near_only[1] + 0.5
        double_talk = (talk, talk + 0.2 + max(far_s, near_s))
        handover_far = double_talk[1] + 0.5
        handover = (handover_far + far_s + 0.1, handover_far + far_s + 0.1 + near_s)
        self.parts = {
            "far_only": far_only,
            "near_only": near_only,
            "double_talk": (talk + 0.2, talk + min(far_s, 0.2 + near_s)),
            "handover": handover,
        }
        total = int((handover[1] + 0.3) * RATE) // FRAME * FRAME
        self.far = _place(
            total,
            [
                (0.0, far_speech),
                (far_s + gap, far_speech),
                (talk, far_speech),
                (handover_far, far_speech),
            ],
        )
        self.near = _place(
            total,
            [(near_only[0], near_speech), (talk + 0.2, near_speech), (handover[0], near_speech)],
        )
        self.frames = total // FRAME

    def span(self, part):
        start, end = self.parts[part]
        return int(start * RATE), int(end * RATE)


def speech_only(signal):
    """signal from its first to its last ONSET_BLOCK louder than SPEECH_LEVEL_DB."""
    threshold = (32768 * 10 ** (SPEECH_LEVEL_DB / 20)) ** 2
    loud = [
        first
        for first in range(0, len(signal) - ONSET_BLOCK + 1, ONSET_BLOCK)
        if numpy.mean(signal[first : first + ONSET_BLOCK] ** 2) > threshold
    ]
    return signal[loud[0] : loud[-1] + ONSET_BLOCK] if loud else signal


def _place(total, pieces):
    out = numpy.zeros(total)
    for start_s, signal in pieces:
        start = int(start_s * RATE)
        end = min(total, start + len(signal))
        out[start:end] += signal[: end - start]
    return out


def _pcm(samples):
    return numpy.clip(numpy.rint(samples), -32768, 32767).astype("<i2").tobytes()


def _play(stage, path, far, near, frames):
    mic_frame = bytearray(2 * FRAME)
    mic = numpy.zeros(frames * FRAME)
    out = numpy.zeros(frames * FRAME)
    echo = numpy.zeros(frames * FRAME)
    noise = numpy.zeros(frames * FRAME)
    costs = []
    for index in range(frames):
        window = slice(index * FRAME, (index + 1) * FRAME)
        path.mic_frame(_pcm(near[window]), mic_frame)
        speaker = _pcm(far[window])
        started = time.perf_counter_ns()
        processed = stage.process(mic_frame)
        result = bytes(processed)
        stage.played(speaker)
        costs.append(time.perf_counter_ns() - started)
        path.played(speaker)
        mic[window] = numpy.frombuffer(bytes(mic_frame), dtype="<i2")
        out[window] = numpy.frombuffer(result, dtype="<i2")
        echo[window] = path.echo
        noise[window] = path.noise
    return mic, out, echo, noise, costs


def run_scene(make_stage, path_settings, scene):
    """{mic, out, clean, echo, noise, cpu_us} of one scene through one stage;
    make_stage() builds a fresh stage, path_settings are EchoPath's keywords."""
    stage = make_stage()
    try:
        mic, out, echo, noise, costs = _play(
            stage, EchoPath(FRAME, **path_settings), scene.far, scene.near, scene.frames
        )
    finally:
        _close(stage)
    clean_stage = make_stage()
    try:
        _, clean, _, _, _ = _play(
            clean_stage,
            EchoPath(FRAME, **path_settings),
            numpy.zeros_like(scene.far),
            scene.near,
            scene.frames,
        )
    finally:
        _close(clean_stage)
    return {
        "mic": mic,
        "out": out,
        "clean": clean,
        "echo": echo,
        "noise": noise,
        "cpu_us": float(numpy.median(costs)) / 1000.0,
        "scene": scene,
    }


def _close(stage):
    close = getattr(stage, "close", None)
    if close is not None:
        close()


def _db(ratio):
    return 10.0 * numpy.log10(ratio) if ratio > 0 else float("inf")


def _active_frames(run, start, end):
    """Frame starts in [start, end) where the echo is ACTIVE_DB over the noise."""
    echo = run["echo"]
    noise_power = max(numpy.mean(run["noise"] ** 2), 1e-9)
    active = []
    for first in range(start - start % FRAME, end - FRAME + 1, FRAME):
        if numpy.mean(echo[first : first + FRAME] ** 2) > noise_power * 10 ** (ACTIVE_DB / 10):
            active.append(first)
    return active


def _erle(run, frames):
    if not frames:
        return None
    mic = sum(numpy.sum(run["mic"][first : first + FRAME] ** 2) for first in frames)
    out = sum(numpy.sum(run["out"][first : first + FRAME] ** 2) for first in frames)
    return _db(mic / max(out, 1e-9))


def erle_db(run):
    start, end = run["scene"].span("far_only")
    return _erle(run, _active_frames(run, int(STEADY_FROM_S * RATE), end))


def converged_s(run):
    """When the WINDOW_S ERLE reaches GOAL_ERLE_DB for good (far_only)."""
    start, end = run["scene"].span("far_only")
    window = int(WINDOW_S * RATE)
    step = FRAME
    converged = None
    for first in range(start, end - window + 1, step):
        value = _erle(run, _active_frames(run, first, first + window))
        if value is None:
            continue
        if value < GOAL_ERLE_DB:
            converged = None
        elif converged is None:
            converged = (first + window - start) / RATE
    return converged


def _speech_frames(signal, start, end):
    threshold = (32768 * 10 ** (SPEECH_LEVEL_DB / 20)) ** 2
    return [
        first
        for first in range(start - start % FRAME, end - FRAME + 1, FRAME)
        if numpy.mean(signal[first : first + FRAME] ** 2) > threshold
    ]


def double_talk(run):
    """(near-end attenuation dB, correlation) in double talk."""
    start, end = run["scene"].span("double_talk")
    frames = _speech_frames(run["scene"].near, start, end)
    out = numpy.concatenate([run["out"][first : first + FRAME] for first in frames])
    clean = numpy.concatenate([run["clean"][first : first + FRAME] for first in frames])
    projection = numpy.dot(out, clean)
    gain = projection / numpy.dot(clean, clean)
    correlation = projection / numpy.sqrt(numpy.dot(out, out) * numpy.dot(clean, clean))
    return -20.0 * numpy.log10(max(gain, 1e-6)), float(correlation)


def onsets(signal, start, end):
    """Sample indices in [start, end) where speech starts after ONSET_QUIET_S."""
    threshold = (32768 * 10 ** (SPEECH_LEVEL_DB / 20)) ** 2
    quiet_needed = int(ONSET_QUIET_S * RATE) // ONSET_BLOCK
    found = []
    quiet = quiet_needed
    for first in range(start, end - ONSET_BLOCK + 1, ONSET_BLOCK):
        loud = numpy.mean(signal[first : first + ONSET_BLOCK] ** 2) > threshold
        if loud and quiet >= quiet_needed:
            found.append(first)
        quiet = 0 if loud else quiet + 1
    return found


def clipped_ms(run, part):
    """The longest clipping of a near-end onset in part, ms (5 ms blocks)."""
    start, end = run["scene"].span(part)
    out = run["out"]
    clean = run["clean"]
    worst = 0
    for onset in onsets(run["scene"].near, start, end):
        first = onset
        while first + ONSET_BLOCK <= end:
            block = slice(first, first + ONSET_BLOCK)
            reference = numpy.dot(clean[block], clean[block])
            if reference > 0 and numpy.dot(out[block], clean[block]) / reference >= CLIPPED_GAIN:
                break
            first += ONSET_BLOCK
        worst = max(worst, (first - onset) * 1000 // RATE)
    return worst


def figures(run):
    attenuation, correlation = double_talk(run)
    return {
        "erle_db": erle_db(run),
        "converged_s": converged_s(run),
        "double_talk_db": attenuation,
        "double_talk_corr": correlation,
        "near_only_clipped_ms": clipped_ms(run, "near_only"),
        "handover_clipped_ms": clipped_ms(run, "handover"),
        "cpu_us": run["cpu_us"],
    }
