"""The Pico W board's voicemail prompt under the MicroPython unix port
(stand-in machine/network): the flat (SIPp) is busy, the door's call ends
refused 486, and the default prompt, which the board reads from its
filesystem as make flash wrote it, reaches the I2S amplifier sample for
sample."""

import pathlib

import numpy
import pytest
from boards.audio.messages import DEFAULT_PROMPT, default_prompt_folder
from intercom.media.wav import WavReader
from support.audio import find
from support.pico import BUTTON, control, start_pico_door, write_pico_config
from support.sipp import Sipp
from support.wait import wait_until

from host_tools.flash.pico import PICO_PROMPT_FOLDER

pytestmark = pytest.mark.integration  # SIPp is the flat

PROMPT_TIMEOUT_S = 30.0


def wav_samples(path):
    data = pathlib.Path(path).read_bytes()
    return numpy.frombuffer(data[44:], dtype="<i2")  # the plain header make flash writes


def played_prompt(amp, prompt):
    """(the amplifier's samples from the prompt's start on,) once the whole
    prompt has been played; None before."""
    played = numpy.frombuffer(amp.read_bytes(), dtype="<i2")
    start = find(played, prompt[:160])
    if start < 0 or len(played) < start + len(prompt):
        return None
    return (played[start : start + len(prompt)],)


def test_a_busy_flat_sets_off_the_prompt_on_the_amplifier(tmp_path, owned):
    flat = owned(Sipp(tmp_path, "flat", "flat_busy.xml")).start()
    write_pico_config(tmp_path, flat.port)
    (tmp_path / "mic.raw").write_bytes(bytes(3200))
    door = start_pico_door(owned, tmp_path, "640k")
    control(tmp_path, "bounce %d pressed 5\n" % BUTTON)
    ended = door.wait_for("call_ended", timeout=20)
    control(tmp_path, "release %d\n" % BUTTON)
    assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("refused", "busy", 486)
    prompt = wav_samples(tmp_path / PICO_PROMPT_FOLDER / DEFAULT_PROMPT)
    (played,) = wait_until(
        lambda: played_prompt(tmp_path / "amp.raw", prompt),
        PROMPT_TIMEOUT_S,
        "the whole prompt on the amplifier",
    )
    assert numpy.array_equal(played, prompt)
    assert flat.wait() == 0, flat.report()
    control(tmp_path, "interrupt\n")  # Ctrl-C: the runtime stops
    assert door.wait(timeout=15) == 0
    assert "error" not in door.names(), door.seen  # the prompt was there to play
    # What the board played is the default prompt, PCM for PCM.
    with open(pathlib.Path(default_prompt_folder()) / DEFAULT_PROMPT, "rb") as stream:
        reader = WavReader(stream, "default prompt")
        pcm = bytearray(reader.data_bytes)
        assert reader.read_into(pcm) == len(pcm)
    assert numpy.array_equal(numpy.frombuffer(bytes(pcm), dtype="<i2"), prompt)
    assert len(prompt) > 8000  # over a second of speech
