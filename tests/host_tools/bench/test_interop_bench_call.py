# The call benchmark (host_tools/bench/call.py) on a short call: every
# process of the three calls (CPython door, MicroPython door, baresip pair)
# is measured, baresip is paced (not burning a core), our doors stay within
# a plain budget and the MicroPython door reports its live heap.

import pytest

from host_tools.bench import call

pytestmark = pytest.mark.integration  # baresip answers each measured call
HEAP_KIB = 1024  # no heap search here: it takes a minute


def test_interop_call_benchmark_measures_all_three_calls():
    measured = call.measure_all(4, heap_kib=HEAP_KIB)
    assert [len(measured[name]) for name in ("ours", "micropython", "theirs")] == [1, 1, 1]
    ours, micropython, theirs = (measured[name][0] for name in ("ours", "micropython", "theirs"))
    assert set(ours) == {"our door (CPython)", "baresip, answering the door"}
    assert set(micropython) == {"our door (MicroPython)", "baresip, answering the door"}
    assert len(theirs) == 2
    for cpu, rss in list(ours.values()) + list(micropython.values()) + list(theirs.values()):
        assert 0 < rss < 200
        # a never-blocking player would spend about 60 CPU-s per minute
        assert 0 <= cpu < 15, measured
    heap = measured["heap"]
    assert heap["smallest_kib"] is None and heap["call_kib"] == HEAP_KIB
    assert heap["samples"] >= 3  # one a second over a 4 s call and its setup
    assert 0 < heap["live_peak"] < heap["heap"] <= HEAP_KIB * 1024
    print("measured %r" % measured)
