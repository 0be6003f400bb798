"""`python -m host_tools.sim` end to end: a real door process, the virtual
flat phone, and what a user finds afterwards (exit status, summary, WAVs,
a pcap that tshark reads as a SIP call with G.711 RTP and RFC 4733 events).

The scenario runs once per module (about 11 s); every test reads its
artifacts. The WAV checks locate the speech from the door's events and the
scenario's fixed timing (not from the scenario's own delay measurement).
"""

import json
import re
import subprocess
import sys

import numpy
import pytest
from support.audio import read_wav
from support.paths import ROOT

ASSETS = ROOT / "host_tools" / "sim" / "assets"
FRAME = 160  # 20 ms at 8 kHz
REPLY_AFTER_MS = 1000  # the flat speaks this long after answering
DOOR_CODE = "1234"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("sim") / "out"
    result = subprocess.run(
        [sys.executable, "-m", "host_tools.sim", "--artifacts", str(artifacts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, artifacts


def tshark_fields(pcap, display_filter, *fields):
    command = ["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields"]
    for field in fields:
        command += ["-e", field]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in output.splitlines() if line]


def frame_rms(samples):
    frames = len(samples) // FRAME
    shaped = samples[: frames * FRAME].reshape(frames, FRAME)
    return numpy.sqrt(numpy.mean(shaped * shaped, axis=1))


def envelope_match(reference, recording, expected_frame, slack_before, slack_after):
    """Best correlation of the reference's 20 ms RMS envelope with the
    recording's, over start frames expected_frame - slack_before ...
    expected_frame + slack_after; returns (correlation, start frame)."""
    wanted = frame_rms(reference)
    have = frame_rms(recording)
    best = (-1.0, None)
    for start in range(max(0, expected_frame - slack_before), expected_frame + slack_after + 1):
        window = have[start : start + len(wanted)]
        if len(window) < len(wanted):
            break
        score = numpy.corrcoef(wanted, window)[0, 1]
        if score > best[0]:
            best = (score, start)
    return best


def door_events(artifacts):
    lines = (artifacts / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def first(events, name):
    return next(event for event in events if event["event"] == name)


def test_exit_status_and_printed_report(run):
    result, artifacts = run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESULT: PASS" in result.stdout
    assert "Artifacts: %s" % artifacts in result.stdout
    assert "INVITE" in result.stdout and "180 Ringing" in result.stdout  # the ladder
    for name in (
        "door_heard.wav",
        "flat_heard.wav",
        "call.pcap",
        "ladder.svg",
        "ladder.txt",
        "events.jsonl",
        "summary.txt",
    ):
        assert (artifacts / name).stat().st_size > 0, name


def test_door_events_tell_the_story_in_order(run):
    _, artifacts = run
    names = [event["event"] for event in door_events(artifacts)]
    story = ["button", "call_started", "ringing", "answered", "door_opened", "door_closed"]
    story.append("call_ended")
    positions = [names.index(name) for name in story]
    assert positions == sorted(positions)
    digits = [event["digit"] for event in door_events(artifacts) if event["event"] == "dtmf"]
    assert "".join(digits) == DOOR_CODE


@pytest.mark.integration  # tshark decodes the pcap
def test_pcap_holds_the_sip_dialog(run):
    _, artifacts = run
    rows = tshark_fields(
        artifacts / "call.pcap", "sip", "sip.Method", "sip.Status-Code", "sip.CSeq.method"
    )
    seen = [method or "%s %s" % (status, cseq) for method, status, cseq in rows]
    for expected in ("INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"):
        assert expected in seen, seen
    assert seen.index("INVITE") < seen.index("180 INVITE") < seen.index("200 INVITE")
    assert seen.index("200 INVITE") < seen.index("ACK") < seen.index("BYE")


@pytest.mark.integration  # tshark decodes the pcap
def test_pcap_holds_pcmu_both_ways_and_the_code_as_rfc4733(run):
    _, artifacts = run
    pcap = artifacts / "call.pcap"
    rtp = tshark_fields(pcap, "rtp", "udp.srcport", "rtp.p_type")
    audio_ports = {port for port, payload_type in rtp if payload_type == "0"}
    assert len(audio_ports) == 2  # PCMU (RFC 3551 type 0) from the door and from the flat
    assert sum(1 for _, payload_type in rtp if payload_type == "0") > 300
    events = tshark_fields(pcap, "rtpevent", "rtp.p_type", "rtpevent.event_id", "rtp.marker")
    assert events, "no RFC 4733 events decoded"
    assert {payload_type for payload_type, _, _ in events} == {"101"}
    starts = [event_id for _, event_id, marker in events if marker in ("1", "True")]
    assert "".join(starts) == DOOR_CODE
    assert tshark_fields(pcap, "rtcp.pt == 200", "rtcp.pt")  # sender reports


def test_wavs_are_8khz_mono_16bit(run):
    _, artifacts = run
    for name in ("door_heard.wav", "flat_heard.wav"):
        samples = read_wav(artifacts / name)  # asserts 8 kHz, mono, 16-bit
        assert len(samples) > 8000 * 5, name


def test_flat_heard_the_visitor_from_the_answer_on(run):
    _, artifacts = run
    visitor = read_wav(ASSETS / "visitor.wav")
    heard = read_wav(artifacts / "flat_heard.wav")
    # The sim door's file mic starts when the call is talking and the flat
    # records from its answer: the visitor starts within a few frames.
    score, start = envelope_match(visitor, heard, 0, 0, 15)
    assert score > 0.9, (score, start)
    levels = frame_rms(heard)
    end = start + len(visitor) // FRAME
    assert levels[start:end].mean() > 500.0
    after = levels[end + 5 :]  # the door's mic is silent once the WAV has played
    assert len(after) > 50 and after.max() < 50.0


def test_door_heard_the_flat_reply_after_the_answer(run):
    _, artifacts = run
    events = door_events(artifacts)
    reply = read_wav(ASSETS / "flat_reply.wav")
    heard = read_wav(artifacts / "door_heard.wav")
    # door_heard.wav holds one frame per 20 ms from the door's start on.
    started, answered = first(events, "started")["ts_ms"], first(events, "answered")["ts_ms"]
    answer_frame = (answered - started) // 20
    expected = answer_frame + REPLY_AFTER_MS // 20
    score, start = envelope_match(reply, heard, expected, 5, 15)
    assert score > 0.9, (score, start)
    levels = frame_rms(heard)
    assert levels[start : start + len(reply) // FRAME].mean() > 500.0
    before = levels[answer_frame + 5 : start - 2]  # the flat is silent before its reply
    assert len(before) > 30 and before.max() < 50.0


def test_summary_reports_measured_delays(run):
    _, artifacts = run
    summary = (artifacts / "summary.txt").read_text()
    for label in ("door mic -> flat ear", "flat mic -> door ear"):
        match = re.search(
            re.escape(label) + r" \.+ +(-?[0-9.]+) ms \(.*\) +correlation peak ([0-9.]+)", summary
        )
        assert match, summary
        assert 0.0 < float(match.group(1)) < 500.0
        assert float(match.group(2)) > 0.9
    answered = re.search(r"button -> answered \.+ ([0-9]+) ms", summary)
    assert answered and 700 <= int(answered.group(1)) < 1500, (
        summary
    )  # the flat answers after 0.8 s
