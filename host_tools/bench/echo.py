# Echo control: how well and at what cost (host_tools.bench section "echo").
#
# Quality: every stage plays host_tools.bench.echo_measure's scene (the
# resident's reply twice alone, the visitor alone, both at once, the
# visitor 100 ms after the resident stops) through the simulated echo path
# of the sim board (boards.audio.echo_path) at four settings: 5 ms/-6 dB,
# 20 ms/-3 dB, 40 ms/0 dB (the range) and 20 ms/+6 dB (a hot
# housing: the speaker louder at the mic than the far end's own level). The
# stages, each with the one-frame reference delay of the sim's audio path:
#
#   aec             libspeexdsp (boards.audio.echo_canceller), tail 160 ms,
#                   residual echo suppression 40 dB: the rpi default
#   aec linear      the same without the residual echo suppressor
#   webrtc aec3     the WebRTC audio processing module's AEC3 through the
#                   livekit package (its 10 ms frames, stream delay = the
#                   reference delay): the candidate we compared against
#   half_duplex     intercom.media.half_duplex, tail 160 ms, 40 dB: the
#                   Pico W default and the fallback
#
# CPU: the stage's process + played per 20 ms frame in this process
# (median over the scene), as CPU seconds per call-minute; the half-duplex
# also under the MicroPython unix port (viper and plain loops; a Pico is
# some 20-40x slower than this machine's unix port). Beside the plain call:
# one sim door process per audio.echo (off, half_duplex, aec; no simulated
# room) in a call with the virtual flat phone talking all along, CPU
# (user + system, /proc) from its answer to the hang-up per call-minute,
# ROUNDS rounds in turn, medians.

import os
import pathlib
import statistics
import subprocess
import tempfile
import time
from importlib import metadata

from boards.audio.echo_canceller import EchoCanceller
from boards.runtime.loop import Loop
from intercom.media.half_duplex import HalfDuplex

from host_tools.bench import echo_measure
from host_tools.bench.timing import markdown_table
from host_tools.pcap import PcapWriter
from host_tools.sim import wav_io
from host_tools.sim.door_config import audio_specs, door_config, write_config
from host_tools.sim.door_process import DoorProcess
from host_tools.sim.flat_phone import FlatPhone
from host_tools.sim.scenario import REPLY_WAV, VISITOR_WAV

SECTION = "Echo control: cancellation, half-duplex and their cost"

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
FRAME = 160
PTIME = 20
TAIL_MS = 160
SUPPRESS_DB = 40
FRAMES_PER_MINUTE = 3000
PATHS = (
    ("5 ms, -6 dB", {"delay_ms": 5, "gain_db": -6}),
    ("20 ms, -3 dB", {"delay_ms": 20, "gain_db": -3}),
    ("40 ms, 0 dB", {"delay_ms": 40, "gain_db": 0}),
    ("20 ms, +6 dB (hot)", {"delay_ms": 20, "gain_db": 6}),
)
ROUNDS = 3
CALL_S = 20
GOAL_AEC_CONVERGED_S = 2.0
GOAL_DOUBLE_TALK_DB = 3.0
GOAL_HALF_DUPLEX_DB = 20.0
GOAL_CLIPPED_MS = 50
EVENT_TIMEOUT_S = 20.0

MICROPYTHON_COST = """
import time
from intercom.media.half_duplex import HalfDuplex
frame = bytearray(320)
for index in range(160):
    value = (index * 97 % 4000) - 2000
    frame[2 * index] = value & 0xFF
    frame[2 * index + 1] = (value >> 8) & 0xFF
for fast in (True, False):
    stage = HalfDuplex(160, 20, 20, 160, 40, fast)
    best = None
    for _ in range(5):
        started = time.ticks_us()
        for _ in range(500):
            stage.process(frame)
            stage.played(frame)
        spent = time.ticks_diff(time.ticks_us(), started) / 500
        best = spent if best is None or spent < best else best
    print(stage.path, best)
"""


class WebrtcStage:
    """AEC3 through livekit.rtc.AudioProcessingModule, two 10 ms halves per frame."""

    def __init__(self, delay_ms):
        from livekit import rtc

        self.rtc = rtc
        self.module = rtc.AudioProcessingModule(echo_cancellation=True)
        self.module.set_stream_delay_ms(delay_ms)
        self.out = bytearray(2 * FRAME)

    def _frame(self, pcm):
        return self.rtc.AudioFrame(bytearray(pcm), 8000, 1, FRAME // 2)

    def process(self, mic):
        for half in range(2):
            frame = self._frame(bytes(mic[half * FRAME : (half + 1) * FRAME]))
            self.module.process_stream(frame)
            self.out[half * FRAME : (half + 1) * FRAME] = bytes(frame.data)
        return self.out

    def played(self, speaker):
        for half in range(2):
            self.module.process_reverse_stream(
                self._frame(bytes(speaker[half * FRAME : (half + 1) * FRAME]))
            )


def webrtc_available():
    try:
        import livekit.rtc  # noqa: F401
    except ImportError:
        return False
    return True


def stages():
    """[(name, make_stage)] of what is measured here."""
    listed = [
        ("aec", lambda: EchoCanceller.open(FRAME, PTIME, PTIME, TAIL_MS, SUPPRESS_DB, 0)),
        ("aec linear", lambda: EchoCanceller.open(FRAME, PTIME, PTIME, TAIL_MS, 0, 0)),
    ]
    if webrtc_available():
        listed.append(("webrtc aec3", lambda: WebrtcStage(PTIME)))
    listed.append(("half_duplex", lambda: HalfDuplex(FRAME, PTIME, PTIME, TAIL_MS, SUPPRESS_DB)))
    return listed


def quality(scene):
    """{(stage, path label): figures}"""
    measured = {}
    for name, make in stages():
        for label, settings in PATHS:
            run = echo_measure.run_scene(make, settings, scene)
            measured[(name, label)] = echo_measure.figures(run)
    return measured


def micropython_costs():
    """{path: microseconds per frame} of HalfDuplex under the unix port."""
    result = subprocess.run(
        [str(MICROPYTHON), "-c", MICROPYTHON_COST],
        env=dict(os.environ, MICROPYPATH=str(ROOT / "firmware")),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    costs = {}
    for line in result.stdout.splitlines():
        path, spent = line.split()
        costs[path] = float(spent)
    return costs


# -- whole door processes ---------------------------------------------------------


def cpu_seconds(pid):
    values = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


def door_call_cpu(folder, echo, call_s):
    """CPU seconds per call-minute of a sim door with audio.echo = echo in a
    call of call_s seconds with the flat phone talking all along."""
    folder.mkdir(parents=True)
    loop = Loop()
    reply = wav_io.read_pcm(REPLY_WAV)
    talk = reply * (call_s * 16000 // len(reply) + 2)
    flat = FlatPhone(loop, PcapWriter(), lambda wall, event: None, reply_pcm=talk, reply_after_ms=0)
    config = door_config(
        0,  # any free port: the door calls the flat, nobody calls the door
        [flat.uri],
        audio_specs("file", str(VISITOR_WAV), str(folder / "heard.wav")),
        str(folder / "state.json"),
        trusted_caller="sip:flat1@127.0.0.1",
        max_duration_s=call_s + 60,
    )
    config["audio"]["echo"] = echo
    write_config(folder / "door.toml", config)
    door = DoorProcess(loop, folder / "door.toml", folder / "door.log", lambda *_: None)
    try:
        _run_until(loop, lambda: door.first("started"), door)
        door.send("press")
        door.send("release")
        _run_until(loop, lambda: door.first("answered"), door)
        before = cpu_seconds(door.pid)
        started = time.monotonic()
        _run_until(loop, lambda: time.monotonic() - started >= call_s, door)
        spent = cpu_seconds(door.pid) - before
        elapsed = time.monotonic() - started
        door.send("hangup")
        _run_until(loop, lambda: door.first("call_ended"), door)
        door.send("quit")
        if door.wait(10) != 0:
            raise RuntimeError("the door did not exit cleanly: %s" % (folder / "door.log"))
    finally:
        door.kill()
        door.close()
        flat.close()
    return spent * 60.0 / elapsed


def _run_until(loop, condition, door):
    deadline = time.monotonic() + EVENT_TIMEOUT_S + CALL_S
    while not condition():
        if door.stdout_closed or time.monotonic() > deadline:
            raise RuntimeError("the bench door stopped or stalled (%s)" % door.names())
        loop.run_once()


def door_costs(call_s, rounds):
    """{echo mode: [CPU s per call-minute per round]}"""
    costs = {"off": [], "half_duplex": [], "aec": []}
    with tempfile.TemporaryDirectory(prefix="bench-echo-") as scratch:
        for round_number in range(rounds):
            for mode in costs:
                folder = pathlib.Path(scratch) / ("%s-%d" % (mode, round_number))
                costs[mode].append(door_call_cpu(folder, mode, call_s))
    return costs


# -- the section ------------------------------------------------------------------


def _number(value, form):
    return "-" if value is None else form % value


def _met(passed):
    return "met" if passed else "NOT met"


def run(options):
    scene = echo_measure.Scene()
    measured = quality(scene)
    rows = []
    for (name, label), figures in measured.items():
        rows.append(
            [
                name,
                label,
                _number(figures["erle_db"], "%.1f"),
                _number(figures["converged_s"], "%.2f"),
                "%.1f" % figures["double_talk_db"],
                "%.2f" % figures["double_talk_corr"],
                "%d / %d" % (figures["near_only_clipped_ms"], figures["handover_clipped_ms"]),
                "%.0f" % figures["cpu_us"],
                "%.2f" % (figures["cpu_us"] * FRAMES_PER_MINUTE / 1e6),
            ]
        )
    call_s = 5 if options.quick else CALL_S
    rounds = 1 if options.quick else ROUNDS
    doors = door_costs(call_s, rounds)
    micro = micropython_costs()
    plain = statistics.median(doors["off"])
    text = [
        "Scene (host_tools/bench/echo_measure.py): the resident's reply twice alone"
        " (%.1f s), the visitor alone, both at once, the visitor 100 ms after the"
        " resident stops; 8 kHz, 20 ms frames, through the sim's echo path (a"
        " generated room response after the one-frame audio path plus the delay"
        " below, 150 ms decay, its energy at the gain below; -60 dBFS room noise)."
        " ERLE: mic / output energy where the echo is 10 dB over the noise, from"
        " %.1f s on; converged: when every 0.5 s ERLE window reaches %.0f dB for good;"
        " double talk: the visitor's loss (dB) and correlation against the stage's"
        " output without echo; clipped: the longest near-end onset under -3 dB (visitor"
        " alone / 100 ms after the resident), 5 ms steps. Stages: aec = libspeexdsp"
        " %s, tail %d ms, residual echo suppression %d dB (the rpi default); aec"
        " linear = without the suppressor; webrtc aec3 = the WebRTC audio processing"
        " module through livekit %s; half_duplex = intercom.media.half_duplex, %d dB."
        % (
            (scene.span("far_only")[1]) / 8000,
            echo_measure.STEADY_FROM_S,
            echo_measure.GOAL_ERLE_DB,
            _speex_version(),
            TAIL_MS,
            SUPPRESS_DB,
            _livekit_version(),
            SUPPRESS_DB,
        ),
        "",
        markdown_table(
            [
                "stage",
                "echo path",
                "ERLE dB",
                "converged s",
                "double talk loss dB",
                "corr",
                "clipped ms",
                "us/frame",
                "CPU s per call-minute",
            ],
            rows,
        ),
        "",
        "### Goals",
        "",
    ]
    text += _goals(measured)
    text += [
        "",
        "### CPU beside the plain call",
        "",
        "One sim door process (CPython) per audio.echo in a call of %d s with the"
        " virtual flat phone talking all along (no simulated room), %d round(s);"
        " CPU = user + system seconds of the door from its answer, per call-minute."
        % (call_s, rounds),
        "",
        markdown_table(
            ["audio.echo", "CPU s per call-minute (rounds)", "median", "ratio to off"],
            [
                [
                    mode,
                    ", ".join("%.2f" % value for value in values),
                    "%.2f" % statistics.median(values),
                    "%.2f" % (statistics.median(values) / plain),
                ]
                for mode, values in doors.items()
            ],
        ),
        "",
        "Half-duplex under the MicroPython unix port, process + played per 20 ms"
        " frame: viper %.1f us, plain %.1f us (a Pico W runs some 20-40x slower than"
        " this machine's unix port: the viper path stays well inside its 20 ms)."
        % (micro.get("viper", float("nan")), micro.get("plain", float("nan"))),
        "",
        _choice(measured),
    ]
    return "\n".join(text)


def _choice(measured):
    """The canceller comparison in words, from the figures above."""
    speex = [figures for (name, _), figures in measured.items() if name == "aec"]
    met = sum(
        1
        for figures in speex
        if figures["converged_s"] is not None
        and figures["converged_s"] <= GOAL_AEC_CONVERGED_S
        and figures["double_talk_db"] <= GOAL_DOUBLE_TALK_DB
    )
    text = (
        "Choice: libspeexdsp (Debian and Raspberry Pi OS `libspeexdsp1`, called through"
        " ctypes, nothing to build) meets the goals on %d of %d echo paths here."
        % (met, len(speex))
    )
    webrtc = [figures for (name, _), figures in measured.items() if name == "webrtc aec3"]
    if webrtc:
        worst = max(figures["double_talk_db"] for figures in webrtc)
        cost = statistics.median(figures["cpu_us"] for figures in webrtc) / statistics.median(
            figures["cpu_us"] for figures in speex
        )
        text += (
            " WebRTC's AEC3 converges at once, loses up to %.1f dB of the visitor in"
            " double talk, costs %.1fx the CPU of libspeexdsp in this process, and comes"
            " only as the livekit wheel (x86_64 and aarch64 Linux, not 32-bit Raspberry"
            " Pi OS; with protobuf and a Rust runtime), not as a Debian package." % (worst, cost)
        )
    return text


def _goals(measured):
    lines = []
    for (name, label), figures in measured.items():
        if name == "aec":
            converged = figures["converged_s"]
            lines.append(
                "- aec, %s: ERLE %.1f dB, converged in %s s (goal >= %.0f dB within %.0f s):"
                " %s; double talk loss %.1f dB (goal <= %.0f): %s"
                % (
                    label,
                    figures["erle_db"],
                    _number(converged, "%.2f"),
                    echo_measure.GOAL_ERLE_DB,
                    GOAL_AEC_CONVERGED_S,
                    _met(converged is not None and converged <= GOAL_AEC_CONVERGED_S),
                    figures["double_talk_db"],
                    GOAL_DOUBLE_TALK_DB,
                    _met(figures["double_talk_db"] <= GOAL_DOUBLE_TALK_DB),
                )
            )
        elif name == "half_duplex":
            lines.append(
                "- half_duplex, %s: echo down %.1f dB (goal >= %.0f): %s; onsets clipped"
                " %d ms alone, %d ms after the resident (goal <= %d): %s"
                % (
                    label,
                    figures["erle_db"],
                    GOAL_HALF_DUPLEX_DB,
                    _met(figures["erle_db"] >= GOAL_HALF_DUPLEX_DB),
                    figures["near_only_clipped_ms"],
                    figures["handover_clipped_ms"],
                    GOAL_CLIPPED_MS,
                    _met(
                        max(figures["near_only_clipped_ms"], figures["handover_clipped_ms"])
                        <= GOAL_CLIPPED_MS
                    ),
                )
            )
    return lines


def _speex_version():
    return _package_version("libspeexdsp1")


def _package_version(package):
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
        )
    except OSError:
        return "(version unknown)"
    return result.stdout.strip() or "(version unknown)"


def _livekit_version():
    try:
        return metadata.version("livekit")
    except metadata.PackageNotFoundError:  # its rows are left out
        return "(not installed: no rows)"
