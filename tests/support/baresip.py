# The peers of tests/interop, as processes this test run owns: Kamailio
# running the committed deploy/kamailio/building.cfg, baresip as a headless
# flat phone (own config folder, aufile source, sndfile recorder, ctrl_tcp
# control), and sim doors (tests/board_sim's Door). SIPp comes from
# tests/sip_interop. Every process is started on free 127.0.0.1 ports, in
# its own session, and stopped by its PID.

import json
import pathlib
import socket
import subprocess
import time
import wave

import numpy

from host_tools.processes import stop_process
from tests.board_sim.board_sim_door import Door, free_port, write_toml
from tests.sip_interop.sip_interop_peers import Kamailio, ensure_installed, free_udp_port

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BUILDING_CONFIG = ROOT / "deploy" / "kamailio" / "building.cfg"
HERE = pathlib.Path(__file__).resolve().parent
RATE = 8000
DOOR_CODE = "2580"


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_sip_port():
    """A free UDP port whose +1 (baresip's TLS listener) is free for TCP too."""
    for _ in range(50):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free SIP port")


# ---------------------------------------------------------------- audio


def speech_like(seconds, seed):
    """Band-limited noise in 200 ms syllables with 50 ms gaps: a signal whose
    autocorrelation has one sharp peak, so the lag found is unambiguous."""
    generator = numpy.random.default_rng(seed)
    count = int(seconds * RATE)
    noise = generator.standard_normal(count + 7)
    smooth = numpy.convolve(noise, numpy.ones(8) / 8, mode="valid")[:count]
    envelope = ((numpy.arange(count) // 400) % 5 != 4).astype(float)
    signal = smooth * envelope
    return (signal / numpy.abs(signal).max() * 12000).astype(numpy.int16)


def write_wav(path, samples):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(numpy.asarray(samples, dtype="<i2").tobytes())
    return path


def read_wav(path):
    with wave.open(str(path), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth()) == (1, 2), path
        assert source.getframerate() == RATE, path
        return numpy.frombuffer(source.readframes(source.getnframes()), dtype="<i2").astype(float)


def ulaw_round_trip(samples):
    """ITU-T G.711 u-law encode then decode (G.191 arithmetic), independent
    of the firmware: what a listener hears of `samples` over PCMU."""
    x = numpy.asarray(samples, dtype=numpy.int32)
    magnitude = numpy.where(x >= 0, x, ~x) >> 2
    magnitude = numpy.minimum(magnitude + 33, 8191)
    exponent = numpy.floor(numpy.log2(magnitude)).astype(numpy.int32) - 5
    exponent = numpy.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    step = 4 << (exponent + 1)
    decoded = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return numpy.where(x >= 0, decoded, -decoded).astype(float)


def best_match(recorded, reference):
    """(peak, lag): the normalised cross-correlation peak of `reference`
    against every window of `recorded`, and the sample offset of the best
    window (reference starts `lag` samples into recorded)."""
    recorded = numpy.asarray(recorded, dtype=float)
    reference = numpy.asarray(reference, dtype=float)
    windows = len(recorded) - len(reference) + 1
    assert windows > 0, "recording (%d) shorter than reference (%d)" % (
        len(recorded),
        len(reference),
    )
    size = 1 << int(numpy.ceil(numpy.log2(len(recorded) + len(reference))))
    spectrum = numpy.fft.rfft(recorded, size) * numpy.conj(numpy.fft.rfft(reference, size))
    products = numpy.fft.irfft(spectrum, size)[:windows]
    energy = numpy.concatenate(([0.0], numpy.cumsum(recorded**2)))
    window_norm = numpy.sqrt(numpy.maximum(energy[len(reference) :] - energy[:windows], 1e-9))
    scores = products / (window_norm * numpy.linalg.norm(reference))
    lag = int(numpy.argmax(scores))
    return float(scores[lag]), lag


def block_matches(heard, source, block=800, min_rms=300.0):
    """For each loud `block`-sample piece of `heard`: (peak, delay) of its
    best match in `source`, delay = where it is in heard minus where it is
    in source (samples). Shows drops and slips a one-window peak hides."""
    found = []
    for start in range(0, len(heard) - block + 1, block):
        piece = heard[start : start + block]
        if numpy.sqrt(numpy.mean(piece**2)) < min_rms:
            continue
        peak, position = best_match(source, piece)
        found.append((peak, start - position))
    return found


# ---------------------------------------------------------------- Kamailio


class BuildingProxy(Kamailio):
    """Kamailio with deploy/kamailio/building.cfg; users {name: (password,
    role)} go into a generated users file, the port and paths by --substdef."""

    def __init__(self, rundir, users):
        super().__init__(pathlib.Path(rundir), BUILDING_CONFIG, {}, memory_mb=32)
        self.users = dict(users)

    def write_users(self):
        lines = ["event_route[htable:mod-init] {"]
        for name, (password, role) in self.users.items():
            lines.append('    $sht(users=>%s) = "%s";' % (name, password))
            lines.append('    $sht(roles=>%s) = "%s";' % (name, role))
        lines.append("}")
        path = self.rundir / "users.cfg"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self):
        self.substitutions["USERS_FILE"] = self.write_users()
        return super().start()

    def wait_registered(self, users, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bound = self.bindings()
            if all(bound.get(user) for user in users):
                return bound
            time.sleep(0.1)
        raise AssertionError("not all of %r registered: %r\n%s" % (users, bound, self.log()))

    def log(self):
        return self.log_path.read_text("utf-8", "replace")[-6000:]

    def log_lines(self):
        """The config's own "building:" decisions, in order."""
        text = self.log_path.read_text("utf-8", "replace")
        return [
            line.split("building: ", 1)[1] for line in text.splitlines() if "building: " in line
        ]


# ---------------------------------------------------------------- baresip


class Baresip:
    """A headless baresip: config folder of its own, answers automatically,
    plays `source_wav` (long: baresip hangs up when it ends), records each
    call's audio with the sndfile module (…-dec.wav: what it received,
    …-enc.wav: what it sent) and takes commands on ctrl_tcp."""

    def __init__(self, folder, user, password, proxy_port, source_wav):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.port = free_sip_port()
        self.control_port = free_tcp_port()
        self.recordings = self.folder / "recordings"
        self.recordings.mkdir(exist_ok=True)
        self.output_path = self.folder / "baresip.log"
        # No player: the sndfile filter records the decoded stream on the
        # receive path; a never-blocking alsa,null player would burn a core.
        config = [
            "sip_listen 127.0.0.1:%d" % self.port,
            "net_interface 127.0.0.1",
            "dns_server 127.0.0.1:53",
            "audio_source aufile,%s" % source_wav,
            "audio_player none,none",
            "audio_alert none,none",
            "module_path /usr/lib/baresip/modules",
            "module g711.so",
            "module aufile.so",
            "module sndfile.so",
            "module menu.so",
            "module ctrl_tcp.so",
            "module account.so",
            "ctrl_tcp_listen 127.0.0.1:%d" % self.control_port,
            "snd_path %s" % self.recordings,
        ]
        (self.folder / "config").write_text("\n".join(config) + "\n")
        account = (
            '<sip:%s@127.0.0.1>;auth_pass=%s;answermode=auto;regint=600;outbound="sip:127.0.0.1:%d"'
        )
        (self.folder / "accounts").write_text(account % (user, password, proxy_port) + "\n")
        self.process = None
        self.control = None
        self.received = b""
        self.events = []

    def start(self):
        ensure_installed(["baresip"], "baresip-core")
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.folder)],
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("baresip exited:\n" + self.output())
            try:
                self.control = socket.create_connection(("127.0.0.1", self.control_port), 1)
                self.control.settimeout(0.2)
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("baresip control port never opened:\n" + self.output())

    def output(self):
        return self.output_path.read_text("utf-8", "replace")[-4000:]

    def command(self, name, params=""):
        """Send one ctrl_tcp command (netstring-framed JSON)."""
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.control.sendall(b"%d:%s," % (len(body), body))

    def _pump(self):
        try:
            data = self.control.recv(65536)
        except TimeoutError:
            return
        self.received += data
        while b":" in self.received:
            length, _, rest = self.received.partition(b":")
            if not length.isdigit() or len(rest) < int(length) + 1:
                return
            body, self.received = rest[: int(length)], rest[int(length) + 1 :]
            self.events.append(json.loads(body))

    def wait_event(self, kind, timeout=10.0):
        """The first ctrl_tcp event of type `kind` (e.g. CALL_ESTABLISHED)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("type") == kind:
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(
                    "baresip: no %s; saw %r\n%s" % (kind, self.events, self.output())
                )
            self._pump()

    def recording(self, direction):
        """The samples of the one call recording, "dec" (heard) or "enc" (sent)."""
        found = sorted(self.recordings.glob("*-%s.wav" % direction))
        assert len(found) == 1, (found, self.output())
        return read_wav(found[0])

    def cpu_seconds(self):
        """User + system CPU time baresip used so far (from /proc)."""
        fields = pathlib.Path("/proc/%d/stat" % self.process.pid).read_text().rsplit(")", 1)[1]
        values = fields.split()
        return (int(values[11]) + int(values[12])) / 100.0

    def stop(self):
        if self.control is not None:
            self.control.close()
        stop_process(self.process)


# ---------------------------------------------------------------- doors


def start_door(folder, name, user, password, proxy_port, targets, **extra):
    """A sim door registered with the proxy as `user`; returns the Door."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sections = {
        "device": {"name": name, "board": "sim"},
        "sip": {
            "server": "127.0.0.1:%d" % proxy_port,
            "user": user,
            "password": password,
            "local_port": free_port(),
        },
        "call": {"targets": list(targets), "ring_timeout": 10},
        "door": {"code": DOOR_CODE, "state_file": "state.json"},
        "audio": {"input": "silence", "output": "file:heard.wav"},
    }
    for section, table in extra.items():
        sections.setdefault(section, {}).update(table)
    write_toml(folder / "door.toml", sections)
    door = Door(folder, "door.toml")
    door.wait_for("registered", timeout=10)
    return door


def start_peer_door(folder, targets, **extra):
    """A peer-to-peer sim door (no server) calling `targets` (SIP URIs)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sections = {
        "device": {"name": "Door", "board": "sim"},
        "sip": {"user": "door", "local_port": free_port()},
        "call": {"targets": list(targets), "ring_timeout": 10},
        "door": {"code": DOOR_CODE, "state_file": "state.json"},
        "audio": {"input": "silence", "output": "file:heard.wav", "rtp_port": free_port()},
    }
    for section, table in extra.items():
        sections.setdefault(section, {}).update(table)
    write_toml(folder / "door.toml", sections)
    door = Door(folder, "door.toml")
    door.wait_for("started", timeout=10)
    door.rtp_port = sections["audio"]["rtp_port"]
    return door


def scenario_copy(folder, name, **placeholders):
    """scenarios/name with each placeholder replaced, written into folder."""
    text = (HERE / "scenarios" / name).read_text()
    for key, value in placeholders.items():
        text = text.replace(key, str(value))
    path = pathlib.Path(folder) / name
    path.write_text(text)
    return path
