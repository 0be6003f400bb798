"""The simulated door as a child process: `python -m intercom run --board sim`.

Its stdout carries one JSON event per line (--log json); they are read
from the scenario's own Loop and kept with the wall-clock time each line
arrived. Commands go to its stdin (press, release, hangup, quit), its
stderr goes to a log file. The door's ts_ms is its own ticks clock; the
mapping to wall-clock time comes from the events themselves: the smallest
(arrival - ts_ms) over all lines is the clock offset with the least pipe
latency in it (see wall_time).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READ_SIZE = 65536
TICKS_PERIOD = 1 << 30  # intercom.compat ticks wrap here


class DoorProcess:
    def __init__(self, loop, config_path, stderr_path, on_event):
        self.loop = loop
        self.on_event = on_event
        self.events = []  # (arrival wall time s, event dict)
        self.bad_lines = []
        self._partial = b""
        self.stdout_closed = False
        environment = dict(os.environ)
        paths = [str(REPO / "firmware"), str(REPO)]
        if environment.get("PYTHONPATH"):
            paths.append(environment["PYTHONPATH"])
        environment["PYTHONPATH"] = os.pathsep.join(paths)
        environment["PYTHONUNBUFFERED"] = "1"
        self._stderr = open(stderr_path, "wb")
        command = [sys.executable, "-m", "intercom", "run", "-c", str(config_path)]
        command += ["--board", "sim", "--log", "json"]
        self.command = command
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
            cwd=str(REPO),
        )
        os.set_blocking(self.process.stdout.fileno(), False)
        loop.add_reader(self.process.stdout.fileno(), self._on_readable)

    @property
    def pid(self):
        return self.process.pid

    def _on_readable(self, source, poll_events):
        try:
            data = os.read(source, READ_SIZE)
        except BlockingIOError:
            return
        arrival = time.time()
        if not data:
            self.loop.remove_reader(source)
            self.stdout_closed = True
            return
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.bad_lines.append(line)
                continue
            if not isinstance(event, dict) or "event" not in event or "ts_ms" not in event:
                self.bad_lines.append(line)
                continue
            self.events.append((arrival, event))
            self.on_event(arrival, event)

    def send(self, command):
        """One stdin command; False when the door no longer reads."""
        try:
            self.process.stdin.write(command.encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            return False
        return True

    def first(self, name):
        """The first event called name, or None."""
        for _, event in self.events:
            if event["event"] == name:
                return event
        return None

    def names(self):
        return [event["event"] for _, event in self.events]

    def _elapsed_ms(self, event):
        return (event["ts_ms"] - self.events[0][1]["ts_ms"]) % TICKS_PERIOD

    def wall_time(self, event):
        """The wall-clock time (s) of an event from its ts_ms.

        The first event's ts_ms is pinned to wall time by the line that
        arrived with the least delay: min(arrival - elapsed) over all lines.
        """
        first_wall = min(arrival - self._elapsed_ms(seen) / 1000.0 for arrival, seen in self.events)
        return first_wall + self._elapsed_ms(event) / 1000.0

    def wait(self, timeout_s):
        """The exit status, or None when it is still running after timeout_s."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """Stop the door by its PID (terminate, then kill)."""
        if self.process.poll() is None:
            self.process.terminate()
            if self.wait(3.0) is None:
                self.process.kill()
                self.process.wait()

    def close(self):
        if not self.stdout_closed:
            self.loop.remove_reader(self.process.stdout.fileno())
            self.stdout_closed = True
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
