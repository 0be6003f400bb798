# Timing helpers shared by the benchmark sections.

import statistics
import time


def calls_lasting(function, run_s):
    """How many back-to-back calls of function take about run_s seconds."""
    calls = 1
    while True:
        started = time.perf_counter_ns()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter_ns() - started
        if elapsed >= run_s * 1e9:
            return calls
        calls = max(2 * calls, int(calls * run_s * 1e9 / max(elapsed, 1)) + 1)


def time_side_by_side(candidates, items, rounds, run_s):
    """{name: (minimum, median) ns per item} for {name: function()}.

    Each round times every candidate once, one after the other, so load from
    other processes hits them alike; each timing repeats the call for about
    run_s seconds. The minimum over the rounds is the best estimate of the
    cost, the median shows the noise.
    """
    calls = {name: calls_lasting(function, run_s) for name, function in candidates.items()}
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, function in candidates.items():
            count = calls[name]
            started = time.perf_counter_ns()
            for _ in range(count):
                function()
            samples[name].append((time.perf_counter_ns() - started) / count / items)
    return {name: (min(values), statistics.median(values)) for name, values in samples.items()}


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
