"""Summary formatting, event-order and delay checks, RTP figures from a capture."""

import struct

from host_tools.sim.mouth_to_ear import MouthToEar
from host_tools.sim.report import delay_check, events_in_order, failures, format_summary
from host_tools.sim.rtp_stats import stream_stats

REQUIRED = ["button", "call_started", "ringing", "answered", "door_opened", "call_ended"]


def test_events_in_order_with_others_between():
    names = ["started", "button", "call_started", "ringing", "answered", "dtmf", "dtmf"]
    names += ["door_opened", "door_closed", "call_ended"]
    passed, detail = events_in_order(names, REQUIRED)
    assert passed
    assert detail == " -> ".join(REQUIRED)


def test_events_out_of_order_name_the_missing_one():
    names = ["button", "call_started", "answered", "ringing", "call_ended"]
    passed, detail = events_in_order(names, REQUIRED)
    assert not passed
    assert detail.startswith("got button -> call_started -> ringing, then no answered")


def test_no_events_at_all():
    passed, detail = events_in_order([], ["button"])
    assert not passed
    assert detail == "got nothing, then no button (events: none)"


def test_delay_check_thresholds():
    good = MouthToEar([63.0, 60.0, 70.0], [0.97, 0.99, 0.9])
    assert delay_check("door -> flat", good)[1]
    assert delay_check("door -> flat", good)[2] == "lag 63.0 ms, correlation 0.970"
    weak = MouthToEar([63.0], [0.31])
    assert not delay_check("x", weak)[1]
    assert "below 0.50" in delay_check("x", weak)[2]
    late = MouthToEar([600.0], [0.99])
    assert "outside 0-500 ms" in delay_check("x", late)[2]
    early = MouthToEar([-1.0], [0.99])
    assert not delay_check("x", early)[1]
    assert delay_check("x", None) == ("x audio recognised, delay plausible", False, "not measured")


def test_summary_layout_and_verdict():
    checks = [("events in order", True, "a -> b"), ("door exit status", False, "exit 1")]
    text = format_summary(
        "Simulated door call",
        [("button -> INVITE", 12.4), ("button -> door opened", None)],
        [
            ("door mic -> flat ear", MouthToEar([60.0, 58.5, 64.0], [0.985, 0.99, 0.98])),
            ("flat -> door", None),
        ],
        [("flat received", "250 packets, 0 lost")],
        checks,
        artifacts="artifacts/sim-x",
    )
    lines = text.splitlines()
    assert lines[0] == "Simulated door call"
    assert lines[1] == "=" * len("Simulated door call")
    assert "  button -> INVITE ................. 12 ms" in lines
    assert "  button -> door opened ............ n/a" in lines
    row = "  door mic -> flat ear .............   60.0 ms (58.5 to 64.0 over 3 pieces)"
    assert row + "   correlation peak 0.985" in lines
    assert "  flat -> door ..................... not measured" in lines
    assert "  flat received .................... 250 packets, 0 lost" in lines
    assert "  [ok] events in order: a -> b" in lines
    assert "  [FAIL] door exit status: exit 1" in lines
    assert "Artifacts: artifacts/sim-x" in lines
    assert lines[-1] == "RESULT: FAIL (1 of 2 checks failed)"
    assert failures(checks) == ["door exit status: exit 1"]


def test_summary_all_passed():
    text = format_summary("T", [], [], [], [("a", True, "fine")])
    assert text.endswith("RESULT: PASS (1 checks)\n")
    assert "Mouth-to-ear" not in text


def rtp(sequence, timestamp, payload_type=0, marker=False):
    second = (0x80 if marker else 0) | payload_type
    return struct.pack("!BBHII", 0x80, second, sequence, timestamp, 0x1234) + bytes(160)


DOOR = ("127.0.0.1", 20000)
FLAT = ("127.0.0.1", 30000)


def test_stream_stats_counts_losses_across_a_wrap_and_event_packets():
    records = []
    for index in range(10):
        if index == 4:
            continue  # lost
        sequence = (0xFFFB + index) & 0xFFFF
        records.append(
            (1.0 + 0.02 * index, DOOR, FLAT, rtp(sequence, (0xFFFFFF00 + 160 * index) & 0xFFFFFFFF))
        )
    records.append((1.3, DOOR, FLAT, rtp(5, (0xFFFFFF00 + 1600) & 0xFFFFFFFF, 101)))
    records.append((1.3, FLAT, DOOR, rtp(77, 0)))  # the other direction
    records.append((1.31, DOOR, FLAT, b"\x81\xc8" + bytes(26)))  # RTCP sender report
    stats = stream_stats(records, DOOR, FLAT)
    assert stats.packets == 10
    assert stats.payload_types == {0: 9, 101: 1}
    assert stats.lost == 1
    assert stats.jitter_ms < 1e-6  # evenly spaced, timestamps wrap in between


def test_stream_stats_jitter_follows_rfc3550():
    records = [
        (0.00, DOOR, FLAT, rtp(1, 0)),
        (0.02, DOOR, FLAT, rtp(2, 160)),
        (0.05, DOOR, FLAT, rtp(3, 320)),  # 10 ms late: D = 80 units, J = 80 / 16
    ]
    stats = stream_stats(records, DOOR, FLAT)
    assert abs(stats.jitter_ms - 0.625) < 1e-9
    assert stats.lost == 0
