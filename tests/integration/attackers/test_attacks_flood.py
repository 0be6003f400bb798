# A SIPp INVITE flood (300 a second for 10 s, SIPp's built-in uac scenario)
# hits the door during a live call with the flat phone, first from an
# untrusted host (127.0.0.2: dropped unread) and then from a trusted one
# (127.0.0.3, listed in sip.trusted: rate-limited by the guard's token
# bucket). The call's audio keeps flowing to the flat at ~50 packets a
# second, the door's peak RSS stays bounded, and a new call works after.

import subprocess
import time

import numpy
from faults_rig import (
    door_sections,
    free_port,
    free_rtp_pair,
    peak_rss_kb,
    rtp_gaps_ms,
    speech_like,
    start_door,
    wait_new,
    write_wav,
)
from sip_interop_peers import ensure_installed

from host_tools.processes import stop_process

FLOOD_RATE = 300
FLOOD_S = 10
GAP_LIMIT_MS = 200  # audio.jitter_max_ms: the deepest the jitter buffer grows
RSS_GROWTH_KB = 8192  # a leak of one 1 KB INVITE per flood datagram would be ~6 MB per flood


def flood(tmp_path, source, door_port):
    ensure_installed(["sipp"], "sip-tester")
    command = ["sipp", "-sn", "uac", "-i", source, "-p", str(free_port(source))]
    command += ["-r", str(FLOOD_RATE), "-m", str(FLOOD_RATE * FLOOD_S), "-nostdin"]
    command += ["-l", str(FLOOD_RATE * FLOOD_S)]  # no cap on open calls (default 900)
    command += ["-timeout", "%ds" % (FLOOD_S + 5), "-mp", str(free_port(source))]
    command += ["127.0.0.1:%d" % door_port]
    log_path = tmp_path / ("flood_%s.log" % source)
    log = open(log_path, "wb")
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        # SIPp waits for answers that never come: stopped after FLOOD_S (its
        # own -timeout is a safety net); sipp_totals() shows what it sent.
        process.wait(timeout=FLOOD_S)
    except subprocess.TimeoutExpired:
        pass
    finally:
        stop_process(process)
        log.close()
    return started, time.monotonic(), sipp_totals(log_path.read_text("utf-8", "replace"))


def sipp_totals(screen):
    """(INVITEs sent, calls failed) from the last statistics screen SIPp drew."""
    sent = failed = None
    for line in screen.replace("\r", "\n").splitlines():
        fields = line.split()
        if fields[:2] == ["INVITE", "---------->"]:
            sent = int(fields[2])
        if line.strip().startswith("Failed call") and "|" in line:
            failed = int(line.split("|")[2])
    return sent, failed


def test_an_invite_flood_during_a_call_keeps_the_audio_and_the_memory(tmp_path, rig):
    flat = rig.flat(answer_after_ms=200)
    door_port = free_port()
    target = "sip:flat1@127.0.0.1:%d" % flat.sip_address[1]
    write_wav(tmp_path / "visitor.wav", speech_like(1.0))
    sections = door_sections(door_port, free_rtp_pair(), [target], sip={"trusted": ["127.0.0.3"]})
    sections["audio"]["input"] = "tone"
    sections["call"]["max_duration"] = 120
    door = rig.door(start_door(tmp_path, sections))
    pid = door.process.pid
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10)
    flat.wait_for("media_started")
    time.sleep(1.0)
    rss_before = peak_rss_kb(pid)
    report = []
    for source in ("127.0.0.2", "127.0.0.3"):
        began, ended, (sent, failed) = flood(tmp_path, source, door_port)
        arrivals = numpy.asarray(flat.capture.rtp_arrivals)
        window = arrivals[(arrivals >= time.time() - (time.monotonic() - began))]
        gaps = rtp_gaps_ms(window)
        rate = len(window) / (ended - began)
        report.append(
            "%s: %d INVITEs, %d refused; flat got %.1f pps, gaps p50 %.1f p99 %.1f max %.1f ms;"
            " VmHWM %d kB"
            % (
                source,
                sent,
                failed,
                rate,
                *numpy.percentile(gaps, [50, 99]),
                gaps.max(),
                peak_rss_kb(pid),
            )
        )
        assert sent >= FLOOD_RATE * FLOOD_S * 0.8, report  # the flood really ran
        if source == "127.0.0.2":
            assert failed == 0, report  # untrusted: not one answer
        else:
            # Trusted: 486 for what the guard lets through (20/s, burst 40).
            assert 1 <= failed <= 40 + 20 * (FLOOD_S + 1), report
        assert 45 <= rate <= 55, report
        # A gap the flat's jitter buffer (40..200 ms) rides out is not heard:
        # the median stays at the 20 ms packet time, rare gaps stay short.
        assert abs(numpy.median(gaps) - 20) < 2, report
        assert numpy.percentile(gaps, 99) < 100 and gaps.max() < GAP_LIMIT_MS, report
    rss_after = peak_rss_kb(pid)
    print("flood: VmHWM before %d kB after %d kB; %s" % (rss_before, rss_after, report))
    assert rss_after - rss_before < RSS_GROWTH_KB
    door.drain(timeout=0.5)
    assert not [e for e in door.seen if e["event"] == "incoming_call" and e["accepted"]]

    mark = len(door.seen)
    door.send("hangup")
    wait_new(door, "call_ended", mark, reason="local_hangup")
    flat.wait_for("media_stopped")
    time.sleep(0.5)
    seen = len(flat.events)
    door.send("press")
    door.send("release")
    wait_new(door, "answered", mark, timeout=10)
    flat.wait_for("media_started", after=seen)
    door.send("quit")
    assert door.wait() == 0
    assert "error" not in door.names()
    assert len(door.stderr().splitlines()) <= 4, door.stderr()  # the flood logged nothing
