# The rig of tests/faults and tests/attacks: a sim door process (the Door of
# tests/board_sim, imported), a flat phone built on our core (FlatPhone of
# host_tools/sim) running its own Loop in a thread, optionally reached only
# through host_tools/netem_relay (its Contact, Via and SDP name the relay's
# ports, and it sends its RTP to the relay), plus audio and timing measures.
# Every process, thread and socket is stopped in close() / the fixtures.

import os
import pathlib
import queue
import socket
import sys
import threading
import time
import wave

import numpy

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent
for folder in (TESTS / "board_sim", TESTS / "sip_interop"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from board_sim_door import Door, toml_value  # noqa: E402
from boards.runtime.loop import Loop  # noqa: E402
from intercom.sip.agent import Agent  # noqa: E402
from intercom.sip.agent_settings import AgentSettings  # noqa: E402

from host_tools.netem_relay import Relay  # noqa: E402
from host_tools.sim.flat_phone import FlatPhone  # noqa: E402

RATE = 8000
FRAME = 160  # samples per 20 ms


def free_rtp_pair(host="127.0.0.1"):
    """An even port P with P and P+1 free on host (RTP + RTCP)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        if port % 2 or port > 65530:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
                first.bind((host, port))
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                    second.bind((host, port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free RTP port pair")


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def write_config(path, sections):
    lines = []
    for section, table in sections.items():
        lines.append("[%s]" % section)
        for key, value in table.items():
            lines.append("%s = %s" % (key, toml_value(value)))
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def door_sections(sip_port, rtp_port, targets, **extra):
    """A sim door: peer-to-peer unless extra gives [sip] server settings."""
    sections = {
        "device": {"name": "Door F", "board": "sim"},
        "sip": {"user": "door", "local_port": sip_port},
        "call": {"targets": list(targets), "ring_timeout": 10},
        "audio": {
            "input": "file:visitor.wav",
            "output": "file:door_heard.wav",
            "rtp_port": rtp_port,
        },
        "door": {"state_file": "door_state.json"},
    }
    for section, table in extra.items():
        sections.setdefault(section, {}).update(table)
    return sections


def start_door(folder, sections, extra_args=()):
    write_config(folder / "door.toml", sections)
    door = Door(folder, "door.toml", extra_args=extra_args)
    door.wait_for("started", timeout=20)
    return door


def speech_like(seconds, seed=11):
    """Deterministic speech-like PCM: gliding harmonics in 200 ms syllables."""
    count = int(seconds * RATE)
    times = numpy.arange(count) / RATE
    rng = numpy.random.default_rng(seed)
    syllable = 1600
    pitch = numpy.repeat(rng.uniform(140, 260, count // syllable + 1), syllable)[:count]
    glide = 1 + 0.15 * numpy.sin(2 * numpy.pi * 1.3 * times)
    phase = 2 * numpy.pi * numpy.cumsum(pitch * glide) / RATE
    signal = sum(numpy.sin(k * phase) / k for k in range(1, 8))
    envelope = numpy.sin(numpy.pi * (numpy.arange(count) % syllable) / syllable) ** 0.5
    return (6000 * signal * envelope).astype("<i2")


def write_wav(path, samples):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(numpy.asarray(samples, dtype="<i2").tobytes())


def read_wav(path):
    with wave.open(str(path), "rb") as source:
        return numpy.frombuffer(source.readframes(source.getnframes()), dtype="<i2").astype(float)


def align(reference, heard):
    """The lag (samples) at which reference best matches inside heard."""
    size = 1 << int(numpy.ceil(numpy.log2(len(reference) + len(heard))))
    spectrum = numpy.fft.rfft(heard, size) * numpy.conj(numpy.fft.rfft(reference, size))
    correlation = numpy.fft.irfft(spectrum, size)[: len(heard)]
    return int(numpy.argmax(correlation))


def piece_similarity(reference, heard, piece_s=0.5, search_ms=300):
    """Normalised cross-correlation of each piece_s piece of reference with
    heard at the piece's own best lag, searched +-search_ms around the
    global alignment (the jitter buffer grows and shrinks its delay during
    the call, so one lag does not fit the whole call)."""
    lag = align(reference, heard)
    piece = int(piece_s * RATE)
    search = search_ms * RATE // 1000
    scores = []
    for start in range(0, len(reference) - piece + 1, piece):
        wanted = reference[start : start + piece]
        low = max(0, lag + start - search)
        high = min(len(heard), lag + start + piece + search)
        window = heard[low:high]
        if len(window) < piece or not wanted.any():
            scores.append(0.0)
            continue
        products = numpy.correlate(window, wanted, mode="valid")
        energy = numpy.concatenate(([0.0], numpy.cumsum(window**2)))
        window_energy = energy[piece:] - energy[:-piece]
        norms = numpy.sqrt(numpy.maximum(window_energy, 1e-9) * (wanted**2).sum())
        scores.append(float((products / norms).max()))
    return lag, scores


class _Capture:
    """FlatPhone's capture: keeps the arrival times of RTP at the flat."""

    def __init__(self):
        self.rtp_port = None
        self.rtp_arrivals = []

    def add(self, time_s, source, destination, payload):
        if destination[1] == self.rtp_port and len(payload) > 12:
            self.rtp_arrivals.append(time_s)


class RelayedFlatPhone(FlatPhone):
    """A FlatPhone that names other ports in its Contact/Via and SDP and sends
    its RTP to another port: the relay's, so all traffic passes through it."""

    def __init__(self, loop, capture, on_event, sip_port=None, rtp_port=None, **options):
        super().__init__(loop, capture, on_event, **options)
        self.advertised_rtp = rtp_port
        self.media_port = None  # where our RTP goes instead of the SDP's port
        if sip_port is not None:
            settings = AgentSettings(
                self.user,
                self.host,
                sip_port,
                trusted=options.get("trusted", ("127.0.0.1",)),
                user_agent="intercom-faults-flat",
            )
            self.agent = Agent(settings, os.urandom)

    def answer(self):
        if self._pending_call is None or self.advertised_rtp is None:
            return super().answer()
        call_id, media = self._pending_call
        self._pending_call = None
        now_ms = self.loop.clock.now_ms()
        self.agent.answer(call_id, self.advertised_rtp, now_ms)
        self.call_id = call_id
        self._start_media(media, now_ms)
        self._pump(now_ms)
        return True

    def _start_media(self, media, now_ms):
        if self.media_port is not None:
            media = dict(media, remote_port=self.media_port)
        super()._start_media(media, now_ms)


class Flat:
    """A flat phone in its own thread; commands run inside its loop."""

    def __init__(self, sip_port=None, rtp_port=None, media_port=None, **options):
        self.loop = Loop()
        self.capture = _Capture()
        self.events = []
        self.phone = RelayedFlatPhone(
            self.loop, self.capture, self._on_event, sip_port, rtp_port, **options
        )
        self.phone.media_port = media_port
        self.capture.rtp_port = self.phone.rtp.local_address[1]
        self._commands = queue.Queue()
        self._stopping = False
        self.loop.call_every(10, self._run_commands)
        self._thread = threading.Thread(target=self._run, name="flat", daemon=True)
        self._thread.start()

    @property
    def sip_address(self):
        return self.phone.sip.local_address

    @property
    def rtp_address(self):
        return self.phone.rtp.local_address

    def _on_event(self, wall_s, event):
        self.events.append(event)

    def _run(self):
        while not self._stopping:
            self.loop.run_once()

    def _run_commands(self):
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def do(self, command):
        """Run command() inside the flat's loop thread."""
        self._commands.put(command)

    def wait_for(self, name, timeout=10.0, after=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event["event"] == name:
                    return event
            time.sleep(0.02)
        names = [event["event"] for event in self.events]
        raise AssertionError("flat: no %s within %.1f s; saw %r" % (name, timeout, names))

    def names(self):
        return [event["event"] for event in self.events]

    def close(self):
        if self._stopping:
            return
        self._stopping = True
        self._thread.join(timeout=5)
        self.phone.close()


def rtp_gaps_ms(arrivals):
    return numpy.diff(numpy.asarray(arrivals)) * 1000.0


def peak_rss_kb(pid):
    """VmHWM of a live process, in kB."""
    for line in pathlib.Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM for pid %d" % pid)


def wait_new(door, name, mark, timeout=10.0, **fields):
    """The first event `name` (with fields) among door.seen[mark:], waiting for it."""
    deadline = time.monotonic() + timeout
    while True:
        for event in door.seen[mark:]:
            if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                return event
        left = deadline - time.monotonic()
        if left <= 0 or door.ended:
            raise AssertionError(
                "door: no new %s %r within %.1f s; saw %r; stderr: %s"
                % (name, fields, timeout, door.names()[mark:], door.stderr()[-3000:])
            )
        try:
            door._take(min(left, 0.2))
        except queue.Empty:
            pass


class Started:
    """What a test started, stopped in reverse order by the `rig` fixtures
    of tests/faults and tests/attacks (by PID or close)."""

    def __init__(self):
        self.items = []

    def door(self, door):
        self.items.append(("door", door))
        return door

    def flat(self, **options):
        flat = Flat(**options)
        self.items.append(("flat", flat))
        return flat

    def relay(self, seed, impairment=None):
        relay = Relay(seed, impairment)
        self.items.append(("relay", relay))
        return relay

    def peer(self, peer):
        """Anything with stop(): Kamailio, Sipp."""
        self.items.append(("peer", peer))
        return peer

    def close(self):
        for kind, item in reversed(self.items):
            if kind == "door":
                item.kill()
            elif kind == "flat":
                item.close()
            else:
                item.stop()
