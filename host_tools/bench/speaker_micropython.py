# Run by the MicroPython unix port (MICROPYPATH=firmware:host_tools/bench),
# from host_tools.bench.speaker: times each scenario of speaker_scenarios
# side by side and prints one JSON object per line: name, min_ns, median_ns
# (per 20 ms frame).
#
# Usage: micropython speaker_micropython.py [ROUNDS]

import json
import sys
import time

from speaker_scenarios import FRAMES, NAMES, Scenarios


def main(rounds):
    scenarios = Scenarios()
    samples = {}
    for name in NAMES:
        samples[name] = []
    for _ in range(rounds):
        for name in NAMES:
            started = time.ticks_us()
            scenarios.play(name)
            elapsed = time.ticks_diff(time.ticks_us(), started)
            samples[name].append(elapsed * 1000 / FRAMES)
    for name in NAMES:
        values = sorted(samples[name])
        entry = {"name": name, "min_ns": values[0], "median_ns": values[len(values) // 2]}
        print(json.dumps(entry))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
