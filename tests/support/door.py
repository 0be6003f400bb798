# Helpers for the sim board tests: real door processes on 127.0.0.1, driven
# through stdin and read through their JSON event lines on stdout.

import json
import os
import pathlib
import queue
import socket
import subprocess
import sys
import threading
import time
import wave

import numpy

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FIRMWARE = ROOT / "firmware"
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
RATE = 8000


def free_port():
    """A UDP port on 127.0.0.1 nobody holds right now (even, so RTP fits too)."""
    for _ in range(50):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        if port % 2 == 0 and port < 65534:
            return port
    raise RuntimeError("no free even UDP port")


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def write_toml(path, sections):
    """sections: {name: table}, or {name: [table, ...]} for [[name]] entries."""
    lines = []
    for section, tables in sections.items():
        for table in tables if isinstance(tables, list) else [tables]:
            lines.append("[[%s]]" % section if isinstance(tables, list) else "[%s]" % section)
            for key, value in table.items():
                lines.append("%s = %s" % (key, toml_value(value)))
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def door_config(name, user, sip_port, targets, answer_from=(), audio_input="silence", **extra):
    """The sections of a peer-to-peer sim door."""
    sections = {
        "device": {"name": name, "board": "sim"},
        "sip": {"user": user, "local_port": sip_port},
        "call": {"targets": list(targets), "answer_from": list(answer_from), "ring_timeout": 10},
        "audio": {"input": audio_input, "output": "file:%s_heard.wav" % user},
        "door": {"state_file": "%s_state.json" % user},
    }
    for section, table in extra.items():
        sections.setdefault(section, {}).update(table)
    return sections


def start_micropython_door(folder, sections, **door_options):
    """A door under the MicroPython unix port: sections written as
    door.toml, converted to the config.json that main.py reads."""
    toml_path = write_toml(folder / "door.toml", sections)
    converted = subprocess.run(
        [sys.executable, "-m", "intercom", "config", "to-json", str(toml_path)],
        env={"PYTHONPATH": str(FIRMWARE)},
        capture_output=True,
        check=True,
    )
    (folder / "config.json").write_bytes(converted.stdout)
    return Door(folder, "config.json", micropython=True, **door_options)


def write_visitor_wav(path, seconds=2.0, frequency=600):
    """A syllable-like 600 Hz voice: 200 ms bursts, 50 ms gaps (no DTMF pair)."""
    count = int(seconds * RATE)
    times = numpy.arange(count) / RATE
    envelope = ((numpy.arange(count) // 400) % 5 != 4).astype(float)
    signal = 9000 * numpy.sin(2 * numpy.pi * frequency * times) * envelope
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(signal.astype("<i2").tobytes())


def read_wav(path):
    with wave.open(str(path), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth(), source.getframerate()) == (1, 2, RATE)
        return numpy.frombuffer(source.readframes(source.getnframes()), dtype="<i2").astype(float)


def loud_frames(samples, threshold=1000.0):
    """The 20 ms frames whose RMS exceeds threshold."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    rms = numpy.sqrt((frames**2).mean(axis=1))
    return frames[rms > threshold]


def dominant_frequency(frames):
    spectrum = numpy.abs(numpy.fft.rfft(frames.reshape(-1)))
    spectrum[0] = 0
    return numpy.argmax(spectrum) * RATE / frames.size


class Door:
    """One door process; events() are the JSON lines it printed so far."""

    def __init__(
        self, folder, config_name, micropython=False, extra_args=(), heap=None, wrapper=()
    ):
        """wrapper: a command prefix the door runs under (e.g. its own /etc/hosts)."""
        self.folder = pathlib.Path(folder)
        env = dict(os.environ)
        if micropython:
            env["MICROPYPATH"] = str(FIRMWARE)
            command = [str(MICROPYTHON)]
            if heap:
                command += ["-X", "heapsize=%s" % heap]
            command += [str(FIRMWARE / "main.py")]
        else:
            env["PYTHONPATH"] = str(FIRMWARE)
            command = [sys.executable, "-m", "intercom", "run", "-c", config_name]
            command += ["--log", "json"] + list(extra_args)
        command = list(wrapper) + command
        self.stderr_path = self.folder / ("%s.stderr" % config_name)
        self.stderr_file = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
        )
        self.lines = queue.Queue()
        self.seen = []
        self.garbage = []
        self.ended = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.process.stdout:
            self.lines.put(raw)
        self.lines.put(None)

    def _take(self, timeout):
        """Parse one stdout line (waiting up to timeout); False once stdout ended."""
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
        else:
            self.garbage.append(raw)
        return True

    def wait_for(self, name, timeout=10.0, **fields):
        """The first event called name (with those fields) seen so far or later."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for event in self.seen[checked:]:
                if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                    return event
            checked = len(self.seen)
            left = deadline - time.monotonic()
            if left <= 0 or self.ended:
                raise AssertionError(
                    "no %s %r within %.1f s (exited: %s); saw %r; stderr: %s"
                    % (name, fields, timeout, self.ended, self.names(), self.stderr())
                )
            try:
                self._take(left)
            except queue.Empty:
                pass

    def drain(self, timeout=5.0):
        """Read until stdout closes (the process ended)."""
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
        code = self.process.wait(timeout=timeout)
        self.drain()
        return code

    def stderr(self):
        self.stderr_file.flush()
        return self.stderr_path.read_text(errors="replace")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        if not self.process.stdin.closed:
            self.process.stdin.close()
        self.stderr_file.close()
