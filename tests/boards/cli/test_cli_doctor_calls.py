"""`intercom doctor`'s "last call" and "voicemail.prompt" checks: the last
call_ended in the door's call log (as boards.services.call_log writes it)
explained in words with what to fix (NAT, one-way audio, a refusal and its
code, the media timeout, how the phone sends DTMF), the voicemail prompt
played or missing; and through the command line, the exit status."""

import subprocess
import sys

from boards.cli import doctor
from boards.cli.config_file import load_config
from boards.services.call_log import CallLog, path_next_to
from intercom import events
from support.config import door_sections, write_config
from support.ports import free_port

TARGET = "sip:flat1@127.0.0.1:%d" % free_port()  # nobody answers there


def media(**changes):
    summary = {
        "codec": "PCMU",
        "ptime": 20,
        "telephone_event": True,
        "dtmf": "rfc4733",
        "packets_sent": 1500,
        "packets_received": 1490,
        "sdp_address": "10.0.0.5:4000",
        "rx_from": "sdp",
        "stray_address": None,
        "stray_packets": 0,
        "phone_reports": 6,
        "phone_heard_us": True,
        "audio": "ok",
    }
    summary.update(changes)
    return summary


def doctor_config(folder, **sections):
    """folder/door.toml of a sim door whose one target nobody answers."""
    merged = door_sections([TARGET], audio={"input": "tone", "output": "null"}, **sections)
    return write_config(folder / "door.toml", merged)


def last_call_lines(folder, *ended):
    config = load_config(str(doctor_config(folder)))
    log = CallLog(path_next_to(config["door"]["state_file"]))
    log.add(events.call_started(1, TARGET), 1765000000000)
    for event in ended:
        log.add(event, 1765000060000)
    log.save()
    lines = []
    report = doctor.Report(lines.append)
    doctor.check_last_call(report, config)
    return lines, report.problems


def test_a_phone_behind_nat(tmp_path):
    summary = media(
        packets_received=0,
        rx_from="elsewhere",
        stray_address="192.0.2.5:31000",
        stray_packets=740,
        audio="no_rx",
    )
    lines, problems = last_call_lines(
        tmp_path, events.call_ended(9, "local_hangup", 15000, "hangup", None, summary)
    )
    text = "\n".join(lines)
    assert problems == 1
    assert "audio arrived from 192.0.2.5 but the SDP said 10.0.0.5: NAT" in text
    assert "fix: set audio.symmetric_rtp = true" in text
    assert "ok    last call" in text and "ended by local_hangup (hangup) after 15 s" in text


def test_the_last_call_is_the_one_explained(tmp_path):
    bad = events.call_ended(9, "remote_hangup", 8000, None, None, media(audio="no_rx"))
    good = events.call_ended(19, "remote_hangup", 9000, None, None, media())
    lines, problems = last_call_lines(tmp_path, bad, good)
    assert problems == 0
    assert any("audio both ways: PCMU 20 ms, 1500 packets sent, 1490 received" in x for x in lines)


def test_one_way_audio_names_where_the_door_sent(tmp_path):
    summary = media(phone_heard_us=False, audio="one_way")
    lines, problems = last_call_lines(
        tmp_path, events.call_ended(9, "remote_hangup", 20000, None, None, summary)
    )
    text = "\n".join(lines)
    assert problems == 1
    assert "one-way audio: the phone's 6 RTCP reports counted none of the 1500 packets" in text
    assert "sent to 10.0.0.5:4000" in text and "drops UDP to 10.0.0.5:4000" in text


def test_no_telephone_event_says_how_the_phone_sends_dtmf(tmp_path):
    summary = media(telephone_event=False, dtmf="info")
    lines, problems = last_call_lines(
        tmp_path, events.call_ended(9, "door_opened", 6000, None, None, summary)
    )
    assert problems == 0
    assert any(
        "note  last call" in line
        and "the phone offered no telephone-event: it sends DTMF by SIP INFO" in line
        for line in lines
    )
    silent = media(telephone_event=False, dtmf="none")
    lines, _ = last_call_lines(
        tmp_path, events.call_ended(9, "remote_hangup", 6000, None, None, silent)
    )
    expected = "it will send DTMF by SIP INFO or as in-band tones, and none came"
    assert any(expected in line for line in lines)


def test_a_refusal_its_code_and_no_audio_at_all(tmp_path):
    lines, problems = last_call_lines(tmp_path, events.call_ended(9, "refused", 0, "busy", 486))
    assert problems == 1
    assert any("FAIL  last call" in x and "refused with 486 busy" in x for x in lines)
    nothing = media(packets_received=0, rx_from="none", audio="no_rx")
    lines, problems = last_call_lines(
        tmp_path, events.call_ended(9, "rtp_timeout", 31000, None, None, nothing)
    )
    text = "\n".join(lines)
    assert problems == 2
    assert "ended by the media timeout after 31 s" in text
    assert "no RTP arrived at all (its SDP said 10.0.0.5:4000" in text


def test_no_call_yet_and_the_pico_w_which_keeps_no_log(tmp_path):
    config = load_config(str(doctor_config(tmp_path)))
    lines = []
    doctor.check_last_call(doctor.Report(lines.append), config)
    log = path_next_to(config["door"]["state_file"])
    assert lines == ["  ok    last call: none in %s yet" % log]


def test_the_prompt_check(tmp_path):
    lines = []
    report = doctor.Report(lines.append)
    doctor.check_prompt(report, load_config(str(doctor_config(tmp_path))))
    assert report.problems == 0 and "no_answer.wav plays" in lines[0]
    path = doctor_config(tmp_path, voicemail={"prompt": "missing.wav"})
    lines = []
    report = doctor.Report(lines.append)
    doctor.check_prompt(report, load_config(str(path)))
    assert report.problems == 1
    assert "missing.wav cannot play" in lines[0] and "8000 Hz mono 16-bit PCM WAV" in lines[1]


def test_the_command_line_fails_on_a_failed_last_call(tmp_path):
    lines, _ = last_call_lines(tmp_path, events.call_ended(9, "refused", 0, "not_found", 404))
    result = subprocess.run(
        [sys.executable, "-m", "intercom", "doctor", "-c", str(tmp_path / "door.toml")]
        + ["--timeout", "0.2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "refused with 404 not_found: the target does not exist there" in result.stdout
    assert "fix: check call.targets" in result.stdout
