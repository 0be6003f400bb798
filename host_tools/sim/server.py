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

import os
import time

from host_tools.sim import report, scenario
from host_tools.sim.door_config import audio_specs, door_config, write_config
from host_tools.sim.door_process import DoorProcess

REGISTER_TIMEOUT_S = 15.0
RING_TIMEOUT_S = 30
MAX_CALL_S = 60
CALL_TIMEOUT_S = RING_TIMEOUT_S + MAX_CALL_S + 15
SERVER_HELP = """\
Door registered. Type a command and press Enter:
  (empty line)  press the door button (the door calls the targets)
  q             quit
"""


class ServerScenario(scenario.DoorDriver):
    def __init__(self, artifacts, out, server, user, password, targets, code, audio, interactive):
        super().__init__(artifacts, out, interactive)
        self.server = server
        self.user = user
        self.password = password
        self.targets = list(targets)
        self.code = code
        self.audio = audio

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

        def start_and_drive():
            self.door = DoorProcess(
                self.loop, config_path, self.artifacts / "door.log", self._on_event
            )
            self._drive()

        self._run_steps(start_and_drive)
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
            self._quit()
            self._run_until(lambda: door.stdout_closed, scenario.DOOR_EXIT_TIMEOUT_S, "door exit")
            raise scenario.ScenarioError("registration failed: %s" % failed.get("reason"))
        if self.interactive:
            print(SERVER_HELP, file=self.out, flush=True)
            self.loop.add_reader(scenario.STDIN, self._on_stdin)
            self._run_until(lambda: door.stdout_closed, None, "door exit")
            return
        self._press()
        self._run_until(lambda: door.first("call_ended"), CALL_TIMEOUT_S, "call_ended")
        self._quit()
        self._run_until(lambda: door.stdout_closed, scenario.DOOR_EXIT_TIMEOUT_S, "door exit")

    def _on_stdin(self, source, poll_events):
        data = os.read(scenario.STDIN, 4096)
        if not data:
            data = b"q\n"
            self.loop.remove_reader(scenario.STDIN)
        for line in data.decode(errors="replace").splitlines():
            command = line.strip().lower()
            if command == "":
                self._press()
            elif command == "q":
                self._quit()

    def _on_event(self, arrival, event):
        self._write_event(event)
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
