# Runs under the MicroPython unix port in place of firmware/main.py (same
# folder, same config.json, same entry: it imports `main`) and samples the
# live heap while the door runs: every SAMPLE_MS a loop timer runs
# gc.collect() and reads gc.mem_alloc(), so each sample is what is still
# referenced then (garbage excluded). gc.mem_alloc() without the collect
# only climbs to the -X heapsize limit: the unix port collects when an
# allocation fails, so its raw peak is the heap size, not what the door needs.
#
# On exit it prints one line on stderr, after everything the door printed:
#   bench-heap {"live_peak": BYTES, "samples": N, "heap": BYTES}
#
#   cd FOLDER_WITH_CONFIG_JSON
#   MICROPYPATH=FIRMWARE micropython -X heapsize=N host_tools/bench/mp_heap_door.py
#
# HeapSampler and sampled_loop_class are imported by the Pico ROMFS boot
# shim (tests/support/micropython/mp_romfs_boot.py) for the same measure.

import gc
import json
import sys

from boards.runtime import loop, runtime

SAMPLE_MS = 1000
REPORT_PREFIX = "bench-heap "


class HeapSampler:
    def __init__(self):
        self.live_peak = 0
        self.samples = 0

    def sample(self):
        gc.collect()
        self.live_peak = max(self.live_peak, gc.mem_alloc())
        self.samples += 1

    def report(self):
        heap = gc.mem_alloc() + gc.mem_free()
        figures = {"live_peak": self.live_peak, "samples": self.samples, "heap": heap}
        sys.stderr.write(REPORT_PREFIX + json.dumps(figures) + "\n")


def sampled_loop_class(sampler, period_ms=SAMPLE_MS):
    """boards.runtime.loop.Loop, plus a sampling timer from its first moment."""

    class SampledLoop(loop.Loop):
        def __init__(self, clock=None):
            super().__init__(clock)
            self.call_every(period_ms, sampler.sample)

    return SampledLoop


def run():
    sampler = HeapSampler()
    runtime.Loop = sampled_loop_class(sampler)  # Runtime() builds its loop from this name
    try:
        import main  # noqa: F401  (runs the door; main.py ends in sys.exit)
    except SystemExit:
        sampler.report()
        raise
    sampler.report()


if __name__ == "__main__":
    run()
