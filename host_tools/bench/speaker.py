# The door's speaker path per 20 ms frame (host_tools/bench/speaker_scenarios.py):
# what the DTMF mute and its detector cost, side by side with a reference
# without them, on CPython and on the MicroPython unix port. The in-band
# detector is the most expensive part of the frame: it runs on every frame
# only when the phone did not negotiate telephone-event; with
# telephone-event it runs only near an RFC 4733 or SIP INFO event.

import json
import os
import pathlib
import subprocess

from host_tools.bench.speaker_scenarios import FRAMES, KEY_FRAMES, NAMES, Scenarios
from host_tools.bench.timing import markdown_table, time_side_by_side

SECTION = "Speaker path: DTMF detection and muting"

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MICROPYTHON_SCRIPT = pathlib.Path(__file__).with_name("speaker_micropython.py")
FRAME_NS = 20_000_000


def rows_for(timings):
    reference = timings["reference"][0]
    rows = []
    for name in NAMES:
        best, median = timings[name]
        rows.append(
            [
                name,
                "%.1f" % (best / 1000),
                "%.1f" % (median / 1000),
                "%.2f" % (best / reference),
                "%.3f %%" % (100.0 * best / FRAME_NS),
            ]
        )
    return rows


def micropython_timings(options):
    if not MICROPYTHON.exists():
        return None, "MicroPython unix port not found at %s" % MICROPYTHON
    path = "%s:%s" % (ROOT / "firmware", MICROPYTHON_SCRIPT.parent)
    result = subprocess.run(
        [str(MICROPYTHON), str(MICROPYTHON_SCRIPT), str(max(3, options.rounds // 4))],
        env=dict(os.environ, MICROPYPATH=path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        return None, "MicroPython bench failed: " + result.stderr.strip()[-500:]
    timings = {}
    for line in result.stdout.splitlines():
        entry = json.loads(line)
        timings[entry["name"]] = (entry["min_ns"], entry["median_ns"])
    return timings, None


def run(options):
    scenarios = Scenarios()
    candidates = {}
    for name in NAMES:
        candidates[name] = lambda name=name: scenarios.play(name)
    rounds = max(3, options.rounds // 4)
    cpython = time_side_by_side(candidates, FRAMES, rounds, options.run_s)
    header = ["scenario", "us/frame min", "median", "ratio vs reference", "of one core"]
    parts = [
        "Per 20 ms frame: the frame's RTP packets into a door MediaSession, then "
        "play_frame (jitter buffer, decoding, DTMF detection and muting); %d frames "
        "(10 s) of a voice-like PCMU stream per run, %d keys (140 ms each) in the "
        "`keys` scenarios. `reference`: RtpReceiver and JitterBuffer alone. "
        "Ratio = minimum / reference minimum; `of one core` = minimum / 20 ms. "
        "Minimum and median of %d rounds, each scenario timed in turn."
        % (FRAMES, len(KEY_FRAMES), rounds),
        "",
        "### CPython",
        "",
        markdown_table(header, rows_for(cpython)),
        "",
        "### MicroPython unix port",
        "",
    ]
    micropython, failure = micropython_timings(options)
    if micropython is None:
        parts.append(failure)
    else:
        parts.append(markdown_table(header, rows_for(micropython)))
    return "\n".join(parts)
