"""The simulated door against a real PBX/registrar: rings real phones.

`python -m host_tools.sim --server HOST[:PORT] --user U --password P
--target T [--target T2 ...]`: no virtual flat phone. The door registers as
U at HOST (from any free SIP port), then (unless --interactive) presses its
button once, calls the targets through the server and waits for the call to end (ring timeout 30
s, at most MAX_CALL_S talking); the resident's phone answers, talks and may
send the door code (default 1234, --code) as DTMF. Then `quit`. With
--audio file the door's mic is the sim's test tone (a WAV would have played
out before anyone answers) and its speaker goes to door_heard.wav.

Checks: the door registered; every started call ended; the door exited 0.
The events go to events.jsonl, the summary to summary.txt.
"""

import json
import os
import time
from pathlib import Path

from boards.runtime.loop import Loop

from host_tools.sim import report, scenario
from host_tools.sim.door_config import audio_specs, door_config, write_config
from host_tools.sim.door_process import DoorProcess

REGISTER_TIMEOUT_S = 15.0
RING_TIMEOUT_S = 30
MAX_CALL_S = 60
CALL_TIMEOUT_S = RING_TIMEOUT_S + MAX_CALL_S + 15
DOOR_EXIT_TIMEOUT_S = 5.0
SERVER_HELP = """\
Door registered. Type a command and press Enter:
  (empty line)  press the door button (the door calls the targets)
  q             quit
"""


class ServerScenario:
    def __init__(self, artifacts, out, server, user, password, targets, code, audio, interactive):
        self.artifacts = Path(artifacts)
        self.out = out
        self.server = server
        self.user = user
        self.password = password
        self.targets = list(targets)
        self.code = code
        self.audio = audio
        self.interactive = interactive
        self.loop = Loop()
        self.door = None
        self.problem = None
        self.exit_status = None
        self._events_file = None
        self._quit_sent = False

    def config(self):
        return door_config(
            0,
            self.targets,
            audio_specs(self.audio, "tone", str((self.artifacts / "door_heard.wav").resolve())),
            str((self.artifacts / "door_state.json").resolve()),
            code=self.code,
            server=self.server,
            user=self.user,
            password=self.password,
            ring_timeout_s=RING_TIMEOUT_S,
            max_duration_s=MAX_CALL_S,
        )

    def run(self):
        self.artifacts.mkdir(parents=True, exist_ok=True)
        config_path = self.artifacts / "door.toml"
        write_config(config_path, self.config())
        self._events_file = open(self.artifacts / "events.jsonl", "w")
        wake = self.loop.call_every(scenario.WAKE_MS, lambda: None)
        self.door = DoorProcess(self.loop, config_path, self.artifacts / "door.log", self._on_event)
        try:
            self._drive()
        except scenario.ScenarioError as error:
            self.problem = str(error)
        except KeyboardInterrupt:
            self.problem = "interrupted (Ctrl-C)"
        finally:
            wake.cancel()
            if not self._quit_sent:
                self._quit_sent = True
                self.door.send("quit")
            self.exit_status = self.door.wait(DOOR_EXIT_TIMEOUT_S)
            if self.exit_status is None:
                self.door.kill()
            self.door.close()
            self._events_file.close()
        return self._finish()

    def _drive(self):
        door = self.door
        self._run_until(
            lambda: door.first("registered") or door.first("registration_failed"),
            REGISTER_TIMEOUT_S,
            "registration",
        )
        failed = door.first("registration_failed")
        if failed is not None and not door.first("registered"):
            self._quit_sent = True
            door.send("quit")
            self._run_until(lambda: door.stdout_closed, DOOR_EXIT_TIMEOUT_S, "door exit")
            raise scenario.ScenarioError("registration failed: %s" % failed.get("reason"))
        if self.interactive:
            print(SERVER_HELP, file=self.out, flush=True)
            self.loop.add_reader(scenario.STDIN, self._on_stdin)
            self._run_until(lambda: door.stdout_closed, None, "door exit")
            return
        door.send("press")
        self.loop.call_later(scenario.PRESS_MS, lambda: door.send("release"))
        self._run_until(lambda: door.first("call_ended"), CALL_TIMEOUT_S, "call_ended")
        self._quit_sent = True
        door.send("quit")
        self._run_until(lambda: door.stdout_closed, DOOR_EXIT_TIMEOUT_S, "door exit")

    def _on_stdin(self, source, poll_events):
        data = os.read(scenario.STDIN, 4096)
        if not data:
            data = b"q\n"
            self.loop.remove_reader(scenario.STDIN)
        for line in data.decode(errors="replace").splitlines():
            command = line.strip().lower()
            if command == "":
                self.door.send("press")
                self.loop.call_later(scenario.PRESS_MS, lambda: self.door.send("release"))
            elif command == "q" and not self._quit_sent:
                self._quit_sent = True
                self.door.send("quit")

    def _run_until(self, condition, timeout_s, what):
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not condition():
            if self.door.stdout_closed:
                raise scenario.ScenarioError(
                    "the door exited while waiting for %s (see door.log)" % what
                )
            if deadline is not None and time.monotonic() > deadline:
                raise scenario.ScenarioError("no %s within %.0f s" % (what, timeout_s))
            self.loop.run_once()

    def _on_event(self, arrival, event):
        self._events_file.write(json.dumps(event, sort_keys=True) + "\n")
        self._events_file.flush()
        fields = " ".join(
            "%s=%s" % (key, event[key]) for key in sorted(event) if key not in ("event", "ts_ms")
        )
        print(
            "%s  door  %s %s" % (time.strftime("%H:%M:%S"), event["event"], fields),
            file=self.out,
            flush=True,
        )

    def _timings(self):
        door = self.door
        button = door.first("button")
        timings = []
        for label, name in (
            ("button -> ringing", "ringing"),
            ("button -> answered", "answered"),
            ("button -> door opened", "door_opened"),
            ("button -> call ended", "call_ended"),
        ):
            event = door.first(name)
            value = None
            if button is not None and event is not None:
                value = (event["ts_ms"] - button["ts_ms"]) % (1 << 30)
            timings.append((label, value))
        return timings

    def _finish(self):
        door = self.door
        checks = []
        if self.problem is not None:
            checks.append(("scenario ran to the end", False, self.problem))
        registered = door.first("registered")
        failed = door.first("registration_failed")
        if registered is not None:
            detail = "expires %s s" % registered.get("expires")
        elif failed is not None:
            detail = "registration_failed: %s" % failed.get("reason")
        else:
            detail = "no answer from the server"
        checks.append(("door registered at %s" % self.server, registered is not None, detail))
        started = door.names().count("call_started")
        ended = door.names().count("call_ended")
        if not self.interactive:
            checks.append(
                (
                    "the call ended",
                    started > 0 and ended >= 1,
                    "%d call_started, %d call_ended" % (started, ended),
                )
            )
        status = self.exit_status
        checks.append(("door process exited 0", status == 0, "exit status %s" % status))
        summary = report.format_summary(
            "Simulated door against %s (user %s, targets %s)"
            % (self.server, self.user, ", ".join(self.targets)),
            self._timings(),
            [],
            [],
            checks,
            artifacts=str(self.artifacts),
        )
        (self.artifacts / "summary.txt").write_text(summary)
        print(summary, end="", file=self.out)
        failed = report.failures(checks)
        for line in failed:
            print("sim: FAILED: %s" % line, file=self.out)
        if self.problem is not None:
            print(scenario.door_log_tail(self.artifacts / "door.log"), end="", file=self.out)
        return 1 if failed else 0
