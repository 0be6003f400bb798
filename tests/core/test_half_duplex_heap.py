# Half-duplex echo control runs on the Pico W in the 20 ms path: it must not
# allocate per frame. Proved under the MicroPython unix port with
# micropython.heap_lock() (half_duplex_heap.py), on both loop paths.

import os
import pathlib
import subprocess

from support.paths import FIRMWARE, MICROPYTHON, ROOT

SCRIPT = pathlib.Path(__file__).resolve().parent / "half_duplex_heap.py"


def run_script(mode):
    return subprocess.run(
        [str(MICROPYTHON), str(SCRIPT), mode],
        cwd=ROOT,
        env={**os.environ, "MICROPYPATH": str(FIRMWARE)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_half_duplex_allocates_nothing_per_frame_on_the_viper_and_plain_paths():
    for mode in ("viper", "plain"):
        result = run_script(mode)
        assert result.returncode == 0, result.stdout + result.stderr
        ok, path, muted, break_ins = result.stdout.split()
        assert (ok, path) == ("OK", mode)
        # the locked frames went through both states: muted echo, break-ins
        assert int(muted) > 100 and int(break_ins) >= 7


def test_one_allocation_per_frame_is_caught_by_the_lock():
    result = run_script("control")
    assert result.returncode != 0
    assert "heap is locked" in result.stderr + result.stdout
