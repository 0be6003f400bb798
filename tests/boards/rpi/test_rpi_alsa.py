"""boards.rpi.audio.DevicePacedAudio against libasound's file/null plugins.

The capture PCM's poll descriptors drive the tick; what the mic file holds
must come out of exchange() and what exchange() returns must land in the
speaker file, sample-exact. The null plugin has no clock: the pacing guard
must still run it in real time. Each run is its own process (libasound
reads its configuration once per process).
"""

import json
import os
import subprocess
import sys

import numpy
from support.alsa import write_alsa_config
from support.paths import FIRMWARE

LOOPBACK = """
import json, sys, time
from boards.runtime.loop import Loop
from boards.rpi.audio import DevicePacedAudio

frames = int(sys.argv[1])
audio = DevicePacedAudio("door_mic", "door_speaker", 20)
loop = Loop()
heard = []

def exchange(mic):
    heard.append(mic)
    if len(heard) == frames:
        loop.stop()
    return mic[::-1]  # a transformation the test can check byte for byte

start = time.monotonic()
audio.attach(loop, exchange)
loop.run()
elapsed = time.monotonic() - start
audio.close()
sys.stdout.buffer.write(b"".join(heard))
sys.stderr.write(json.dumps({"elapsed": elapsed, "frames": audio.frames,
    "overruns": audio.overruns, "dropped": audio.dropped, "wakeups": loop.wakeups}))
"""


def run_loopback(tmp_path, frames, mic):
    mic_raw = tmp_path / "mic.raw"
    mic_raw.write_bytes(mic.astype("<i2").tobytes())
    env_extra, speaker = write_alsa_config(tmp_path, mic_raw)
    result = subprocess.run(
        [sys.executable, "-c", LOOPBACK, str(frames)],
        env={**os.environ, **env_extra, "PYTHONPATH": str(FIRMWARE)},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    heard = numpy.frombuffer(result.stdout, dtype="<i2")
    played = numpy.frombuffer(speaker.read_bytes(), dtype="<i2")
    return heard, played, json.loads(result.stderr.decode().splitlines()[-1])


def test_capture_drives_the_tick_and_playback_gets_every_frame(tmp_path):
    rng = numpy.random.default_rng(7)
    mic = rng.integers(-12000, 12000, size=8000 * 3).astype(numpy.int16)
    heard, played, stats = run_loopback(tmp_path, 50, mic)
    assert len(heard) == 50 * 160
    assert numpy.array_equal(heard, mic[: 50 * 160])  # the mic file, in order, nothing lost
    prefill = 2 * 160
    assert numpy.all(played[:prefill] == 0)  # two periods of silence first
    # exchange() returned each frame's bytes reversed; the speaker got exactly those
    played_bytes = played[prefill:].astype("<i2").tobytes()
    mic_bytes = mic[: 50 * 160].astype("<i2").tobytes()
    assert played_bytes == b"".join(
        mic_bytes[i : i + 320][::-1] for i in range(0, len(mic_bytes), 320)
    )
    assert stats["overruns"] == 0 and stats["dropped"] == 0


def test_a_clockless_device_still_runs_in_real_time(tmp_path):
    mic = numpy.zeros(8000 * 3, dtype=numpy.int16)
    _, _, stats = run_loopback(tmp_path, 50, mic)
    # 50 frames of 20 ms: about one second, never as fast as the CPU could go
    assert 0.85 <= stats["elapsed"] <= 1.6, stats
