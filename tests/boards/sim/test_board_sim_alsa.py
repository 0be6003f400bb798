# The sim board on ALSA PCMs (pyalsaaudio over libasound's user-space `file`
# plugin, no sound card): the door's mic reads a raw file through ALSA, its
# speaker writes one, and the flat hears the visitor.

import os
import time

import numpy
import pytest
from support.alsa import write_alsa_config
from support.audio import RATE, dominant_frequency, loud_frames, read_wav
from support.config import sim_sections
from support.door import start_door

alsaaudio = pytest.importorskip("alsaaudio")

VISITOR_HZ = 500


def test_a_sim_door_on_alsa_pcms_talks_to_a_flat(tmp_path, monkeypatch, owned):
    times = numpy.arange(3 * RATE) / RATE
    voice = (9000 * numpy.sin(2 * numpy.pi * VISITOR_HZ * times)).astype("<i2")
    (tmp_path / "mic.raw").write_bytes(voice.tobytes())
    alsa_env, _ = write_alsa_config(tmp_path, tmp_path / "mic.raw")
    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_env["ALSA_CONFIG_PATH"])
    flat = start_door(
        owned,
        tmp_path,
        sim_sections("Flat", "flatx", ["sip:x@127.0.0.1"], ["sip:doora@127.0.0.1"], "tone"),
        name="flat",
    )
    flat_target = "sip:flatx@127.0.0.1:%d" % flat.sip_port
    door_sections = sim_sections("Door", "doora", [flat_target], audio_input="door_mic")
    door_sections["audio"]["output"] = "door_speaker"
    door = start_door(owned, tmp_path, door_sections)
    door.send("press")
    door.wait_for("answered", target=flat_target)
    time.sleep(1.5)
    door.send("hangup")
    flat.wait_for("call_ended")
    for each in (door, flat):
        each.send("quit")
        assert each.wait() == 0, each.stderr()
    heard = loud_frames(read_wav(tmp_path / "flatx_heard.wav"))
    assert len(heard) >= 40
    assert abs(dominant_frequency(heard) - VISITOR_HZ) < 15
    speaker = numpy.frombuffer((tmp_path / "speaker.raw").read_bytes(), dtype="<i2")
    assert len(loud_frames(speaker.astype(float))) >= 40  # the flat's tone reached ALSA
    assert os.path.getsize(tmp_path / "speaker.raw") % 2 == 0
