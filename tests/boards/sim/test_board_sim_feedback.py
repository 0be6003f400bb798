# What the visitor hears and leaves, on whole sim doors (real processes on
# 127.0.0.1, real WAV files): when the flat refuses, the owner's prompt
# reaches the door's speaker file sample for sample, and the visitor's
# voice (the door's file: mic) becomes a message WAV announced by
# message_recorded, on CPython and on the MicroPython unix port; when a
# resident calls in to listen, the notice beeps on the door's speaker from
# the call's first frame and then every call.notice_interval, to the
# sample.

import time
import wave

import numpy
import pytest
from board_sim_door import (
    MICROPYTHON,
    Door,
    door_config,
    free_port,
    read_wav,
    start_micropython_door,
    write_toml,
    write_visitor_wav,
)
from intercom.media import tones

RATE = 8000
NOTICE_S = 2


@pytest.fixture
def doors():
    started = []
    yield started
    for door in started:
        door.kill()


def write_prompt(path, seconds=0.7):
    """A rising sweep (300 to 2400 Hz) nobody would mistake for anything else."""
    count = int(seconds * RATE)
    times = numpy.arange(count) / RATE
    sweep = 300 * times + (2100 / (2 * seconds)) * times**2
    samples = (12000 * numpy.sin(2 * numpy.pi * sweep)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return samples.astype(float)


def occurrences(haystack, needle):
    """Every index where needle lies whole in haystack (anchored on its
    first non-zero sample, so silence around it costs nothing)."""
    anchor = int(numpy.flatnonzero(needle)[0])
    found = []
    for index in numpy.flatnonzero(haystack == needle[anchor]):
        start = int(index) - anchor
        if start >= 0 and numpy.array_equal(haystack[start : start + len(needle)], needle):
            found.append(start)
    return found


def refusing_pair(folder, doors, micropython):
    door_port, flat_port = free_port(), free_port()
    write_visitor_wav(folder / "visitor.wav", seconds=3.0)
    prompt = write_prompt(folder / "nobody_home.wav")
    flat = door_config("Flat X", "flatx", flat_port, ["sip:doora@127.0.0.1:%d" % door_port])
    write_toml(folder / "flat.toml", flat)  # answer_from empty: it refuses with 403
    flat_door = Door(folder, "flat.toml")
    doors.append(flat_door)
    flat_door.wait_for("started")
    sections = door_config(
        "Door A",
        "doora",
        door_port,
        ["sip:flatx@127.0.0.1:%d" % flat_port],
        audio_input="file:visitor.wav",
        voicemail={
            "prompt": "nobody_home.wav",
            "record": True,
            "max_seconds": 5,
            "folder": "messages",
        },
    )
    if micropython:
        door = start_micropython_door(folder, sections)
    else:
        write_toml(folder / "door.toml", sections)
        door = Door(folder, "door.toml")
    doors.append(door)
    door.wait_for("started", timeout=20)
    return door, flat_door, prompt


@pytest.mark.parametrize(
    "micropython",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(not MICROPYTHON.exists(), reason="no MicroPython unix port"),
        ),
    ],
)
def test_nobody_answers_the_prompt_plays_and_the_visitor_leaves_a_message(
    tmp_path, doors, micropython
):
    door, flat, prompt = refusing_pair(tmp_path, doors, micropython)
    door.send("press")
    door.send("release")
    ended = door.wait_for("call_ended", timeout=15)
    assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("refused", "declined", 403)
    assert ended["media"] is None
    recorded = door.wait_for("message_recorded", timeout=30)
    assert recorded["duration_ms"] == 5000
    door.send("quit")
    assert door.wait() == 0, door.stderr()
    assert "error" not in door.names(), door.seen

    heard = read_wav(tmp_path / "doora_heard.wav")
    starts = occurrences(heard, prompt)
    assert len(starts) == 1, "the prompt is not on the door's speaker once"
    end = starts[0] + len(prompt)
    assert numpy.abs(heard[end : end + 4800]).max() > 5000  # then the beep, within 600 ms

    path = tmp_path / recorded["path"]  # relative to the door's folder, or absolute
    assert path.parent == tmp_path / "messages" and path.name.startswith("message-1-")
    message = read_wav(path)
    visitor = read_wav(tmp_path / "visitor.wav")
    assert len(message) == 5 * RATE
    assert numpy.array_equal(message[: len(visitor)], visitor)  # what the mic heard
    assert not message[len(visitor) :].any()  # then the file ran out: silence


def notice_pattern():
    """The notice's two beeps and the gap between them, as played."""
    buffer = bytearray(2 * 2560)
    tones.listen_notice(NOTICE_S * 1000).read_into(buffer)
    return numpy.frombuffer(bytes(buffer), dtype="<i2").astype(float)


def speaker_so_far(path):
    data = path.read_bytes()[44:]
    return numpy.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(float)


def test_a_resident_listening_in_hears_the_door_beep_every_interval(tmp_path, doors):
    door_port, flat_port = free_port(), free_port()
    door_sections = door_config(
        "Door A",
        "doora",
        door_port,
        ["sip:flatx@127.0.0.1:%d" % flat_port],
        answer_from=["sip:flatx@127.0.0.1"],
    )
    door_sections["call"]["notice_interval"] = NOTICE_S
    write_toml(tmp_path / "door.toml", door_sections)
    door = Door(tmp_path, "door.toml")
    doors.append(door)
    flat_sections = door_config(
        "Flat X", "flatx", flat_port, ["sip:doora@127.0.0.1:%d" % door_port]
    )
    write_toml(tmp_path / "flat.toml", flat_sections)
    flat = Door(tmp_path, "flat.toml")
    doors.append(flat)
    door.wait_for("started")
    flat.wait_for("started")
    flat.send("press")
    flat.send("release")
    assert door.wait_for("incoming_call")["accepted"] is True
    flat.wait_for("answered")
    # Wait (on the speaker file, which grows a frame at a time) for the
    # fourth notice.
    heard_path = tmp_path / "doora_heard.wav"
    pattern = notice_pattern()
    deadline = time.monotonic() + 60
    while len(occurrences(speaker_so_far(heard_path), pattern)) < 4:
        assert time.monotonic() < deadline, "fewer than four notices in 60 s"
        time.sleep(0.2)
    flat.send("hangup")
    assert door.wait_for("call_ended")["reason"] == "remote_hangup"
    door.send("quit")
    flat.send("quit")
    assert door.wait() == 0 and flat.wait() == 0
    heard = read_wav(heard_path)
    starts = occurrences(heard, pattern)
    assert len(starts) >= 4, starts
    assert not heard[: starts[0]].any()  # the first notice is the call's first sound
    assert list(numpy.diff(starts)) == [NOTICE_S * RATE] * (len(starts) - 1)  # to the sample
    assert "error" not in door.names(), door.seen
