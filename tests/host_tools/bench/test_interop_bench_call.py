# The call benchmark (host_tools/bench/call.py) on short calls: every call of
# a round completes with real baresips (the shim built and preloaded into
# the paced ones, RFC 4733 digits and audio both ways checked by the bench
# itself), every process is measured, the paced players report through the
# shim while the PulseAudio ones do not, the minimal loops run beside them,
# and the section's report shows each door's ratios (to baresip and to the
# minimal loop of its interpreter) and the checks.

import pytest

from host_tools.bench import call

pytestmark = pytest.mark.integration  # real baresips answer each measured call

HEAP_KIB = 1024  # no heap search here: it takes a minute
CALL_S = 4


def test_interop_call_benchmark_measures_every_call_of_a_round():
    measured = call.measure_all(CALL_S, heap_kib=HEAP_KIB, rounds=1, unpaced_s=2)
    [results] = measured["rounds"]
    assert set(results) == set(call.CALLS)
    for call_name, processes in call.CALLS.items():
        assert set(results[call_name]) == set(processes)
        for figures in results[call_name].values():
            assert figures["cpu"] >= 0 and figures["wakeups"] > 0 and 0 < figures["rss"] < 200
    for call_name in ("door -> baresip", "door (MicroPython) -> baresip", "baresip -> baresip"):
        for name, figures in results[call_name].items():
            if name.startswith("baresip"):
                players = [paced for paced in figures["shim"] if paced["seconds"] >= CALL_S]
                assert len(players) == 1, (call_name, name, figures["shim"])
                assert players[0]["rate"] == 8000 and players[0]["frames"] > 0
    for figures in results["baresip -> baresip (PulseAudio)"].values():
        assert figures["shim"] == []
    assert set(measured["unpaced"]) == {call.DOOR, call.ANSWERING_DOOR}
    assert measured["unpaced"][call.ANSWERING_DOOR]["shim"] == []  # nothing preloaded
    heap = measured["heap"]
    assert heap["smallest_kib"] is None and heap["call_kib"] == HEAP_KIB
    assert heap["samples"] >= 3  # one a second over a 4 s call and its setup
    assert 0 < heap["live_peak"] < heap["heap"] <= HEAP_KIB * 1024

    text = call.report(measured, CALL_S)
    for door in (call.DOOR, call.MP_DOOR):
        assert "| %s / baresip call |" % door in text
        assert "| %s / baresip it called |" % door in text
    for interpreter in call.LOOPS:
        assert "| minimal loop (%s) / baresip call |" % interpreter in text
    assert "| %s / minimal loop (CPython) |" % call.DOOR in text
    assert "| %s / minimal loop (MicroPython) |" % call.MP_DOOR in text
    assert "- the floor, median over the rounds" in text
    assert "the shim's pacing" in text and "baresip without the shim" in text
    print(text)
