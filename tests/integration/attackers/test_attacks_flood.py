# A SIPp INVITE flood (300 a second for 10 s, SIPp's built-in uac scenario)
# hits the door during a live call with the flat phone, first from an
# untrusted host (127.0.0.2: dropped unread) and then from a trusted one
# (127.0.0.3, listed in sip.trusted: rate-limited by the guard's token
# bucket). The call's audio keeps flowing to the flat at ~50 packets a
# second, the door's peak RSS stays bounded, and a new call works after.

import pathlib
import subprocess
import time

import numpy
import pytest
from support.audio import voice_like, write_wav
from support.config import door_sections
from support.door import start_door
from support.flat_phone import Flat
from support.sipp import Sipp

pytestmark = pytest.mark.integration
AUDIO = {"input": "file:visitor.wav", "output": "file:door_heard.wav"}

FLOOD_RATE = 300
FLOOD_S = 10
GAP_LIMIT_MS = 200  # audio.jitter_max_ms: the deepest the jitter buffer grows
RSS_GROWTH_KB = 8192  # a leak of one 1 KB INVITE per flood datagram would be ~6 MB per flood


def peak_rss_kb(pid):
    """VmHWM of a live process, in kB."""
    for line in pathlib.Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM for pid %d" % pid)


def flood(owned, tmp_path, source, door_port):
    sipp = Sipp(
        tmp_path,
        "flood_%s" % source,
        builtin="uac",
        remote=("127.0.0.1", door_port),
        host=source,
        calls=FLOOD_RATE * FLOOD_S,
        timeout_s=FLOOD_S + 5,
        trace=False,
        options=["-r", FLOOD_RATE, "-l", FLOOD_RATE * FLOOD_S],  # -l: no cap on open calls
    )
    started = time.monotonic()
    owned(sipp).start()
    try:
        # SIPp waits for answers that never come: stopped after FLOOD_S (its
        # own -timeout is a safety net); sipp_totals() shows what it sent.
        sipp.process.wait(timeout=FLOOD_S - (time.monotonic() - started))
    except subprocess.TimeoutExpired:
        pass
    finally:
        sipp.stop()
    return started, time.monotonic(), sipp_totals(sipp.output_path.read_text("utf-8", "replace"))


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


def test_an_invite_flood_during_a_call_keeps_the_audio_and_the_memory(tmp_path, owned):
    flat = owned(Flat(answer_after_ms=200))
    target = "sip:flat1@127.0.0.1:%d" % flat.sip_address[1]
    write_wav(tmp_path / "visitor.wav", voice_like(1.0))
    sections = door_sections([target], "Door F", sip={"trusted": ["127.0.0.3"]}, audio=AUDIO)
    sections["audio"]["input"] = "tone"
    sections["call"]["max_duration"] = 120
    door = start_door(owned, tmp_path, sections)
    door_port = door.sip_port
    pid = door.process.pid
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10)
    flat.wait_for("media_started")
    time.sleep(1.0)
    rss_before = peak_rss_kb(pid)
    report = []
    for source in ("127.0.0.2", "127.0.0.3"):
        began, ended, (sent, failed) = flood(owned, tmp_path, source, door_port)
        arrivals = numpy.asarray(flat.capture.rtp_arrivals)
        window = arrivals[(arrivals >= time.time() - (time.monotonic() - began))]
        gaps = numpy.diff(window) * 1000.0
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
    door.wait_for("call_ended", after=mark, reason="local_hangup")
    flat.wait_for("media_stopped")
    time.sleep(0.5)
    seen = len(flat.events)
    door.send("press")
    door.send("release")
    door.wait_for("answered", after=mark, timeout=10)
    flat.wait_for("media_started", after=seen)
    door.send("quit")
    assert door.wait() == 0
    assert "error" not in door.names()
    assert len(door.stderr().splitlines()) <= 4, door.stderr()  # the flood logged nothing
