# The sim board on ALSA PCMs (pyalsaaudio over libasound's user-space `file`
# plugin, no sound card): the door's mic reads a raw file through ALSA, its
# speaker writes one, and the flat hears the visitor.

import os
import pathlib
import sys
import time

import numpy
import pytest
from board_sim_door import (
    RATE,
    Door,
    dominant_frequency,
    door_config,
    free_port,
    loud_frames,
    read_wav,
    write_toml,
)

alsaaudio = pytest.importorskip("alsaaudio")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "board_rpi"))

from rpi_alsa_files import write_alsa_config  # noqa: E402

VISITOR_HZ = 500


def test_a_sim_door_on_alsa_pcms_talks_to_a_flat(tmp_path, monkeypatch):
    times = numpy.arange(3 * RATE) / RATE
    voice = (9000 * numpy.sin(2 * numpy.pi * VISITOR_HZ * times)).astype("<i2")
    (tmp_path / "mic.raw").write_bytes(voice.tobytes())
    alsa_env, _ = write_alsa_config(tmp_path, tmp_path / "mic.raw")
    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_env["ALSA_CONFIG_PATH"])
    door_port = free_port()
    flat_port = free_port()
    flat_target = "sip:flatx@127.0.0.1:%d" % flat_port
    door_sections = door_config("Door", "doora", door_port, [flat_target], audio_input="door_mic")
    door_sections["audio"]["output"] = "door_speaker"
    write_toml(tmp_path / "door.toml", door_sections)
    write_toml(
        tmp_path / "flat.toml",
        door_config(
            "Flat", "flatx", flat_port, ["sip:x@127.0.0.1"], ["sip:doora@127.0.0.1"], "tone"
        ),
    )
    doors = []
    try:
        flat = Door(tmp_path, "flat.toml")
        doors.append(flat)
        flat.wait_for("started")
        door = Door(tmp_path, "door.toml")
        doors.append(door)
        door.wait_for("started")
        door.send("press")
        door.wait_for("answered", target=flat_target)
        time.sleep(1.5)
        door.send("hangup")
        flat.wait_for("call_ended")
        for each in (door, flat):
            each.send("quit")
            assert each.wait() == 0, each.stderr()
    finally:
        for each in doors:
            each.kill()
    heard = loud_frames(read_wav(tmp_path / "flatx_heard.wav"))
    assert len(heard) >= 40
    assert abs(dominant_frequency(heard) - VISITOR_HZ) < 15
    speaker = numpy.frombuffer((tmp_path / "speaker.raw").read_bytes(), dtype="<i2")
    assert len(loud_frames(speaker.astype(float))) >= 40  # the flat's tone reached ALSA
    assert os.path.getsize(tmp_path / "speaker.raw") % 2 == 0
