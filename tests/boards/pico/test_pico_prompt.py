"""The Pico W board's voicemail prompt under the MicroPython unix port
(stand-in machine/network): the flat (SIPp) is busy, the door's call ends
refused 486, and the default prompt, which the board reads from its
filesystem as make flash wrote it, reaches the I2S amplifier sample for
sample."""

import pathlib
import subprocess
import sys
import time

import numpy
from boards.audio.messages import DEFAULT_PROMPT, default_prompt_folder
from intercom.media.wav import WavReader
from pico_door import BUTTON, ROOT, control, start_door, write_config

from host_tools.flash.pico import PICO_PROMPT_FOLDER

sys.path.insert(0, str(ROOT / "tests" / "fakes"))

from flat_peer import SIPP, EventReader, find, free_udp_port  # noqa: E402

BUSY_SCENARIO = ROOT / "tests" / "interop" / "scenarios" / "flat_busy.xml"
PROMPT_TIMEOUT_S = 30.0


def wav_samples(path):
    data = pathlib.Path(path).read_bytes()
    return numpy.frombuffer(data[44:], dtype="<i2")  # the plain header make flash writes


def test_a_busy_flat_sets_off_the_prompt_on_the_amplifier(tmp_path):
    flat_port = free_udp_port()
    write_config(tmp_path, free_udp_port(), flat_port)
    (tmp_path / "mic.raw").write_bytes(bytes(3200))
    sipp = subprocess.Popen(
        [SIPP, "-sf", str(BUSY_SCENARIO), "-i", "127.0.0.1", "-p", str(flat_port)]
        + ["-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    door = start_door(tmp_path, "640k")
    try:
        events = EventReader(door.stdout)
        events.wait_for("started", timeout=30)
        control(tmp_path, "bounce %d pressed 5\n" % BUTTON)
        ended = events.wait_for("call_ended", timeout=20)
        control(tmp_path, "release %d\n" % BUTTON)
        assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("refused", "busy", 486)
        prompt = wav_samples(tmp_path / PICO_PROMPT_FOLDER / DEFAULT_PROMPT)
        amp = tmp_path / "amp.raw"
        deadline = time.monotonic() + PROMPT_TIMEOUT_S
        start = -1
        while time.monotonic() < deadline:  # until the prompt's end has been played
            played = numpy.frombuffer(amp.read_bytes(), dtype="<i2")
            start = find(played, prompt[:160])
            if start >= 0 and len(played) >= start + len(prompt):
                break
            time.sleep(0.2)
        assert start >= 0, "the prompt never reached the amplifier"
        assert numpy.array_equal(played[start : start + len(prompt)], prompt)
        assert sipp.wait(timeout=20) == 0
        control(tmp_path, "interrupt\n")  # Ctrl-C: the runtime stops
        assert door.wait(timeout=15) == 0
    finally:
        for process in (door, sipp):
            if process.poll() is None:
                process.kill()
                process.wait()
    names = events.names()
    assert "error" not in names, names  # the prompt was there to play
    # What the board played is the default prompt, PCM for PCM.
    with open(pathlib.Path(default_prompt_folder()) / DEFAULT_PROMPT, "rb") as stream:
        reader = WavReader(stream, "default prompt")
        pcm = bytearray(reader.data_bytes)
        assert reader.read_into(pcm) == len(pcm)
    assert numpy.array_equal(numpy.frombuffer(bytes(pcm), dtype="<i2"), prompt)
    assert len(prompt) > 8000  # over a second of speech
