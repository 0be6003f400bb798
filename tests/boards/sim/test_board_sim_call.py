# Whole sim doors as real processes on 127.0.0.1: a door (CPython, or the
# MicroPython unix port) calls a second sim door that auto-answers it (the
# "flat"), both driven through stdin and checked through their JSON events
# and the WAV files their speakers wrote.

import json
import signal
import struct
import subprocess
import sys
import time

import pytest
from support.audio import dominant_frequency, loud_frames, read_wav, syllable_tone, write_wav
from support.config import sim_sections, write_config
from support.datagrams import local_udp_socket
from support.door import start_door
from support.paths import FIRMWARE, MICROPYTHON
from support.ports import free_port

VISITOR_HZ = 600


def start_pair(owned, folder, door_micropython=False):
    """(door, flat): the flat auto-answers the door; the door's mic is visitor.wav."""
    write_wav(folder / "visitor.wav", syllable_tone(frequency=VISITOR_HZ))
    flat_sections = sim_sections(
        "Flat X",
        "flatx",
        ["sip:doora@127.0.0.1"],
        answer_from=["sip:doora@127.0.0.1"],
        audio_input="tone",
    )
    flat = start_door(owned, folder, flat_sections, name="flat")
    flat_target = "sip:flatx@127.0.0.1:%d" % flat.sip_port
    door_sections = sim_sections("Door A", "doora", [flat_target], audio_input="file:visitor.wav")
    door = start_door(owned, folder, door_sections, micropython=door_micropython)
    return door, flat, flat_target


def call_and_talk(door, flat, flat_target, talk_s=2.5):
    door.send("press")
    door.send("release")
    pressed = door.wait_for("button", state="pressed")
    started = door.wait_for("call_started", target=flat_target)
    answered = door.wait_for("answered", target=flat_target)
    incoming = flat.wait_for("incoming_call", accepted=True)
    assert "doora@127.0.0.1" in incoming["from"]
    names = door.names()
    assert names.index("button") < names.index("call_started") < names.index("answered")
    assert pressed["ts_ms"] <= started["ts_ms"] <= answered["ts_ms"]
    time.sleep(talk_s)


def check_heard_visitor(folder):
    """The flat's speaker file holds the visitor's voice after the answer."""
    heard = loud_frames(read_wav(folder / "flatx_heard.wav"))
    assert len(heard) >= 60  # 2 s of 80 % voiced speech: ~80 frames
    assert abs(dominant_frequency(heard) - VISITOR_HZ) < 15


def finish(*doors):
    for door in doors:
        door.send("quit")
    for door in doors:
        assert door.wait() == 0, door.stderr()
        assert door.process.poll() is not None
        assert door.garbage == []  # stdout holds JSON event lines only


def test_a_sim_door_calls_a_flat_that_hears_the_visitor(tmp_path, owned):
    door, flat, flat_target = start_pair(owned, tmp_path)
    call_and_talk(door, flat, flat_target)
    door.send("hangup")
    ended = door.wait_for("call_ended")
    assert ended["reason"] == "local_hangup"
    assert 2000 <= ended["duration_ms"] <= 6000
    assert flat.wait_for("call_ended")["reason"] == "remote_hangup"
    finish(door, flat)
    check_heard_visitor(tmp_path)
    heard_by_door = loud_frames(read_wav(tmp_path / "doora_heard.wav"))
    assert len(heard_by_door) >= 40  # the flat's test tone came back


@pytest.mark.skipif(not MICROPYTHON.exists(), reason="the MicroPython unix port is not installed")
def test_the_same_door_under_micropython_calls_a_cpython_flat(tmp_path, owned):
    door, flat, flat_target = start_pair(owned, tmp_path, door_micropython=True)
    call_and_talk(door, flat, flat_target)
    door.send("hangup")
    assert door.wait_for("call_ended")["reason"] == "local_hangup"
    assert flat.wait_for("call_ended")["reason"] == "remote_hangup"
    finish(door, flat)
    check_heard_visitor(tmp_path)


def check_stdin_eof_then_signal(folder, owned, micropython, stop_signal):
    door, flat, flat_target = start_pair(owned, folder, door_micropython=micropython)
    call_and_talk(door, flat, flat_target, talk_s=0.5)
    door.close_stdin()
    time.sleep(1.5)
    assert door.process.poll() is None  # EOF on stdin is not quit
    assert "call_ended" not in flat.names()
    door.process.send_signal(stop_signal)
    assert door.wait() == 0
    assert flat.wait_for("call_ended")["reason"] == "remote_hangup"  # the BYE went out
    assert "call_ended" in door.names()
    with open(folder / "doora_heard.wav", "rb") as heard:
        header = heard.read(44)
    assert struct.unpack("<I", header[40:44])[0] != 0xFFFFFFFF  # closed, sizes written
    finish(flat)


def test_closing_stdin_keeps_the_door_up_and_sigterm_hangs_up(tmp_path, owned):
    check_stdin_eof_then_signal(tmp_path, owned, False, signal.SIGTERM)


@pytest.mark.skipif(not MICROPYTHON.exists(), reason="the MicroPython unix port is not installed")
def test_micropython_door_survives_stdin_eof_and_hangs_up_on_ctrl_c(tmp_path, owned):
    # The unix port has no signal module: SIGINT arrives as KeyboardInterrupt.
    check_stdin_eof_then_signal(tmp_path, owned, True, signal.SIGINT)


def test_exit_after_call_stops_the_door_when_the_call_ends(tmp_path, owned):
    flat_sections = sim_sections("Flat", "flatx", ["sip:x@127.0.0.1"], ["sip:doora@127.0.0.1"])
    flat = start_door(owned, tmp_path, flat_sections, name="flat")
    flat_target = "sip:flatx@127.0.0.1:%d" % flat.sip_port
    door_sections = sim_sections("Door", "doora", [flat_target])
    door = start_door(owned, tmp_path, door_sections, args=["--exit-after-call"])
    door.send("press")
    flat.wait_for("incoming_call", accepted=True)
    time.sleep(0.3)
    flat.send("hangup")
    assert door.wait() == 0  # no quit was sent
    assert door.wait_for("call_ended", timeout=0.1)["reason"] == "remote_hangup"
    finish(flat)


def test_unknown_commands_are_warned_about_and_ignored(tmp_path, owned):
    sections = sim_sections("Door", "doora", ["sip:flat@127.0.0.1:%d" % free_port()])
    door = start_door(owned, tmp_path, sections)
    door.send("open sesame")
    door.send("quit")
    assert door.wait() == 0
    assert "unknown command 'open sesame'" in door.stderr()
    assert "button" not in door.names()


class Registrar:
    """A UDP registrar that says 200 OK to every REGISTER and keeps them."""

    def __init__(self):
        self.sock = local_udp_socket(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = []

    def serve(self, until):
        while time.monotonic() < until:
            try:
                data, address = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            if not text.startswith("REGISTER "):
                continue
            self.requests.append(text)
            self.sock.sendto(self.ok(text), address)

    def ok(self, request):
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        copied = []
        for line in head:
            name = line.split(":", 1)[0].strip().lower()
            if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
                copied.append(line)
            elif name in ("to", "t"):
                copied.append(line + ";tag=reg1")
            elif name in ("contact", "m"):
                copied.append(line if "expires=" in line else line + ";expires=300")
        lines = ["SIP/2.0 200 OK"] + copied + ["Content-Length: 0", "", ""]
        return "\r\n".join(lines).encode()

    def close(self):
        self.sock.close()


def expires_zero(request):
    lowered = request.lower().replace(" ", "")
    return "\r\nexpires:0\r\n" in lowered or ";expires=0" in lowered


def test_sigterm_unregisters_before_exit(tmp_path, owned):
    registrar = Registrar()
    sections = sim_sections("Door", "doora", ["flat1"])
    sections["sip"].update({"server": "127.0.0.1:%d" % registrar.port, "expires": 300})
    try:
        door = start_door(owned, tmp_path, sections, wait=None)
        registrar.serve(time.monotonic() + 1.0)
        assert door.wait_for("registered", timeout=2)
        assert registrar.requests and not expires_zero(registrar.requests[0])
        door.process.send_signal(signal.SIGTERM)
        registrar.serve(time.monotonic() + 1.5)
        assert door.wait() == 0
    finally:
        registrar.close()
    assert expires_zero(registrar.requests[-1]), registrar.requests[-1]


def run_intercom(arguments, folder=None, stdin_text=None):
    """`python -m intercom ARGUMENTS` in folder with only the firmware on
    PYTHONPATH, stdin_text its input: the finished process, output as text."""
    return subprocess.run(
        [sys.executable, "-m", "intercom"] + arguments,
        cwd=folder,
        env={"PYTHONPATH": str(FIRMWARE)},
        input=stdin_text,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_a_bad_config_lists_every_problem_and_opens_nothing(tmp_path):
    holder = local_udp_socket()
    port = holder.getsockname()[1]
    sections = sim_sections("Door", "doora", [], sip={"local_port": port})
    sections["audio"]["ptime"] = 33
    write_config(tmp_path / "door.toml", sections)
    try:
        result = run_intercom(["run", "-c", "door.toml", "--log", "json"], tmp_path)
    finally:
        holder.close()
    assert result.returncode == 2
    assert result.stdout == ""
    assert "door.toml: call.targets" in result.stderr
    assert "door.toml: audio.ptime" in result.stderr
    assert "bind" not in result.stderr  # it never reached the (taken) SIP port
    assert not (tmp_path / "doora_heard.wav").exists()


def test_the_run_command_documents_its_options():
    result = run_intercom(["run", "--help"])
    assert result.returncode == 0
    for option in ("--board", "--log", "--exit-after-call", "-c"):
        assert option in result.stdout


def test_json_events_are_parseable_lines(tmp_path, owned):
    sections = sim_sections("Tür ☃", "doora", ["sip:flat@127.0.0.1:%d" % free_port()])
    door = start_door(owned, tmp_path, sections)
    started = door.wait_for("started")
    assert started["name"] == "Tür ☃" and started["board"] == "sim"
    door.send("quit")
    assert door.wait() == 0
    assert door.garbage == []
    assert json.loads(json.dumps(door.seen)) == door.seen


def test_a_closed_stdout_does_not_stop_the_door(tmp_path):
    write_config(
        tmp_path / "door.toml",
        sim_sections("Door", "doora", ["sip:flat@127.0.0.1:%d" % free_port()]),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "intercom", "run", "-c", "door.toml", "--log", "json"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(FIRMWARE)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert json.loads(process.stdout.readline())["event"] in ("started", "led")
        process.stdout.close()  # whoever read the events went away
        process.stdin.write(b"press\n")  # events are due now: their write fails
        process.stdin.flush()
        time.sleep(0.5)
        assert process.poll() is None
        process.stdin.write(b"quit\n")
        process.stdin.close()
        assert process.wait(timeout=10) == 0
        assert b"stdout closed" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


def test_text_logs_go_to_stderr_and_leave_stdout_empty(tmp_path):
    write_config(
        tmp_path / "door.toml",
        sim_sections("Door", "doora", ["sip:flat@127.0.0.1:%d" % free_port()]),
    )
    result = run_intercom(
        ["run", "-c", "door.toml", "--log", "text"], tmp_path, stdin_text="press\nquit\n"
    )
    assert result.returncode == 0
    assert result.stdout == ""
    assert " started board=sim name=Door" in result.stderr
    assert " button button=1 quiet=False repeat=0 state=pressed" in result.stderr
    assert " call_ended " in result.stderr


def test_a_missing_input_file_is_an_error_event_and_exit_1(tmp_path):
    sections = sim_sections("Door", "doora", ["sip:flat@127.0.0.1:5070"])
    sections["audio"]["input"] = "file:nobody.wav"
    write_config(tmp_path / "door.toml", sections)
    # file: paths are relative to the config's folder, not to the working one
    result = run_intercom(
        ["run", "-c", str(tmp_path / "door.toml"), "--log", "json"], tmp_path.parent
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "error"
    assert "audio.input" in event["reason"]
    assert str(tmp_path / "nobody.wav") in event["reason"]
    assert not (tmp_path / "doora_heard.wav").exists()
