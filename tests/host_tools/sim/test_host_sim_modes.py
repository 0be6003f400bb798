"""`python -m host_tools.sim` by hand (--interactive) and against a real
registrar (--server: Kamailio on 127.0.0.1 with support/kamailio/registrar.cfg,
which registers with digest auth and answers every other request 405)."""

import contextlib
import os
import select
import subprocess
import sys
import time

import pytest
from support.kamailio import REGISTRAR_CONFIG, Kamailio
from support.paths import ROOT
from support.processes import stop_group

PASSWORD = "door-secret-42"


class Lines:
    """A child's stdout read line by line with a deadline."""

    def __init__(self, process):
        self.process = process
        self.seen = []
        self._partial = b""

    def wait_for(self, text, timeout_s=15.0):
        deadline = time.monotonic() + timeout_s
        while True:
            for line in self.seen:
                if text in line:
                    self.seen.remove(line)
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no %r in time; got:\n%s" % (text, "\n".join(self.seen)))
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                data = os.read(self.process.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError("exited before %r:\n%s" % (text, "\n".join(self.seen)))
                lines = (self._partial + data).split(b"\n")
                self._partial = lines.pop()
                self.seen += [line.decode(errors="replace") for line in lines]


def start_sim(arguments):
    return subprocess.Popen(
        [sys.executable, "-m", "host_tools.sim"] + arguments,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stop_group() ends the sim and its door together
    )


def send(process, text):
    process.stdin.write(text.encode())
    process.stdin.flush()


@contextlib.contextmanager
def interactive_sim(artifacts):
    """The sim by hand (--interactive, its artifacts in artifacts): yields
    (process, its stdout's Lines); after the block, q must end it with a
    passing result; the sim and its door are stopped whatever happens."""
    process = start_sim(["--interactive", "--artifacts", str(artifacts)])
    try:
        lines = Lines(process)
        yield process, lines
        send(process, "q\n")
        lines.wait_for("RESULT: PASS")
        assert process.wait(timeout=10) == 0
    finally:
        stop_group(process)


def test_interactive_enter_rings_o_opens_q_quits(tmp_path):
    with interactive_sim(tmp_path / "out") as (process, lines):
        lines.wait_for("Interactive door simulation")
        lines.wait_for("door  started")
        send(process, "\n")
        lines.wait_for("door  call_started button=1 target=sip:flat1@127.0.0.1:")
        lines.wait_for("flat  incoming_call")
        lines.wait_for("door  answered")
        send(process, "o\n")
        lines.wait_for("flat  code_sent digits=1234")
        lines.wait_for("door  door_opened")
        assert "reason=door_opened" in lines.wait_for("door  call_ended")
        send(process, "h\n")
        lines.wait_for("sim: the flat phone has no call")
    assert (tmp_path / "out" / "call.pcap").stat().st_size > 0
    assert (tmp_path / "out" / "summary.txt").read_text().count("[ok]") == 1  # door exit 0


def test_interactive_buttons_door_contact_exit_and_tamper(tmp_path):
    with interactive_sim(tmp_path / "out") as (process, lines):
        lines.wait_for("press N       press door button N")
        lines.wait_for("door  started")
        send(process, "press 2\n")
        lines.wait_for("door  button button=2 quiet=False repeat=0 state=pressed")
        lines.wait_for("door  call_started button=2 target=sip:flat1@127.0.0.1:")
        lines.wait_for("door  answered")
        send(process, "press 3\n")
        lines.wait_for("door  button button=3 quiet=False repeat=1 state=pressed")
        send(process, "h\n")
        lines.wait_for("door  call_ended")
        send(process, "sensor open\n")
        lines.wait_for("door  door_contact state=open")
        lines.wait_for("door  door_forced")
        send(process, "sensor close\nexit\n")
        lines.wait_for("door  exit_button")
        lines.wait_for("door  door_opened caller=inside pulse_ms=1000 source=exit_button")
        send(process, "tamper\n")
        lines.wait_for("door  tamper blocks_open=False state=triggered")
        send(process, "dance\n")
        lines.wait_for("tamper        the tamper switch triggers")  # the help again
    config = (tmp_path / "out" / "door.toml").read_text()
    assert config.count("[[button]]") == 3 and 'label = "Flat 2"' in config


def test_interactive_nobody_home_leaves_a_message_and_l_listens_in(tmp_path):
    out = tmp_path / "out"
    process = start_sim(["--interactive", "--artifacts", str(out)])
    lines = Lines(process)
    try:
        lines.wait_for("nobody home: the next ring goes unanswered")
        lines.wait_for("after 10 s, plays its prompt and records the visitor's")
        lines.wait_for("the flat phone calls the door to listen in")
        lines.wait_for("door  started")
        send(process, "n\n")
        lines.wait_for("sim: the next ring goes unanswered")
        send(process, "\n")
        lines.wait_for("flat  incoming_call")
        ended = lines.wait_for("door  call_ended", timeout_s=30)
        assert "reason=no_answer" in ended
        recorded = lines.wait_for("door  message_recorded", timeout_s=40)
        assert "duration_ms=20000" in recorded and str(out / "messages") in recorded
        send(process, "l\n")
        assert "accepted=True" in lines.wait_for("door  incoming_call")
        lines.wait_for("flat  answered")
        send(process, "h\n")
        ended = lines.wait_for("door  call_ended")
        assert "reason=remote_hangup" in ended and "audio=" in ended and "PCMU 20 ms" in ended
        send(process, "q\n")
        lines.wait_for("RESULT: PASS")
        assert process.wait(timeout=10) == 0
    finally:
        stop_group(process)
    messages = list((out / "messages").glob("message-1-*.wav"))
    assert len(messages) == 1 and messages[0].stat().st_size == 44 + 20 * 16000


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory):
    """The registrar's port."""
    substitutions = {"PASSWORD": PASSWORD, "NONCE_EXPIRE": 30}
    server = Kamailio(tmp_path_factory.mktemp("kamailio"), REGISTRAR_CONFIG, substitutions)
    try:
        yield server.start().port
    finally:
        server.stop()


def run_server_mode(port, password, artifacts):
    arguments = ["--server", "127.0.0.1:%d" % port, "--user", "door", "--password", password]
    arguments += ["--target", "flat1", "--artifacts", str(artifacts)]
    return subprocess.run(
        [sys.executable, "-m", "host_tools.sim"] + arguments,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.integration  # Kamailio is the registrar
def test_server_mode_registers_and_calls_through_the_registrar(kamailio, tmp_path):
    result = run_server_mode(kamailio, PASSWORD, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "door  registered" in result.stdout
    # This registrar routes no calls: the INVITE gets 405 and the call ends.
    assert "door  call_started" in result.stdout
    assert "door  call_ended" in result.stdout
    assert "RESULT: PASS" in result.stdout
    config = (tmp_path / "door.toml").read_text()
    assert 'server = "127.0.0.1:%d"' % kamailio in config
    assert 'targets = ["flat1"]' in config


@pytest.mark.integration  # Kamailio is the registrar
def test_server_mode_wrong_password_fails_with_the_reason(kamailio, tmp_path):
    result = run_server_mode(kamailio, "wrong-password", tmp_path)
    assert result.returncode == 1
    assert "door  registration_failed" in result.stdout
    assert "sim: FAILED: scenario ran to the end: registration failed" in result.stdout
