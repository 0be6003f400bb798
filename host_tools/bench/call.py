# Whole-call cost: one G.711 call of CALL_S seconds between our sim door
# (CPython, `intercom run --board sim`) and baresip, and the same call
# between two baresips, on 127.0.0.1. Per process: CPU seconds (user +
# system, /proc/PID/stat) spent between the answer and the hang-up, scaled
# to one call-minute, and peak resident memory (VmHWM, /proc/PID/status).
#
# Pacing: baresip's player is an ALSA PCM on a PulseAudio null sink (8 kHz
# mono s16le), which blocks in real time like a sound card; its source is
# aufile (a long WAV, paced by baresip's own timer). Our door plays a WAV
# file and writes what it hears to a WAV file, paced by its event loop.
# Everything is started here, on free ports, and stopped by PID.
# Debian packages: baresip-core, pulseaudio, libasound2-plugins.

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import wave

from host_tools.bench.timing import markdown_table

SECTION = "Call cost: our door vs baresip"

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
RATE = 8000
PACKAGES = {"baresip": "baresip-core", "pulseaudio": "pulseaudio"}
PULSE_PLUGIN = "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ensure_packages():
    wanted = [package for binary, package in PACKAGES.items() if not shutil.which(binary)]
    if not os.path.exists(PULSE_PLUGIN):
        wanted.append("libasound2-plugins")
    if not wanted:
        return
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    command = as_root + ["apt-get", "install", "-y", "--no-install-recommends"] + wanted
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(command, env=environment, capture_output=True).returncode != 0:
        subprocess.run(as_root + ["apt-get", "update"], env=environment, capture_output=True)
        subprocess.run(command, env=environment, check=True, capture_output=True)


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port():
    """A free even UDP port on 127.0.0.1 whose +1 is free for TCP as well
    (baresip opens a TLS listener on its SIP port + 1)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port % 2 or port > 65000:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def write_tone_wav(path, seconds):
    """A 440 Hz tone with 100 ms gaps every 300 ms (no DTMF pair)."""
    import math

    frames = bytearray()
    for index in range(int(seconds * RATE)):
        level = 0 if (index // 800) % 3 == 2 else 8000
        value = int(level * math.sin(2 * math.pi * 440 * index / RATE))
        frames += value.to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return path


def stop(process):
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def cpu_seconds(pid):
    values = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(values[11]) + int(values[12])) / CLOCK_TICKS


def peak_rss_mib(pid):
    for line in pathlib.Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class PacedSink:
    """A PulseAudio daemon with an 8 kHz null sink and an ALSA config file
    whose PCM `paced` plays into it in real time."""

    def __init__(self, folder):
        self.folder = folder
        self.socket_path = folder / "native"
        self.alsa_config = folder / "asound.conf"
        self.process = None

    def start(self):
        environment = dict(os.environ, XDG_RUNTIME_DIR=str(self.folder), HOME=str(self.folder))
        command = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1"]
        command += ["--use-pid-file=no", "--system=no"]
        command += [
            "-L",
            "module-native-protocol-unix socket=%s auth-anonymous=1" % self.socket_path,
        ]
        command += ["-L", "module-null-sink sink_name=nullsink rate=8000 channels=1 format=s16le"]
        with open(self.folder / "pulseaudio.log", "wb") as log:
            self.process = subprocess.Popen(
                command,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while not self.socket_path.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("pulseaudio did not start")
            time.sleep(0.05)
        self.alsa_config.write_text(
            "pcm.paced {\n"
            "    type plug\n"
            '    slave { pcm { type pulse server "unix:%s" device "nullsink" }\n'
            "            format S16_LE rate 8000 channels 1 }\n"
            "}\n" % self.socket_path
        )
        return self

    def environment(self):
        path = "/usr/share/alsa/alsa.conf:%s" % self.alsa_config
        return dict(os.environ, ALSA_CONFIG_PATH=path)

    def stop(self):
        stop(self.process)


class Baresip:
    """A headless baresip answering automatically; ctrl_tcp for commands."""

    def __init__(self, folder, user, source_wav, sink):
        self.folder = folder
        folder.mkdir()
        self.port = free_port()
        self.control_port = free_tcp_port()
        self.uri = "sip:%s@127.0.0.1:%d" % (user, self.port)
        config = [
            "sip_listen 127.0.0.1:%d" % self.port,
            "net_interface 127.0.0.1",
            "dns_server 127.0.0.1:53",
            "audio_source aufile,%s" % source_wav,
            "audio_player alsa,paced",
            "audio_alert none,none",
            "module_path /usr/lib/baresip/modules",
            "module g711.so",
            "module aufile.so",
            "module alsa.so",
            "module menu.so",
            "module ctrl_tcp.so",
            "module account.so",
            "ctrl_tcp_listen 127.0.0.1:%d" % self.control_port,
        ]
        (folder / "config").write_text("\n".join(config) + "\n")
        account = "<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU\n" % user
        (folder / "accounts").write_text(account)
        self.environment = sink.environment()
        self.process = None
        self.control = None
        self.buffer = b""

    def start(self):
        with open(self.folder / "baresip.log", "wb") as log:
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.folder)],
                cwd=self.folder,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.control = socket.create_connection(("127.0.0.1", self.control_port), 1)
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("baresip did not start") from None
                time.sleep(0.05)

    def command(self, name, params=""):
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.control.sendall(b"%d:%s," % (len(body), body))

    def wait_event(self, kind, timeout=15.0):
        deadline = time.monotonic() + timeout
        self.control.settimeout(0.2)
        while time.monotonic() < deadline:
            while b":" in self.buffer:
                length, _, rest = self.buffer.partition(b":")
                if len(rest) < int(length) + 1:
                    break
                body, self.buffer = rest[: int(length)], rest[int(length) + 1 :]
                if json.loads(body).get("type") == kind:
                    return
            try:
                self.buffer += self.control.recv(65536)
            except TimeoutError:
                pass
        raise RuntimeError("baresip: no %s event" % kind)

    def stop(self):
        if self.control is not None:
            self.control.close()
        stop(self.process)


class Door:
    """Our sim door (CPython), peer to peer, calling `target`."""

    def __init__(self, folder, target, source_wav, call_s):
        self.folder = folder
        folder.mkdir()
        config = (
            '[device]\nname = "Bench door"\nboard = "sim"\n'
            '[sip]\nuser = "door"\nlocal_port = %d\n'
            '[call]\ntargets = ["%s"]\nring_timeout = 10\nmax_duration = %d\n'
            '[door]\nstate_file = "state.json"\n'
            '[audio]\ninput = "file:%s"\noutput = "file:heard.wav"\ncodecs = ["PCMU"]\n'
        ) % (free_port(), target, call_s + 60, source_wav)
        path = folder / "door.toml"
        path.write_text(config)
        path.chmod(0o600)
        self.process = None
        self.events = []

    def start(self):
        environment = dict(os.environ, PYTHONPATH=str(FIRMWARE))
        command = [sys.executable, "-m", "intercom", "run", "-c", "door.toml", "--log", "json"]
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def send(self, line):
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()

    def wait_event(self, name):
        for raw in self.process.stdout:
            event = json.loads(raw)
            self.events.append(event)
            if event["event"] == name:
                return event
        raise RuntimeError("door exited before %s: %r" % (name, self.events))

    def stop(self):
        if self.process.poll() is None:
            self.send("quit")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stop(self.process)


def measure(processes, call_s, hang_up):
    """CPU and peak RSS of {name: pid} over one call of call_s seconds."""
    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    started = time.monotonic()
    time.sleep(call_s)
    after = {name: cpu_seconds(pid) for name, pid in processes.items()}
    elapsed = time.monotonic() - started
    peaks = {name: peak_rss_mib(pid) for name, pid in processes.items()}
    hang_up()
    return {
        name: ((after[name] - before[name]) * 60.0 / elapsed, peaks[name]) for name in processes
    }


def door_vs_baresip(folder, sink, call_s):
    long_wav = write_tone_wav(folder / "flat.wav", call_s + 30)
    door_wav = write_tone_wav(folder / "door.wav", call_s + 30)
    flat = Baresip(folder / "flat", "flat", long_wav, sink).start()
    door = Door(folder / "door", flat.uri, door_wav, call_s)
    try:
        door.start()
        door.wait_event("started")
        door.send("press")
        door.wait_event("answered")
        flat.wait_event("CALL_ESTABLISHED")
        pids = {
            "our door (CPython)": door.process.pid,
            "baresip, answering the door": flat.process.pid,
        }
        results = measure(pids, call_s, lambda: door.send("hangup"))
    finally:
        door.stop()
        flat.stop()
    check_heard(folder / "door" / "heard.wav", call_s)
    return results


def check_heard(path, call_s):
    """The door heard baresip's tone for (nearly) the whole call."""
    with wave.open(str(path), "rb") as heard:
        samples = heard.readframes(heard.getnframes())
    loud = sum(
        1
        for start in range(0, len(samples) - 320, 320)
        if max(
            abs(int.from_bytes(samples[i : i + 2], "little", signed=True))
            for i in range(start, start + 320, 2)
        )
        > 4000
    )
    if loud * 0.02 < call_s * 0.5:
        raise RuntimeError("the door heard only %.1f s of baresip's tone" % (loud * 0.02))


def baresip_vs_baresip(folder, sink, call_s):
    long_wav = write_tone_wav(folder / "long.wav", call_s + 30)
    caller = Baresip(folder / "caller", "caller", long_wav, sink).start()
    callee = Baresip(folder / "callee", "callee", long_wav, sink).start()
    try:
        caller.command("dial", callee.uri)
        caller.wait_event("CALL_ESTABLISHED")
        callee.wait_event("CALL_ESTABLISHED")
        pids = {
            "baresip, calling": caller.process.pid,
            "baresip, answering baresip": callee.process.pid,
        }
        return measure(pids, call_s, lambda: caller.command("hangup"))
    finally:
        caller.stop()
        callee.stop()


def measure_both(call_s):
    """({process: (CPU s per call-minute, peak RSS MiB)} of the door call,
    the same of the baresip call)."""
    ensure_packages()
    with tempfile.TemporaryDirectory(prefix="bench-call-") as scratch:
        folder = pathlib.Path(scratch)
        (folder / "pulse").mkdir()
        sink = PacedSink(folder / "pulse").start()
        try:
            (folder / "a").mkdir()
            (folder / "b").mkdir()
            ours = door_vs_baresip(folder / "a", sink, call_s)
            theirs = baresip_vs_baresip(folder / "b", sink, call_s)
        finally:
            sink.stop()
    return ours, theirs


def run(options):
    call_s = 10 if options.quick else 60
    ours, theirs = measure_both(call_s)
    rows = []
    for scenario, results in (("door -> baresip", ours), ("baresip -> baresip", theirs)):
        for name, (cpu, rss) in results.items():
            rows.append([scenario, name, "%.2f" % cpu, "%.1f" % rss])
    door_cpu, door_rss = ours["our door (CPython)"]
    baresip_cpu = sum(cpu for cpu, _ in theirs.values()) / len(theirs)
    baresip_rss = sum(rss for _, rss in theirs.values()) / len(theirs)
    text = [
        "One PCMU call of %d s on 127.0.0.1, 20 ms packets both ways. CPU = user +"
        " system seconds of the process during the call, per call-minute; peak"
        " RSS = VmHWM. baresip plays into a PulseAudio null sink (real-time"
        " pacing), reads a WAV (aufile); our door reads and writes WAV files." % call_s,
        "",
        markdown_table(["call", "process", "CPU s per call-minute", "peak RSS MiB"], rows),
        "",
        "Ratio ours / baresip (mean of the two baresips of the baresip call):"
        " CPU %.2f, peak RSS %.2f." % (door_cpu / baresip_cpu, door_rss / baresip_rss),
    ]
    return "\n".join(text)
