"""A whole call on the rpi board: the door runs as its own process with the
fake RPi.GPIO (pressed through its control FIFO) and ALSA's file plugins;
the flat is SIPp as UAS (flat_uas.xml) for the signalling and a test RTP
endpoint (the address SIPp's SDP answer names) that streams a known u-law
file and records what the door sends.

Checked: SIPp's scenario succeeds (exit 0); the door's events; the u-law
the flat sent is, sample-exact after G.711 decoding, in the ALSA speaker
file; the mic file captured through ALSA is, sample-exact after G.711, in
the RTP the door sent; the relay stayed low.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy
from intercom.media import g711
from rpi_alsa_files import write_alsa_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"
sys.path.insert(0, str(FAKES))

from flat_peer import (  # noqa: E402
    EventReader,
    FlatMedia,
    find,
    free_udp_port,
    start_flat,
    ulaw_expand,
    write_door_toml,
)

BUTTON = 17
RELAY = 27
TALK_MS = 4000


def write_door_config(folder, sip_port, flat_port):
    # echo control off: this call checks the transport sample by sample (the
    # canceller, on by default, reshapes the mic: tests/boards/rpi/test_rpi_echo.py)
    audio = ['input = "door_mic"', 'output = "door_speaker"', 'echo = "off"']
    gpio = ["[gpio]", "button = %d" % BUTTON, "relay = %d" % RELAY]
    write_door_toml(folder, "Pi door", "rpi", sip_port, flat_port, audio=audio, extra=gpio)


def test_the_rpi_door_calls_a_sipp_flat_and_audio_flows_both_ways(tmp_path):
    rng = numpy.random.default_rng(2026)
    mic = rng.integers(-9000, 9000, size=8000 * 20).astype(numpy.int16)
    mic_raw = tmp_path / "mic.raw"
    mic_raw.write_bytes(mic.astype("<i2").tobytes())
    stream = rng.integers(0, 256, size=8000 * 3).astype(numpy.uint8)
    env_extra, speaker = write_alsa_config(tmp_path, mic_raw)

    door_port, flat_port = free_udp_port(), free_udp_port()
    media_port = free_udp_port(even=True)
    write_door_config(tmp_path, door_port, flat_port)
    control = tmp_path / "gpio-control"
    os.mkfifo(control)
    gpio_log = tmp_path / "gpio.log"

    recorder = FlatMedia(media_port, stream.tobytes())
    flat = start_flat(tmp_path, flat_port, media_port, TALK_MS)
    door_env = {
        **os.environ,
        **env_extra,
        "PYTHONPATH": "%s:%s" % (FAKES, ROOT / "firmware"),
        "FAKE_RPI_GPIO_CONTROL": str(control),
        "FAKE_RPI_GPIO_LOG": str(gpio_log),
    }
    door_stderr = open(tmp_path / "door.stderr", "wb")
    door = subprocess.Popen(
        [sys.executable, "-m", "intercom", "run", "-c", "door.toml", "--board", "rpi"]
        + ["--log", "json", "--exit-after-call"],
        cwd=tmp_path,
        env=door_env,
        stdout=subprocess.PIPE,
        stderr=door_stderr,
    )
    try:
        events = EventReader(door.stdout)
        events.wait_for("started")
        with open(control, "w") as commands:
            commands.write("bounce %d pressed 5 1\nsleep 300\nrelease %d\n" % (BUTTON, BUTTON))
        events.wait_for("call_started")
        events.wait_for("answered")
        events.wait_for("call_ended", timeout=TALK_MS / 1000 + 10)
        assert flat.wait(timeout=20) == 0, flat.stderr.read().decode()
        assert door.wait(timeout=10) == 0
        events.drain()
    finally:
        for process in (door, flat):
            if process.poll() is None:
                process.kill()
                process.wait()
        door_stderr.close()
        recorder.close()
    stderr = (tmp_path / "door.stderr").read_text()

    names = events.names()
    for name in ("started", "button", "call_started", "answered", "call_ended"):
        assert name in names, (names, stderr)
    presses = [e for e in events.events if e["event"] == "button"]
    assert [e["state"] for e in presses] == ["pressed", "released"]  # the chatter was one press
    ended = [e for e in events.events if e["event"] == "call_ended"]
    assert len(ended) == 1 and ended[0]["duration_ms"] >= TALK_MS - 500, ended

    # flat -> door: what SIPp streamed, decoded, sample-exact in the speaker file
    played = numpy.frombuffer(speaker.read_bytes(), dtype="<i2")
    expected = ulaw_expand(stream)
    second = expected[8000 : 8000 + 160]
    start = find(played, second)
    assert start >= 0, "the flat's audio is not in the speaker file"
    span = 8000  # one second after the first second, exact
    assert numpy.array_equal(played[start : start + span], expected[8000 : 8000 + span])

    # door -> flat: the mic, through ALSA and G.711, in the RTP the door sent
    sent = numpy.frombuffer(recorder.payload(), dtype=numpy.uint8)
    assert len(sent) >= 8000 * 2, "the door sent %d samples" % len(sent)
    heard = ulaw_expand(sent)
    encoded = g711.ulaw_encode(mic.astype("<i2").tobytes())
    reference = ulaw_expand(numpy.frombuffer(encoded, dtype=numpy.uint8))
    chunk = heard[4000 : 4000 + 160]
    offset = find(reference, chunk)
    assert offset >= 0, "the door's RTP does not carry the mic signal"
    assert numpy.array_equal(heard[4000 : 4000 + 8000], reference[offset : offset + 8000])

    # the relay never opened and ended low and released
    relay = [json.loads(line) for line in gpio_log.read_text().splitlines()]
    relay = [entry["level"] for entry in relay if entry["channel"] == RELAY]
    assert relay[0] == 0 and 1 not in relay and relay[-1] is None
