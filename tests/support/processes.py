# Everything a test starts is stopped by its PID, also when the test fails
# or a start-up fails half-way: the `owned` fixture (tests/conftest.py)
# holds an Owned; a starter registers what it launched with it *before*
# waiting for it to come up.
#
# A third-party peer runs as a PeerProcess: its own session (so a peer
# that forks, like Kamailio, is stopped with its children), its output in
# one log file, its start-up checked: "Address already in use" in its log
# raises PortTakenError (its starter retries on new ports), an exit before it
# was ready PeerError.

import os
import signal
import subprocess
import time

from host_tools.processes import stop_process
from support.ports import PORT_TAKEN, PortTakenError


class PeerError(RuntimeError):
    """A peer did not start (for a reason other than a taken port)."""


class Owned:
    """owned(thing) -> thing; stop_all() calls each thing.stop(), the last
    started first, and then raises the first error a stop raised."""

    def __init__(self):
        self._things = []

    def __call__(self, thing):
        self._things.append(thing)
        return thing

    def stop_all(self):
        errors = []
        while self._things:
            thing = self._things.pop()
            try:
                thing.stop()
            except Exception as error:  # stop the others first, then report it
                errors.append(error)
        if errors:
            raise errors[0]


def stop_group(process):
    """SIGTERM to the PID we started, SIGKILL after a grace period
    (host_tools.processes.stop_process), then SIGKILL to whatever is left
    of the process group it led (started with start_new_session)."""
    stop_process(process)
    if process is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class PeerProcess:
    """One run of a third-party program, its output (stdout and stderr)
    appended to log_path; log() is this run's part of it."""

    def __init__(self, name, log_path):
        self.name = name
        self.log_path = log_path
        self.log_start = 0
        self.process = None

    @property
    def pid(self):
        return self.process.pid

    def launch(self, command, cwd=None, env=None):
        with open(self.log_path, "ab") as log:
            self.log_start = log.tell()
            self.process = subprocess.Popen(
                [str(part) for part in command],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self, tail=6000):
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            return log.read().decode("utf-8", "replace")[-tail:]

    def wait_started(self, ready, timeout_s=10.0):
        """Poll until ready() is true. Raises PortTakenError when the log reports
        a taken port, PeerError when the process exited first (ready()
        decides whether an exit is a finished run) or never got ready;
        either way stopped first, so a failed start leaves nothing behind."""
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.log(100000)
            if PORT_TAKEN in text:
                self.stop()
                raise PortTakenError("%s: %s" % (self.name, _line_with(text, PORT_TAKEN)))
            if ready():
                return self
            if self.process.poll() is not None:
                self.stop()  # what it may have forked
                raise PeerError("%s exited (%s):\n%s" % (self.name, self.process.returncode, text))
            if time.monotonic() > deadline:
                self.stop()
                raise PeerError("%s not up in %.0f s:\n%s" % (self.name, timeout_s, self.log()))
            time.sleep(0.02)

    def stop(self):
        stop_group(self.process)


def _line_with(text, needle):
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return needle
