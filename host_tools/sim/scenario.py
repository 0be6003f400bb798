"""The default desktop scenario: a visitor rings, the flat answers and opens.

    door  = `python -m intercom run --board sim --log json` (a child process,
            config generated into the artifacts folder, peer-to-peer)
    flat  = host_tools.sim.flat_phone.FlatPhone in this process

    1. start the door, wait for `started`          (DOOR_START_TIMEOUT_S)
    2. `press` (and `release` PRESS_MS later)      the door INVITEs the flat
    3. the flat rings (180), answers after ANSWER_AFTER_MS (200, ACK)
    4. both talk: the door's mic plays the visitor WAV, the flat sends its
       reply REPLY_AFTER_MS after answering
    5. CODE_AFTER_REPLY_MS after its reply the flat sends the door code as
       RFC 4733 events; the door opens (door_opened), closes after
       `pulse`, hangs up after `hangup_after_open` (call_ended)
    6. `quit`; the door must exit 0                (DOOR_EXIT_TIMEOUT_S)

The sim board starts its `file:` mic when the call is talking, so the
visitor speaks as soon as the flat answers.

Artifacts: door.toml, door.log (its stderr), events.jsonl (its events),
door_heard.wav (written by the door), flat_heard.wav,
call.pcap (every datagram the flat sent and received), ladder.txt/.svg,
summary.txt.
"""

import json
import os
import time
from pathlib import Path

from boards.runtime.loop import Loop

from host_tools.ladder import render_svg, render_text, sip_arrows
from host_tools.pcap import PcapWriter
from host_tools.sim import report, wav_io
from host_tools.sim.analysis import CallAnalysis
from host_tools.sim.door_config import audio_specs, door_config, write_config
from host_tools.sim.door_process import DoorProcess
from host_tools.sim.flat_phone import FlatPhone

ASSETS = Path(__file__).resolve().parent / "assets"
VISITOR_WAV = ASSETS / "visitor.wav"
REPLY_WAV = ASSETS / "flat_reply.wav"

DOOR_CODE = "1234"
FLAT_USER = "flat1"
HOST = "127.0.0.1"
PRESS_MS = 200
# Under the ringback's 1 s "on": the door's speaker still plays it when the
# call is answered, which marks the first talking frame (analysis.py).
ANSWER_AFTER_MS = 800
REPLY_AFTER_MS = 1000
CODE_AFTER_REPLY_MS = 1000
REPLY_REPEATS = 3  # with the simulated room (--echo)
REPLY_GAP_SAMPLES = 2400  # 300 ms between them
DOOR_PULSE_S = 1
HANGUP_AFTER_OPEN_S = 2
DOOR_START_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 25.0
DOOR_EXIT_TIMEOUT_S = 5.0
STDIN = 0
FLAT_EVENTS_HIDDEN = ("media_started", "media_stopped", "reply_ended")
# --interactive: how long the door lets the flat ring before its prompt,
# the voicemail it records, and its listen notice.
INTERACTIVE_RING_TIMEOUT_S = 10
INTERACTIVE_NOTICE_S = 5
INTERACTIVE_MESSAGE_S = 20
DOOR_LOG_TAIL = 10  # lines of the door's stderr shown when the run fails
WAKE_MS = 50  # the scenario's loop wakes at least this often to check its conditions

REQUIRED_EVENTS = [
    "button",
    "call_started",
    "ringing",
    "answered",
    "door_opened",
    "door_closed",
    "call_ended",
]


def default_artifacts():
    return Path("artifacts") / time.strftime("sim-%Y%m%d-%H%M%S")


class ScenarioError(Exception):
    """The scenario could not go on; the message says where it stopped."""


INTERACTIVE_HELP = """\
Interactive door simulation. Type a command and press Enter:
  (empty line)  press door button 1 (the flat phone rings, answers after 0.8 s)
  press N       press door button N (1-3: flats 1-3, each with its own label
                and Alert-Info; the flat phone answers them all); a press
                while a call rings or talks is a repeat: no second call
  sensor open   the door contact opens (ends a call that still rings;
                door_forced when the relay is idle); sensor close: it closes
  exit          the exit button inside: the relay opens without a call
  tamper        the tamper switch triggers; tamper off: it closes again
  n             nobody home: the next ring goes unanswered (the door gives up
                after %d s, plays its prompt and records the visitor's
                message into messages/)
  l             the flat phone calls the door to listen in (the door answers
                and beeps its notice every %d s)
  o             the flat phone sends the door code (RFC 4733)
  h             the flat phone hangs up
  q             quit (the door stops and the report is written)
Each call_ended shows its reason and audio verdict; `intercom doctor -c
door.toml` in the artifacts folder explains the last call.
""" % (INTERACTIVE_RING_TIMEOUT_S, INTERACTIVE_NOTICE_S)
# Commands passed on to the door's stdin as they are (boards/sim/board.py).
DOOR_COMMANDS = ("press", "release", "sensor", "exit", "tamper")


class DoorDriver:
    """What both simulations (Scenario with its virtual flat phone,
    server.ServerScenario against a real PBX) do with the door process they
    drive: run the loop until something happens or the door exits, press
    its button, ask it to quit (once), stop it, keep its events in
    events.jsonl."""

    def __init__(self, artifacts, out, interactive):
        self.artifacts = Path(artifacts)
        self.out = out  # where the summary (and the ladder) are printed
        self.interactive = interactive
        self.loop = Loop()
        self.door = None
        self.exit_status = None
        self.problem = None
        self._events_file = None
        self._quit_sent = False

    def _run_steps(self, steps):
        """steps() with events.jsonl open and the loop woken every WAKE_MS;
        a ScenarioError or Ctrl-C becomes the problem; shut down after."""
        self._events_file = open(self.artifacts / "events.jsonl", "w")
        wake = self.loop.call_every(WAKE_MS, lambda: None)
        try:
            steps()
        except ScenarioError as error:
            self.problem = str(error)
        except KeyboardInterrupt:
            self.problem = "interrupted (Ctrl-C)"
        finally:
            wake.cancel()
            self._shut_down()

    def _run_until(self, condition, timeout_s, what):
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not condition():
            if self.door.stdout_closed:
                raise ScenarioError("the door exited while waiting for %s (see door.log)" % what)
            if deadline is not None and time.monotonic() > deadline:
                raise ScenarioError("no %s within %.0f s" % (what, timeout_s))
            self.loop.run_once()

    def _press(self):
        self.door.send("press")
        self.loop.call_later(PRESS_MS, lambda: self.door.send("release"))

    def _quit(self):
        if not self._quit_sent:
            self._quit_sent = True
            self.door.send("quit")

    def _shut_down(self):
        if self.door is not None:
            self._quit()
            self.exit_status = self.door.wait(DOOR_EXIT_TIMEOUT_S)
            if self.exit_status is None:
                self.door.kill()
            self.door.close()
        self._events_file.close()

    def _write_event(self, event):
        self._events_file.write(json.dumps(event, sort_keys=True) + "\n")
        self._events_file.flush()


class Scenario(DoorDriver):
    """One run of the scenario; run() returns the exit status.

    audio "file" feeds the door's mic from the visitor WAV and records its
    speaker; "alsa" gives it the desktop's default ALSA devices (no audio
    checks then). interactive: commands from stdin (INTERACTIVE_HELP), events
    printed as they come; the run passes when the door exits 0.
    """

    def __init__(self, artifacts, out, audio="file", interactive=False, echo=None):
        super().__init__(artifacts, out, interactive)
        self.audio = audio
        self.echo = echo  # audio.echo with the simulated room on (echo_scenario.py)
        self.capture = PcapWriter()
        self.flat_events = []  # (wall time, event)
        self.press_wall = None
        self.flat = None

    # -- running -------------------------------------------------------------------

    def run(self):
        self.artifacts.mkdir(parents=True, exist_ok=True)
        visitor = wav_io.read_pcm(VISITOR_WAV)
        reply = wav_io.read_pcm(REPLY_WAV)

        def start_and_drive():
            self._start(reply)
            self._drive()

        self._run_steps(start_and_drive)
        return self._finish(visitor, reply)

    def flat_reply(self, reply):
        """What the flat says: the reply WAV, with the room on three times
        (the first over the visitor, then alone: see echo_scenario.py)."""
        if self.echo is None:
            return reply
        return (reply + bytes(2 * REPLY_GAP_SAMPLES)) * (REPLY_REPEATS - 1) + reply

    def _start(self, reply):
        self.flat = FlatPhone(
            self.loop,
            self.capture,
            self._on_flat_event,
            host=HOST,
            user=FLAT_USER,
            reply_pcm=self.flat_reply(reply),
            answer_after_ms=ANSWER_AFTER_MS,
            reply_after_ms=REPLY_AFTER_MS,
            code=DOOR_CODE,
            code_after_reply_ms=CODE_AFTER_REPLY_MS,
            auto_code=not self.interactive,
        )
        # Any free port: the door names it in its started event.
        config = door_config(
            0,
            [self.flat.uri],
            audio_specs(
                self.audio,
                str(VISITOR_WAV),
                str((self.artifacts / "door_heard.wav").resolve()),
            ),
            str((self.artifacts / "door_state.json").resolve()),
            code=DOOR_CODE,
            trusted_caller="sip:%s@%s" % (FLAT_USER, HOST),
            pulse_s=DOOR_PULSE_S,
            hangup_after_open_s=HANGUP_AFTER_OPEN_S,
            echo=self.echo,
            **self._interactive_options(),
        )
        config_path = self.artifacts / "door.toml"
        write_config(config_path, config)
        self.door = DoorProcess(
            self.loop, config_path, self.artifacts / "door.log", self._on_door_event
        )

    def _interactive_options(self):
        """Interactive runs: a shorter ring, messages and a quicker notice."""
        if not self.interactive:
            return {}
        messages = str((self.artifacts / "messages").resolve())
        return {
            "ring_timeout_s": INTERACTIVE_RING_TIMEOUT_S,
            "voicemail": {"record": True, "max_seconds": INTERACTIVE_MESSAGE_S, "folder": messages},
            "notice_interval_s": INTERACTIVE_NOTICE_S,
        }

    def _drive(self):
        if self.interactive:
            self._drive_interactive()
            return
        door = self.door
        self._run_until(lambda: door.first("started"), DOOR_START_TIMEOUT_S, "door started")
        self._press()
        self._run_until(lambda: door.first("call_ended"), CALL_TIMEOUT_S, "call_ended")
        self._quit()
        self._run_until(lambda: door.stdout_closed, DOOR_EXIT_TIMEOUT_S, "door exit")

    def _press(self):
        self.press_wall = self.press_wall or time.time()
        super()._press()

    def _drive_interactive(self):
        print(INTERACTIVE_HELP, file=self.out, flush=True)
        self.loop.add_reader(STDIN, self._on_stdin)
        try:
            self._run_until(lambda: self.door.stdout_closed, None, "door exit")
        finally:
            self.loop.remove_reader(STDIN)

    def _on_stdin(self, source, poll_events):
        data = os.read(STDIN, 4096)
        if not data:  # end of input: same as q
            data = b"q\n"
            self.loop.remove_reader(STDIN)
        for line in data.decode(errors="replace").splitlines():
            self._command(line.strip().lower())

    def _command(self, command):
        if command == "":
            self._press()
        elif command == "n":
            self.flat.let_next_ring()
            print("sim: the next ring goes unanswered; press Enter to ring", file=self.out)
        elif command == "l":
            started = self.door.first("started")
            if started is None:
                print("sim: the door has not started yet", file=self.out, flush=True)
            elif not self.flat.call("sip:door@%s:%d" % (HOST, started["sip_port"])):
                print("sim: the flat phone is in a call already", file=self.out, flush=True)
        elif command == "o":
            if not self.flat.send_code():
                print("sim: the flat phone is not in a call", file=self.out, flush=True)
        elif command == "h":
            if not self.flat.hangup():
                print("sim: the flat phone has no call", file=self.out, flush=True)
        elif command == "q":
            self._quit()
        elif command.split()[0] in DOOR_COMMANDS:
            self.door.send(" ".join(command.split()))
        else:
            print(INTERACTIVE_HELP, file=self.out, flush=True)

    def _shut_down(self):
        super()._shut_down()
        if self.flat is not None:
            self.flat.close()

    def _on_door_event(self, arrival, event):
        self._write_event(event)
        if self.interactive:
            self._show("door", event)

    def _on_flat_event(self, wall, event):
        self.flat_events.append((wall, event))
        if self.interactive and event["event"] not in FLAT_EVENTS_HIDDEN:
            self._show("flat", event)

    def _show(self, who, event):
        fields = " ".join(
            "%s=%s" % (key, event[key])
            for key in sorted(event)
            if key not in ("event", "ts_ms", "call_id", "media", "stats")
        )
        media = event.get("media")
        if event["event"] == "call_ended" and who == "door" and media:
            fields += " audio=%s (%s %d ms, %d sent, %d received, dtmf %s)" % (
                media["audio"],
                media["codec"],
                media["ptime"],
                media["packets_sent"],
                media["packets_received"],
                media["dtmf"],
            )
        print(
            "%s  %-5s %s %s" % (time.strftime("%H:%M:%S"), who, event["event"], fields),
            file=self.out,
            flush=True,
        )

    # -- results -------------------------------------------------------------------

    def _finish(self, visitor, reply):
        records = self.capture.records
        self.capture.write(self.artifacts / "call.pcap")
        flat = self.flat
        if flat is not None:
            wav_io.write_pcm(self.artifacts / "flat_heard.wav", flat.heard)
        analysis = CallAnalysis(
            records,
            self.door,
            flat,
            self.flat_events,
            self.artifacts / "door_heard.wav",
            self.press_wall,
        )
        ladder_text = self._write_ladder(records, analysis.button_wall())
        checks = []
        if self.problem is not None:
            checks.append(("scenario ran to the end", False, self.problem))
        delays = analysis.delays(visitor, self.flat_reply(reply)) if self.audio == "file" else []
        if not self.interactive:
            checks += self._call_checks(delays)
        status = self.exit_status
        checks.append(
            (
                "door process exited 0",
                status == 0,
                "exit status %s" % ("still running, killed" if status is None else status),
            )
        )
        summary = report.format_summary(
            "Simulated door call (door process + virtual flat phone on %s)" % HOST,
            analysis.timings(),
            delays,
            analysis.rtp_lines(),
            checks,
            artifacts=str(self.artifacts),
        )
        (self.artifacts / "summary.txt").write_text(summary)
        if ladder_text:
            print(ladder_text, file=self.out)
            print(file=self.out)
        print(summary, end="", file=self.out)
        failed = report.failures(checks)
        for line in failed:
            print("sim: FAILED: %s" % line, file=self.out)
        if self.problem is not None:
            print(door_log_tail(self.artifacts / "door.log"), end="", file=self.out)
        return 1 if failed else 0

    def _call_checks(self, delays):
        """What the default scenario must show (interactive runs only report)."""
        names = self.door.names() if self.door is not None else []
        checks = [("door events in order",) + report.events_in_order(names, REQUIRED_EVENTS)]
        for label, estimate in delays:
            checks.append(report.delay_check(label, estimate))
        digits = "".join(
            event.get("digit", "?") for _, event in self._door_events() if event["event"] == "dtmf"
        )
        checks.append(
            (
                "door received the code as DTMF",
                digits == DOOR_CODE,
                "digits %r" % digits if digits else "no dtmf events",
            )
        )
        return checks

    def _door_events(self):
        return self.door.events if self.door is not None else []

    def _names(self):
        names = {}
        if self.flat is not None:
            names[self.flat.sip.local_address] = "flat phone (%s)" % FLAT_USER
        started = self.door.first("started") if self.door is not None else None
        if started is not None:
            names[(HOST, started["sip_port"])] = "door"
        return names

    def _write_ladder(self, records, button_wall):
        arrows = sip_arrows(records, self._names())
        if not arrows:
            return ""
        parties = ["door", "flat phone (%s)" % FLAT_USER]
        for _, sender, receiver, _ in arrows:
            for party in (sender, receiver):
                if party not in parties:
                    parties.append(party)
        start = button_wall or arrows[0][0]
        text = render_text(arrows, parties, start)
        (self.artifacts / "ladder.txt").write_text(text + "\n")
        svg = render_svg(arrows, parties, start, "Simulated door call: SIP ladder")
        (self.artifacts / "ladder.svg").write_text(svg)
        return text


def door_log_tail(path, lines=DOOR_LOG_TAIL):
    """The last lines of the door's stderr, as a block to print after a failure."""
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "".join("door.log: %s\n" % line for line in tail)
