"""A door that runs for years must not leak heap: thirty calls of every kind
(answered, refused by the flat, cancelled by the door, no answer, a wrong
code, the right code, an in-call re-INVITE, a registration refresh during a
call, an incoming call answered, one refused) under the MicroPython unix
port from .mpy files, with MQTT connected to a real Mosquitto publishing
the door's events and states (mp_long_run_door.py). The live heap
(gc.collect(); gc.mem_alloc()) is taken after each call, once every timer
the call left behind has run out (the measure's fixed point).
"""

import os
import subprocess

import pytest
from support.mosquitto import Mosquitto
from support.paths import MICROPYTHON, STAND_INS, TESTS
from support.pico import compile_firmware

pytestmark = pytest.mark.integration

PROBE = TESTS / "integration" / "mosquitto" / "mp_long_run_door.py"
KINDS = 10  # mp_long_run_door.KINDS: call N is of kind (N - 1) % 10
# Measured (2026-12-07, unix port x64, 16-byte heap blocks): the first round
# of ten calls grows the heap by 480 B while each kind of call runs for the
# first time (dicts reaching their size, counters named for the first
# time); from call 11 on each kind's heap equals the previous round's
# within 32 B (the same objects in another order). A leak of one object a
# call adds at least one 16-byte block a call: 160 B a round, 320 B over
# calls 10 to 30, more than these bounds.
ROUND_SLACK = 64
LONG_SLACK = 64
FIRST_ROUND = 512  # the first round's growth after call 3 (480 B measured)
EXPECTED = {
    "answered": ["call_started", "answered", "call_ended:remote_hangup"],
    "refused": ["call_started", "call_ended:refused"],
    "cancelled": ["call_started", "call_ended:cancelled"],
    "no_answer": ["call_started", "call_ended:no_answer"],
    "wrong_code": ["answered", "code_rejected:wrong_code", "call_ended:remote_hangup"],
    "right_code": ["answered", "door_opened", "call_ended:door_opened"],
    "reinvite": ["answered", "call_ended:remote_hangup"],
    "incoming": ["incoming_call:True", "call_ended:remote_hangup"],
    "refresh": ["answered", "call_ended:remote_hangup"],
    "incoming_refused": ["incoming_call:False"],
}


def run_probe(tmp_path, broker_port):
    lib = compile_firmware(tmp_path / "lib", "x64")
    path = "%s:%s:%s" % (STAND_INS, lib, TESTS / "unit")
    result = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=1M", str(PROBE), str(broker_port), str(tmp_path)],
        env={**os.environ, "MICROPYPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = []
    figures = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if words[0] == "call":
            events = words[3].split(",") if len(words) == 5 else []
            calls.append((words[2], events, int(words[-1])))
        elif words[0] in ("registers", "mqtt"):
            figures[words[0]] = words[1:]
    return calls, figures


def test_thirty_calls_of_every_kind_leave_the_heap_as_ten_calls_did(tmp_path, owned):
    broker = owned(Mosquitto(tmp_path)).start()
    calls, figures = run_probe(tmp_path, broker.port)
    assert len(calls) == 30
    for number, (kind, events, _) in enumerate(calls, 1):
        seen = [name for name in events if name in EXPECTED[kind]]
        assert seen == EXPECTED[kind], (number, kind, events)
    assert int(figures["registers"][0]) >= 30  # refreshed all along (expires 60 s)
    connected, published, dropped = figures["mqtt"]
    assert connected == "True" and dropped == "0"
    assert int(published) >= 30 * 3  # each call's events and call states

    heaps = [heap for _, _, heap in calls]
    print("live heap after each call: %r" % heaps)
    for index in range(2 * KINDS, 3 * KINDS):  # round 3 against round 2, kind by kind
        assert abs(heaps[index] - heaps[index - KINDS]) <= ROUND_SLACK, (index + 1, heaps)
    assert heaps[29] - heaps[9] <= LONG_SLACK, heaps  # call 30 against call 10
    assert heaps[29] - heaps[2] <= FIRST_ROUND + LONG_SLACK, heaps  # and against call 3
