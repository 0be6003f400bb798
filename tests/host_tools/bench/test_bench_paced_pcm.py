# host_tools/bench/paced_pcm.c, the LD_PRELOAD shim that makes ALSA playback
# on the null device block like a sound card: it builds, it reports what was
# written through it, a write returns no earlier than the device model says
# (a lower bound that no machine load can break), and a writer that stalls
# past the buffer restarts the clock (an underrun) instead of bursting.
# Real libasound (the "null" PCM), driven by aplay or by ctypes in a child
# process that has the shim preloaded.

import os
import subprocess
import sys
import time

from host_tools.bench import call

# Runs in a child Python with the shim preloaded: opens the null PCM at 8 kHz
# mono S16_LE with a 100 ms buffer, writes FIRST periods of 160 frames,
# sleeps STALL_S, writes SECOND periods, closes; prints the buffer size and
# the seconds from just before the first write to just after the last one.
WRITER = """
import ctypes, sys, time
first, stall_s, second = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ctypes.CDLL("libasound.so.2", mode=ctypes.RTLD_GLOBAL)
alsa = ctypes.CDLL(None)  # the process's symbols: the preloaded shim's come first
pcm = ctypes.c_void_p()
assert alsa.snd_pcm_open(ctypes.byref(pcm), b"null", 0, 0) == 0  # SND_PCM_STREAM_PLAYBACK
# SND_PCM_FORMAT_S16_LE = 2, SND_PCM_ACCESS_RW_INTERLEAVED = 3, 1 channel, 8000 Hz
assert alsa.snd_pcm_set_params(pcm, 2, 3, 1, 8000, 0, 100000) == 0
buffer_frames = ctypes.c_ulong()
period_frames = ctypes.c_ulong()
alsa.snd_pcm_get_params(pcm, ctypes.byref(buffer_frames), ctypes.byref(period_frames))
period = ctypes.create_string_buffer(320)
started = time.monotonic()
for _ in range(first):
    assert alsa.snd_pcm_writei(pcm, period, 160) == 160
time.sleep(stall_s)
for _ in range(second):
    assert alsa.snd_pcm_writei(pcm, period, 160) == 160
elapsed = time.monotonic() - started
alsa.snd_pcm_close(pcm)
print(buffer_frames.value, elapsed)
"""


def shim_environment(shim, report):
    return dict(os.environ, LD_PRELOAD=str(shim), PACED_PCM_REPORT=str(report))


def run_writer(tmp_path, first, stall_s, second):
    """(shim report lines as dicts, buffer frames, seconds the writes took)."""
    shim = call.build_shim(tmp_path)
    report = tmp_path / "report.txt"
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(first), str(stall_s), str(second)],
        env=shim_environment(shim, report),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    buffer_frames, elapsed = done.stdout.split()
    (tmp_path / call.SHIM_REPORT).write_text(report.read_text())
    return call.shim_reports(tmp_path), int(buffer_frames), float(elapsed)


def test_aplay_through_the_shim_is_reported_and_takes_the_time_of_its_frames(tmp_path):
    shim = call.build_shim(tmp_path)
    wav = call.write_tone_wav(tmp_path / "one_second.wav", 1)
    report = tmp_path / "report.txt"
    started = time.monotonic()
    subprocess.run(
        ["aplay", "-q", "-D", "null", str(wav)],
        env=shim_environment(shim, report),
        check=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    (tmp_path / call.SHIM_REPORT).write_text(report.read_text())
    [paced] = call.shim_reports(tmp_path)
    assert paced["frames"] == 8000
    assert paced["rate"] == 8000
    assert paced["underruns"] == 0
    played_s = (paced["frames"] - paced["buffer"]) / paced["rate"]
    assert 0 < played_s <= paced["seconds"] <= elapsed


def test_steady_writes_block_until_all_but_the_buffer_has_played(tmp_path):
    [paced], buffer_frames, elapsed = run_writer(tmp_path, 50, 0, 0)  # 1 s of periods
    assert paced["frames"] == 8000
    assert paced["buffer"] == buffer_frames > 0
    assert paced["underruns"] == 0
    assert elapsed >= (8000 - buffer_frames) / 8000.0


def test_a_stall_longer_than_the_buffer_is_an_underrun_and_restarts_the_clock(tmp_path):
    # 0.2 s of periods, a 0.5 s stall (the 100 ms buffer runs dry), then 0.6 s
    # more: after the restart the second part alone must take its time.
    [paced], buffer_frames, elapsed = run_writer(tmp_path, 10, 0.5, 30)
    assert paced["frames"] == 40 * 160
    assert paced["underruns"] == 1
    assert elapsed >= 0.5 + (30 * 160 - buffer_frames) / 8000.0
