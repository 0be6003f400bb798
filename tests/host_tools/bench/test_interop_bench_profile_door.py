# The per-frame breakdown (host_tools/bench/profile_door.py) on short
# windows, with real baresips: the phase instrumentation runs in the door on
# both interpreters and counts each per-frame function once per frame, strace
# sees the door's sends and receives, callgrind's dumps give the door's and
# the baresip's instructions, and the section's tables name every phase.

import pytest

from host_tools.bench import frame_phases, profile_door

pytestmark = pytest.mark.integration  # real baresips answer the profiled calls

PHASE_FRAMES = 100  # two blocks of 50
TOOL_S = 2


def test_interop_frame_breakdown_covers_both_doors_and_every_view():
    results = profile_door.profile_all(PHASE_FRAMES, TOOL_S)
    for interpreter in ("CPython", "MicroPython"):
        report, cpu_per_frame = results["phases"][interpreter]
        assert report["frames"] == PHASE_FRAMES
        phases = report["phases"]
        assert set(phases) == set(frame_phases.NAMES)
        for once_a_frame in (
            "jitter buffer get",
            "encode (G.711)",
            "playout (WAV write)",
            "speaker: DTMF mute delay line (DtmfMute.play)",
        ):
            assert phases[once_a_frame]["calls"] == PHASE_FRAMES, (interpreter, once_a_frame)
        assert phases["receive (recvfrom, until drained)"]["calls"] >= PHASE_FRAMES
        assert cpu_per_frame > 0 and results["plain"][interpreter] > 0
        door_calls = results["strace"][interpreter]["door"]
        assert door_calls["sendto"][0] > 0 and door_calls["recvfrom"][0] > 0
        door = results["callgrind"][interpreter]["door"]
        assert door.total > 0 and profile_door.callgrind_frames(door, interpreter) > 1
    assert results["callgrind"]["CPython"]["baresip"].total > 0
    assert results["strace"]["CPython"]["baresip"]["sendto"][0] > 0

    text = profile_door.report(results, PHASE_FRAMES)
    for name in frame_phases.NAMES:
        if name != frame_phases.POLL:
            assert "| %s |" % name in text
    print(text)
