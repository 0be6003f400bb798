# The one door process of the tests: our firmware (`intercom run` on
# CPython, main.py on the MicroPython unix port, any board) in a folder,
# read through its JSON event lines on stdout, driven through stdin,
# stderr kept in NAME.stderr. It binds SIP and RTP on port 0 (door_sections)
# and learns the ports from its `started` event (door.sip_port,
# door.rtp_port); http_port() reads the status page's from its start line.
#
# start_door() registers the process with `owned` before it waits for
# `started`, so a door that fails to start is stopped all the same; stop()
# is SIGTERM, then SIGKILL after a grace period, by PID.

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

from support.audio import write_wav
from support.config import (
    door_sections,
    merge_sections,
    sim_sections,
    write_config,
    write_config_json,
)
from support.paths import FIRMWARE, MICROPYTHON
from support.ports import PORT_TAKEN, PortTakenError, free_port
from support.processes import stop_group

_HTTP_LINE = re.compile(r"status page on https?://[^:/]+:(\d+)/")
FLAT_USER = "flatx"
DOOR_CODE = "2580"  # the registered doors' code


class Door:
    """One door process; `seen` holds the events it printed so far."""

    def __init__(self, folder, command, env, name="door", stdin=True):
        self.folder = folder
        self.name = name
        self.sip_port = None
        self.rtp_port = None
        self.stderr_path = folder / ("%s.stderr" % name)
        self.stderr_file = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [str(part) for part in command],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            start_new_session=True,
        )
        self.lines = queue.Queue()
        self.seen = []
        self.garbage = []
        self.ended = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self):
        return self.process.pid

    def _read(self):
        for raw in self.process.stdout:
            self.lines.put(raw)
        self.lines.put(None)

    def _take(self, timeout):
        """Parse one stdout line (waiting up to timeout); False once stdout
        ended. Raises queue.Empty when no line came in time."""
        if self.ended:
            return False
        raw = self.lines.get(timeout=timeout)
        if raw is None:
            self.ended = True
            return False
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if isinstance(event, dict) and "ts_ms" in event and "event" in event:
            self.seen.append(event)
            if event["event"] == "started":
                self.sip_port = event.get("sip_port")
                self.rtp_port = event.get("rtp_port")
        else:
            self.garbage.append(raw)
        return True

    def wait_for(self, name, timeout=10.0, after=0, **fields):
        """The first event called name (with those fields) among
        seen[after:], waiting for it up to timeout seconds."""
        deadline = time.monotonic() + timeout
        checked = after
        while True:
            for event in self.seen[checked:]:
                if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                    return event
            checked = max(checked, len(self.seen))
            left = deadline - time.monotonic()
            if left <= 0 or self.ended:
                raise AssertionError(
                    "%s: no %s %r within %.1f s (exited: %s); saw %r; stderr: %s"
                    % (
                        self.name,
                        name,
                        fields,
                        timeout,
                        self.ended,
                        self.names()[after:],
                        self.stderr()[-3000:],
                    )
                )
            try:
                self._take(min(left, 0.2))
            except queue.Empty:
                pass

    def wait_count(self, name, count, timeout=10.0):
        """Read events until `count` of them are called name."""
        deadline = time.monotonic() + timeout
        while self.names().count(name) < count:
            if self.ended or time.monotonic() > deadline:
                raise AssertionError(
                    "%s: %d %s events of %d (exited: %s); saw %r"
                    % (self.name, self.names().count(name), name, count, self.ended, self.names())
                )
            try:
                self._take(0.1)
            except queue.Empty:
                pass

    def drain(self, timeout=5.0):
        """Read until stdout closes (the process ended) or timeout."""
        deadline = time.monotonic() + timeout
        try:
            while self._take(max(0.0, deadline - time.monotonic())):
                pass
        except queue.Empty:
            pass

    def names(self):
        return [event["event"] for event in self.seen]

    def send(self, command):
        self.process.stdin.write((command + "\n").encode())
        self.process.stdin.flush()

    def close_stdin(self):
        self.process.stdin.close()

    def wait(self, timeout=10.0):
        """The exit status, once the process ended; its events read."""
        code = self.process.wait(timeout=timeout)
        self.drain()
        return code

    def stderr(self):
        self.stderr_file.flush()
        return self.stderr_path.read_text(errors="replace")

    def http_port(self, timeout=10.0):
        """The status page's port, from the door's "status page on" line.
        PortTakenError when the door said its port was taken (it then retries
        that port; the caller starts another door on another port)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.stderr()
            found = _HTTP_LINE.search(text)
            if found:
                return int(found.group(1))
            if "status page: " in text and PORT_TAKEN in text:
                raise PortTakenError("%s: the status page's port is taken" % self.name)
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(
                    "%s: no status page line; stderr: %s" % (self.name, self.stderr())
                )
            time.sleep(0.02)

    def stop(self):
        stop_group(self.process)
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        self.stderr_file.close()


def launch_door(owned, folder, command, env, name="door", stdin=True, wait="started", timeout=20.0):
    """A Door registered with owned; waits for its `wait` event unless None.
    A door that stopped with an error event naming a taken port (one the
    config fixed, like http.listen) raises PortTakenError: start it through
    support.ports.retry_when_taken with a new port."""
    door = owned(Door(folder, command, env, name, stdin))
    if wait is None:
        return door
    try:
        door.wait_for(wait, timeout=timeout)
    except AssertionError:
        door.stop()
        for event in door.seen:
            if event["event"] == "error" and PORT_TAKEN in event.get("reason", ""):
                raise PortTakenError("%s: %s" % (name, event["reason"])) from None
        raise
    return door


def start_door(
    owned,
    folder,
    sections,
    name="door",
    micropython=False,
    heap=None,
    args=(),
    env=None,
    python_path=(),
    webhooks=(),
    stdin=True,
    wrapper=(),
    status_page=False,
    wait="started",
    timeout=20.0,
):
    """A door of ours from `sections` (support.config.door_sections),
    written to folder/NAME.toml: `intercom run -c NAME.toml --log json
    ARGS` on CPython (python_path before the firmware on PYTHONPATH), or
    with micropython=True main.py under the MicroPython unix port reading
    the same config as config.json (heap: -X heapsize). env adds to ours;
    stdin=False: no commands (stdin is /dev/null); wrapper: a command
    prefix the door runs under (e.g. its own /etc/hosts); status_page: wait
    for its status page too (PortTakenError when its port was taken: start it
    through retry_when_taken with http_listen())."""
    toml_path = write_config(folder / ("%s.toml" % name), sections, webhooks)
    environment = dict(os.environ)
    if micropython:
        write_config_json(toml_path)
        environment["MICROPYPATH"] = str(FIRMWARE)
        command = [MICROPYTHON] + (["-X", "heapsize=%s" % heap] if heap else [])
        command.append(FIRMWARE / "main.py")
    else:
        environment["PYTHONPATH"] = os.pathsep.join([*map(str, python_path), str(FIRMWARE)])
        command = [sys.executable, "-m", "intercom", "run", "-c", toml_path.name, "--log", "json"]
        command += list(args)
    environment.update(env or {})
    command = list(wrapper) + command
    door = launch_door(owned, folder, command, environment, name, stdin, wait, timeout)
    if status_page:
        try:
            door.http_port()
        except PortTakenError:
            door.stop()
            raise
    return door


def start_pair(owned, folder, door_input="tone", webhooks=(), **extra):
    """(door, flat, flat_target): sim doors in folder; the flat (user
    flatx) answers the door (user doora, code 1234, its mic door_input);
    extra sections are merged into the door's."""
    flat_sections = sim_sections(
        "Flat X", FLAT_USER, ["sip:doora@127.0.0.1"], answer_from=["sip:doora@127.0.0.1"]
    )
    flat = start_door(owned, folder, flat_sections, name="flat")
    flat_target = "sip:%s@127.0.0.1:%d" % (FLAT_USER, flat.sip_port)
    sections = sim_sections("Door", "doora", [flat_target], audio_input=door_input)
    sections["door"]["code"] = "1234"
    merge_sections(sections, extra)
    try:
        door = start_door(owned, folder, sections, webhooks=webhooks, status_page="http" in extra)
    except PortTakenError:
        flat.stop()  # the caller starts the pair again
        raise
    return door, flat, flat_target


def http_listen(**settings):
    """An [http] section on a port free now (the door cannot bind port 0
    for its status page): start the door through retry_when_taken, read
    the port it got with door.http_port()."""
    return {"listen": "127.0.0.1:%d" % free_port(tcp=True), **settings}


def start_registered_door(owned, folder, name, user, password, proxy_port, targets, **sections):
    """A sim door in folder (made if missing) registered with the proxy on
    127.0.0.1:proxy_port as user, door code DOOR_CODE, its speaker writing
    heard.wav; returns it once it is `registered`."""
    folder.mkdir(parents=True, exist_ok=True)
    merged = door_sections(
        targets,
        name,
        user,
        sip={"server": "127.0.0.1:%d" % proxy_port, "password": password},
        door={"code": DOOR_CODE},
        audio={"input": "silence", "output": "file:heard.wav"},
    )
    merge_sections(merged, sections)
    door = start_door(owned, folder, merged)
    door.wait_for("registered", timeout=10)
    return door


def start_door1_with_visitor(owned, folder, visitor, password, proxy_port, **sections):
    """Door 1 (user door1, calling flat1) registered with the proxy, its mic
    playing the samples `visitor` (written to folder/visitor.wav)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_wav(folder / "visitor.wav", visitor)
    audio = {"input": "file:visitor.wav"}
    return start_registered_door(
        owned, folder, "Door 1", "door1", password, proxy_port, ["flat1"], audio=audio, **sections
    )


def start_peer_door(owned, folder, targets, **sections):
    """A peer-to-peer sim door in folder (made if missing) calling `targets`
    (SIP URIs), door code DOOR_CODE, its speaker writing heard.wav."""
    folder.mkdir(parents=True, exist_ok=True)
    merged = door_sections(
        targets, door={"code": DOOR_CODE}, audio={"input": "silence", "output": "file:heard.wav"}
    )
    merge_sections(merged, sections)
    return start_door(owned, folder, merged)


def start_door_answering(owned, folder, caller):
    """A peer-to-peer sim door calling and answering `caller` (a SIP URI),
    ringing 5 s at most."""
    call = {"answer_from": [caller], "ring_timeout": 5}
    return start_peer_door(owned, folder, [caller], call=call)


def two_button_door(owned, folder, **extra):
    """(flat, sections, flat_a target): a sim flat A that answers, started,
    and the sections of a door whose button 1 rings flat A and button 2
    flat B (nobody there), code 1234, a tamper switch that blocks opening;
    extra sections merged in. The caller starts the door."""
    flat = start_door(
        owned,
        folder,
        sim_sections("Flat A", "flata", ["sip:x@127.0.0.1"], ["sip:door@127.0.0.1"]),
        name="flat",
    )
    flat_a = "sip:flata@127.0.0.1:%d" % flat.sip_port
    flat_b = "sip:flatb@127.0.0.1:%d" % free_port()
    sections = sim_sections("Door", "door", [flat_a, flat_b])
    sections["door"].update({"code": "1234", "tamper_blocks_open": True})
    sections["button"] = [
        {"id": 1, "label": "Flat A", "targets": [flat_a]},
        {"id": 2, "label": "Flat B", "targets": [flat_b]},
    ]
    return flat, merge_sections(sections, extra), flat_a
