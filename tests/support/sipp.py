# The real peers of tests/sip_interop, as processes this test run owns:
# Kamailio (registrar + proxy, kamailio_proxy.cfg) and SIPp (scenarios/).
# Each is started on a free 127.0.0.1 port, in its own session, and stopped
# by its PID. Missing binaries are installed with apt-get; when that fails
# the test fails with the reason (nothing is skipped).

import os
import pathlib
import re
import shutil
import socket
import subprocess
import time

from host_tools.processes import stop_process

HERE = pathlib.Path(__file__).resolve().parent
KAMAILIO_CONFIG = HERE / "kamailio_proxy.cfg"
SCENARIOS = HERE / "scenarios"
DOOR_PASSWORD = "door-secret-42"
FLAT_PASSWORD = "flat-secret-17"
SIPP_TIMEOUT_S = 20


def ensure_installed(binaries, package):
    """apt-get install `package` unless every binary is on PATH."""
    if all(shutil.which(binary) for binary in binaries):
        return
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = as_root + ["apt-get", "install", "-y", "--no-install-recommends"]
    install += ["-o", "DPkg::Lock::Timeout=120", package]
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run(install, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(as_root + ["apt-get", "update"], env=environment, capture_output=True)
        done = subprocess.run(install, env=environment, capture_output=True, text=True)
    missing = [binary for binary in binaries if not shutil.which(binary)]
    if missing:
        raise RuntimeError(
            "%s missing and `apt-get install %s` failed (exit %d):\n%s"
            % (", ".join(missing), package, done.returncode, done.stdout + done.stderr)
        )


def free_udp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Kamailio:
    """One Kamailio in the foreground (-DD -E), logging to rundir/kamailio.log.

    `config` is a Kamailio config whose !SIP_PORT! and !RUNDIR! (and the
    names in `substitutions`) are filled in with --substdef.
    """

    def __init__(self, rundir, config=KAMAILIO_CONFIG, substitutions=None, memory_mb=16):
        self.rundir = rundir
        self.config = config
        self.memory_mb = memory_mb
        if substitutions is None:
            substitutions = {"DOOR_PASSWORD": DOOR_PASSWORD, "FLAT_PASSWORD": FLAT_PASSWORD}
        self.substitutions = substitutions
        self.port = free_udp_port()
        self.address = ("127.0.0.1", self.port)
        self.log_path = rundir / "kamailio.log"
        self.process = None

    def start(self):
        ensure_installed(["kamailio", "kamcmd"], "kamailio")
        command = ["kamailio", "-DD", "-E", "-f", str(self.config), "-m", str(self.memory_mb)]
        command += ["-M", "4"]
        # One UDP worker (overrides the config's `children`): with several,
        # two messages the door sends back to back (ACK and BYE, 180 and
        # 403, the 487 after the proxy's 200 for a CANCEL) can be relayed
        # by different workers in either order, which SIPp's strict
        # scenarios report as a failed call.
        command += ["-n", "1"]
        command += ["-Y", str(self.rundir), "-w", str(self.rundir)]
        values = [("SIP_PORT", self.port), ("RUNDIR", self.rundir)]
        for name, value in values + sorted(self.substitutions.items()):
            command.append("--substdef=!%s!%s!" % (name, value))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("kamailio exited:\n" + self.log_path.read_text())
            if self.kamcmd("core.version").returncode == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("kamailio did not come up:\n" + self.log_path.read_text())

    def stop(self):
        stop_process(self.process)

    def kamcmd(self, *arguments):
        command = ["kamcmd", "-s", "unix:%s/ctl" % self.rundir] + list(arguments)
        return subprocess.run(command, capture_output=True, text=True, timeout=10)

    def bindings(self):
        """{user: [contact URI, ...]} from `kamcmd ul.dump`."""
        result = self.kamcmd("ul.dump")
        assert result.returncode == 0, result.stderr
        found = {}
        user = None
        for line in result.stdout.splitlines():
            name, _, value = line.strip().partition(":")
            if name == "AoR":
                user = value.strip()
                found[user] = []
            elif name == "Address" and user is not None:
                found[user].append(value.strip())
        return found

    def log_mark(self):
        return self.log_path.stat().st_size

    def log_lines(self, since=0):
        """The config's own "interop:" lines logged after `since` (a log_mark)."""
        with open(self.log_path, "rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", "replace")
        return [line.split("interop: ", 1)[1] for line in text.splitlines() if "interop: " in line]


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
    """One SIPp run of a scenario in scenarios/, with its message trace."""

    _HEADER = re.compile(r"^UDP message (sent|received)", re.MULTILINE)

    def __init__(
        self, workdir, name, scenario, port=None, remote=None, options=(), host="127.0.0.1"
    ):
        self.workdir = workdir
        self.name = name
        self.scenario = SCENARIOS / scenario
        self.host = host
        self.port = port or free_udp_port(host)
        self.remote = remote
        self.options = list(options)
        self.message_path = workdir / ("%s_messages.log" % name)
        self.error_path = workdir / ("%s_errors.log" % name)
        self.output_path = workdir / ("%s_output.log" % name)
        self.process = None

    def start(self):
        ensure_installed(["sipp"], "sip-tester")
        command = ["sipp", "-sf", str(self.scenario), "-i", self.host, "-p", str(self.port)]
        command += ["-mp", str(free_udp_port(self.host)), "-cp", str(free_udp_port())]
        command += ["-m", "1", "-nostdin", "-timeout", "%ds" % SIPP_TIMEOUT_S, "-timeout_error"]
        command += ["-trace_msg", "-message_file", str(self.message_path)]
        command += ["-trace_err", "-error_file", str(self.error_path)]
        command += self.options
        if self.remote is not None:
            command.append("%s:%d" % self.remote)
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def wait_listening(self, timeout_s=5.0):
        """Block until SIPp has bound its SIP port (a UAS waiting for calls)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("sipp %s exited early:\n%s" % (self.name, self.report()))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind((self.host, self.port))
                except OSError:
                    return self
            time.sleep(0.02)
        raise AssertionError("sipp %s never bound port %d" % (self.name, self.port))

    def wait(self, timeout_s=SIPP_TIMEOUT_S + 5):
        """SIPp's exit code (0: every call succeeded)."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_process(self.process)
            raise AssertionError(
                "sipp %s still running after %ss:\n%s" % (self.name, timeout_s, self.report())
            ) from None

    def stop(self):
        stop_process(self.process)

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

    def report(self):
        parts = []
        for path in (self.output_path, self.error_path):
            if path.exists():
                parts.append("--- %s\n%s" % (path.name, path.read_text("utf-8", "replace")[-4000:]))
        parts.append("--- flow %r" % (self.flow(),))
        return "\n".join(parts)
