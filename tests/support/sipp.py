# SIPp 3.6 (package sip-tester) as the tests run it (PEERS.md): one run of
# a scenario (support/scenarios/, or a built-in one) with its message
# trace, on free 127.0.0.x ports (new ones when one was taken before SIPp
# bound it), stopped by its PID. start() returns once SIPp holds its SIP
# port (a UAS ready for calls) or has already run to its end. Besides its
# SIP port SIPp binds a control port (-cp) and media ports: audio RTP on
# -mp and video RTP on -mp + 2 (seen in /proc/net/udp).

import re
import subprocess

from support.audio import noise_syllables
from support.door import start_peer_door
from support.flat_rtp import FlatRtp
from support.paths import SCENARIOS
from support.peers import ensure_installed
from support.ports import free_port, holds_port, retry_when_taken
from support.processes import PeerProcess, stop_group

SIPP_TIMEOUT_S = 20
# SIPp's exit status when it could not start (-1 fatal, -2 socket error).
START_FAILURES = (254, 255)
MEDIA_PORTS = 3  # -mp .. -mp + 2


class SippMessage:
    """One message from SIPp's -trace_msg file, as SIPp saw it."""

    def __init__(self, direction, text):
        self.direction = direction  # "sent" or "received"
        self.text = text
        self.first_line = text.split("\n", 1)[0].strip()

    @property
    def method(self):
        """Request method, or None for a response."""
        if self.first_line.startswith("SIP/2.0"):
            return None
        return self.first_line.split(" ", 1)[0]

    @property
    def status(self):
        """Response status code, or None for a request."""
        if not self.first_line.startswith("SIP/2.0"):
            return None
        return int(self.first_line.split(" ")[1])

    def header(self, name):
        prefix = name.lower() + ":"
        for line in self.text.split("\n"):
            if line.lower().startswith(prefix):
                return line.split(":", 1)[1].strip()
        return None

    def __repr__(self):
        return "<%s %s>" % (self.direction, self.first_line)


class Sipp:
    """One SIPp run in workdir: `scenario` (a file name in support/scenarios
    or a path; `fill` replaces placeholders in a copy written to workdir)
    or the built-in `builtin` (-sn), `calls` calls, towards `remote`.
    `port` fixes the SIP port (a contact registered before); otherwise a
    free one is picked; the others are picked again when one was taken."""

    _HEADER = re.compile(r"^UDP message (sent|received)", re.MULTILINE)

    def __init__(
        self,
        workdir,
        name,
        scenario=None,
        port=None,
        remote=None,
        options=(),
        host="127.0.0.1",
        fill=None,
        builtin=None,
        calls=1,
        timeout_s=SIPP_TIMEOUT_S,
        trace=True,
    ):
        self.workdir = workdir
        self.name = name
        self.scenario = None if scenario is None else SCENARIOS / scenario
        if fill:
            text = self.scenario.read_text()
            for key, value in fill.items():
                text = text.replace(key, str(value))
            self.scenario = workdir / ("%s_%s" % (name, self.scenario.name))
            self.scenario.write_text(text)
        self.builtin = builtin
        self.host = host
        self.fixed_port = port
        self.port = port
        self.remote = remote
        self.options = list(options)
        self.calls = calls
        self.timeout_s = timeout_s
        self.trace = trace
        self.message_path = workdir / ("%s_messages.log" % name)
        self.error_path = workdir / ("%s_errors.log" % name)
        self.output_path = workdir / ("%s_output.log" % name)
        self.peer = None

    @property
    def process(self):
        return self.peer.process

    def start(self):
        ensure_installed(["sipp"], "sip-tester")
        return retry_when_taken(self._start)

    def _start(self):
        port = self.fixed_port if self.fixed_port is not None else free_port(self.host)
        self.port = port
        if self.scenario is not None:
            command = ["sipp", "-sf", self.scenario]
        else:
            command = ["sipp", "-sn", self.builtin]
        command += ["-i", self.host, "-p", port]
        media = free_port(self.host, span=MEDIA_PORTS, even=True)
        command += ["-mp", media, "-cp", free_port()]
        command += ["-m", self.calls, "-nostdin"]
        command += ["-timeout", "%ds" % self.timeout_s, "-timeout_error"]
        if self.trace:
            command += ["-trace_msg", "-message_file", self.message_path]
            command += ["-trace_err", "-error_file", self.error_path]
        command += self.options
        if self.remote is not None:
            command.append("%s:%d" % self.remote)
        self.peer = PeerProcess("sipp " + self.name, self.output_path)
        self.peer.launch(command, cwd=self.workdir)

        def ready():
            status = self.peer.process.poll()
            if status is not None:
                return status not in START_FAILURES  # it ran (to its end)
            return holds_port(self.peer.pid, port)

        self.peer.wait_started(ready)
        return self

    def wait(self, timeout_s=None):
        """SIPp's exit code (0: every call succeeded)."""
        if timeout_s is None:
            timeout_s = self.timeout_s + 5
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_group(self.process)
            raise AssertionError(
                "sipp %s still running after %ss:\n%s" % (self.name, timeout_s, self.report())
            ) from None

    def stop(self):
        if self.peer is not None:
            self.peer.stop()

    def messages(self):
        if not self.message_path.exists():
            return []
        text = self.message_path.read_text("utf-8", "replace").replace("\r\n", "\n")
        found = []
        starts = [match for match in self._HEADER.finditer(text)]
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            block = text[match.end() : end]
            body = block.split("\n", 1)[1] if "\n" in block else ""
            body = body.rsplit("\n-----", 1)[0] if "\n-----" in body else body
            found.append(SippMessage(match.group(1), body.strip("\n")))
        return found

    def flow(self):
        """("sent"/"received", method or status) for every traced message."""
        return [(m.direction, m.method or m.status) for m in self.messages()]

    def flow_past_trying(self):
        """flow() without the 100 Trying SIPp received (the hop's, not the peer's)."""
        return [step for step in self.flow() if step != ("received", 100)]

    def report(self):
        parts = []
        for path in (self.output_path, self.error_path):
            if path.exists():
                parts.append("--- %s\n%s" % (path.name, path.read_text("utf-8", "replace")[-4000:]))
        parts.append("--- flow %r" % (self.flow(),))
        return "\n".join(parts)


def sipp_calling_door(owned, workdir, name, scenario, door, **settings):
    """A started SIPp `name` sending `scenario` to the sim door's SIP port
    (settings: Sipp's port, options, fill), stopped by `owned`."""
    return owned(
        Sipp(workdir, name, scenario, remote=("127.0.0.1", door.sip_port), **settings)
    ).start()


def door_calling_sipp_flat(owned, workdir, scenario, **settings):
    """A started SIPp flat running scenario, its SDP naming the port of a
    FlatRtp (MEDIA_PORT, not sending yet), and a peer-to-peer sim door
    calling it (ringing 10 s at most): (flat, its FlatRtp, door). settings:
    Sipp's, such as timeout_s."""
    flat_rtp = owned(FlatRtp(noise_syllables(4, 3)))
    media = {"options": ["-mi", "127.0.0.1"], "fill": {"MEDIA_PORT": flat_rtp.port}}
    flat = owned(Sipp(workdir, "flat", scenario, **media, **settings)).start()
    target = "sip:flat@127.0.0.1:%d" % flat.port
    door = start_peer_door(owned, workdir / "door", [target], call={"ring_timeout": 10})
    return flat, flat_rtp, door
