# The 20 ms media path allocates nothing in steady state, proved under the
# MicroPython unix port with micropython.heap_lock() (steady_path_heap.py).

import os
import pathlib
import subprocess

from support.paths import FIRMWARE, MICROPYTHON, ROOT

SCRIPT = pathlib.Path(__file__).resolve().parent / "steady_path_heap.py"


def run_script(*arguments):
    return subprocess.run(
        [str(MICROPYTHON), str(SCRIPT), *arguments],
        cwd=ROOT,
        env={**os.environ, "MICROPYPATH": str(FIRMWARE)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_counts(mode):
    result = run_script(mode)
    assert result.returncode == 0, result.stdout + result.stderr
    words = result.stdout.split()
    assert words[0] == "OK"
    return [int(word) for word in words[1:5]]


def test_steady_media_path_runs_200_frames_with_the_heap_locked():
    played, concealed, late, accepted = run_counts("steady")
    assert accepted == 300
    assert played == 299  # every frame but the last, still in the buffer
    assert concealed == 0 and late == 0


def test_reordered_and_jittery_arrivals_allocate_nothing_either():
    played, concealed, late, accepted = run_counts("jittery")
    assert accepted == 300
    # The first pair arrives swapped: the buffer starts on frame 1, and
    # frame 0 is late; no other packet may be.
    assert late == 1
    assert played + late == 299
    assert concealed <= 3 * late


def test_one_allocation_per_frame_is_caught_by_the_lock():
    result = run_script("control")
    assert result.returncode != 0
    assert "heap is locked" in result.stderr + result.stdout


def test_10_ms_packets_reframed_into_20_ms_frames_allocate_nothing():
    played, concealed, late, accepted = run_counts("short")
    assert accepted == 600  # two packets per frame
    assert played == 299 and concealed == 0 and late == 0
