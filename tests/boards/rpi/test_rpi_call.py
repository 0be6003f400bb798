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

import numpy
import pytest
from intercom.media import g711
from support.alsa import write_alsa_config
from support.audio import find, ulaw_expand
from support.config import door_sections
from support.door import start_door
from support.flat_peer import FlatMedia, start_flat
from support.paths import FAKE_GPIO_PATH

BUTTON = 17
RELAY = 27
TALK_MS = 4000


@pytest.mark.integration  # SIPp is the flat
def test_the_rpi_door_calls_a_sipp_flat_and_audio_flows_both_ways(tmp_path, owned):
    rng = numpy.random.default_rng(2026)
    mic = rng.integers(-9000, 9000, size=8000 * 20).astype(numpy.int16)
    mic_raw = tmp_path / "mic.raw"
    mic_raw.write_bytes(mic.astype("<i2").tobytes())
    stream = rng.integers(0, 256, size=8000 * 3).astype(numpy.uint8)
    env_extra, speaker = write_alsa_config(tmp_path, mic_raw)

    control = tmp_path / "gpio-control"
    os.mkfifo(control)
    gpio_log = tmp_path / "gpio.log"

    recorder = owned(FlatMedia(stream.tobytes()))
    flat = start_flat(owned, tmp_path, recorder, TALK_MS)
    # echo control off: this call checks the transport sample by sample (the
    # canceller, on by default, reshapes the mic: tests/boards/rpi/test_rpi_echo.py)
    audio = {"codecs": ["PCMU"], "input": "door_mic", "output": "door_speaker", "echo": "off"}
    sections = door_sections(
        ["sip:flat@127.0.0.1:%d" % flat.port],
        "Pi door",
        board="rpi",
        audio=audio,
        gpio={"button": BUTTON, "relay": RELAY},
    )
    env = {**env_extra, "FAKE_RPI_GPIO_CONTROL": str(control), "FAKE_RPI_GPIO_LOG": str(gpio_log)}
    args = ["--board", "rpi", "--exit-after-call"]
    door = start_door(
        owned, tmp_path, sections, args=args, env=env, python_path=[FAKE_GPIO_PATH], stdin=False
    )
    with open(control, "w") as commands:
        commands.write("bounce %d pressed 5 1\nsleep 300\nrelease %d\n" % (BUTTON, BUTTON))
    door.wait_for("call_started")
    door.wait_for("answered")
    door.wait_for("call_ended", timeout=TALK_MS / 1000 + 10)
    assert flat.wait(timeout_s=20) == 0, flat.report()
    assert door.wait(timeout=10) == 0
    recorder.stop()
    stderr = door.stderr()

    names = door.names()
    for name in ("started", "button", "call_started", "answered", "call_ended"):
        assert name in names, (names, stderr)
    presses = [e for e in door.seen if e["event"] == "button"]
    assert [e["state"] for e in presses] == ["pressed", "released"]  # the chatter was one press
    ended = [e for e in door.seen if e["event"] == "call_ended"]
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
