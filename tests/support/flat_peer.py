# The flat phone for whole-call board tests: SIPp as UAS (flat_uas.xml,
# next to this file) does the signalling, FlatMedia is the RTP endpoint its
# SDP answer names, and EventReader follows a door's JSON event lines.

import json
import os
import pathlib
import queue
import shutil
import socket
import struct
import subprocess
import threading
import time

import numpy

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIO = pathlib.Path(__file__).resolve().parent / "flat_uas.xml"


def write_door_toml(folder, name, board, sip_port, flat_port, audio=(), extra=()):
    """folder/door.toml (0600) of a door whose one target is the flat at
    flat_port: PCMU only, door state in door_state.json. `audio` lines go in
    [audio], `extra` lines (whole sections) at the end. Returns its path."""
    toml = folder / "door.toml"
    lines = [
        "[device]",
        'name = "%s"' % name,
        'board = "%s"' % board,
        "[sip]",
        'user = "door"',
        "local_port = %d" % sip_port,
        "[call]",
        'targets = ["sip:flat@127.0.0.1:%d"]' % flat_port,
        "ring_timeout = 10",
        "[audio]",
        'codecs = ["PCMU"]',
        *audio,
        "[door]",
        'state_file = "door_state.json"',
        *extra,
        "",
    ]
    toml.write_text("\n".join(lines))
    toml.chmod(0o600)
    return toml


def free_udp_port(even=False):
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        if not even or (port % 2 == 0 and port < 65530):
            return port


def ulaw_expand(codes):
    """ITU-T G.711 u-law decoding (G.191 expand), independent of the firmware."""
    codes = numpy.asarray(codes, dtype=numpy.int32)
    inverted = ~codes & 0xFF
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return numpy.where(codes < 0x80, -magnitude, magnitude).astype(numpy.int16)


def find(haystack, needle):
    """Index of the first exact occurrence of needle in haystack, or -1."""
    count = len(needle)
    candidates = numpy.flatnonzero(haystack[: len(haystack) - count + 1] == needle[0])
    for index in candidates:
        if numpy.array_equal(haystack[index : index + count], needle):
            return int(index)
    return -1


class FlatMedia:
    """The flat's RTP endpoint: records (seq, payload) of the door's PCMU
    packets and, once the door's first packet shows its address, streams
    `ulaw` back from the same socket, one 20 ms packet per 20 ms."""

    def __init__(self, port, ulaw):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.ulaw = ulaw
        self.packets = []
        self.running = True
        self.door = None
        self.receiver = threading.Thread(target=self._receive, daemon=True)
        self.receiver.start()
        self.sender = threading.Thread(target=self._send, daemon=True)
        self.sender.start()

    def _receive(self):
        while self.running:
            try:
                data, address = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            if len(data) >= 12 and data[0] >> 6 == 2 and data[1] & 0x7F == 0:
                self.door = address
                self.packets.append((struct.unpack("!H", data[2:4])[0], data[12:]))

    def _send(self):
        while self.running and self.door is None:
            time.sleep(0.005)
        start = time.monotonic()
        for index in range(len(self.ulaw) // 160):
            if not self.running:
                return
            delay = start + index * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            header = struct.pack("!BBHII", 0x80, 0, (1000 + index) & 0xFFFF, 160 * index, 0x1234)
            self.sock.sendto(header + self.ulaw[index * 160 : (index + 1) * 160], self.door)

    def close(self):
        self.running = False
        self.receiver.join()
        self.sender.join()
        self.sock.close()

    def payload(self):
        ordered = sorted(self.packets)
        if ordered and ordered[-1][0] - ordered[0][0] > 30000:  # the sequence wrapped
            ordered = sorted(self.packets, key=lambda p: (p[0] + 32768) & 0xFFFF)
        return b"".join(payload for _, payload in ordered)


class EventReader:
    def __init__(self, stream):
        self.queue = queue.Queue()
        self.events = []
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for line in stream:
            self.queue.put(json.loads(line))
        self.queue.put(None)

    def wait_for(self, name, timeout=15.0):
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["event"] == name:
                return event
        while True:
            event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            assert event is not None, "door exited; events: %r" % self.names()
            self.events.append(event)
            if event["event"] == name:
                return event

    def drain(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if event is None:
                return
            self.events.append(event)

    def names(self):
        return [event["event"] for event in self.events]


def start_flat(folder, flat_port, media_port, talk_ms):
    """SIPp answering one call on flat_port, media at media_port, BYE after talk_ms."""
    scenario = SCENARIO.read_text().replace("MEDIA_PORT", str(media_port))
    folder.joinpath("flat_uas.xml").write_text(scenario.replace("TALK_MS", str(talk_ms)))
    return subprocess.Popen(
        [SIPP, "-sf", "flat_uas.xml", "-i", "127.0.0.1", "-p", str(flat_port)]
        + ["-mi", "127.0.0.1", "-m", "1", "-nostdin"]
        + ["-timeout", "40s", "-timeout_error", "-trace_err", "-trace_msg"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
