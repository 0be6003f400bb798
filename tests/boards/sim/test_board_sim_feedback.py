# What the visitor hears and leaves, on whole sim doors (real processes on
# 127.0.0.1, real WAV files): when the flat refuses, the owner's prompt
# reaches the door's speaker file sample for sample, and the visitor's
# voice (the door's file: mic) becomes a message WAV announced by
# message_recorded, on CPython and on the MicroPython unix port; when a
# resident calls in to listen, the notice beeps on the door's speaker from
# the call's first frame and then every call.notice_interval, to the
# sample.

import time

import numpy
import pytest
from intercom.media import tones
from support.audio import RATE, read_wav, syllable_tone, write_wav
from support.config import sim_sections
from support.door import start_door
from support.paths import MICROPYTHON

NOTICE_S = 2


def write_prompt(path, seconds=0.7):
    """A rising sweep (300 to 2400 Hz) nobody would mistake for anything else."""
    count = int(seconds * RATE)
    times = numpy.arange(count) / RATE
    sweep = 300 * times + (2100 / (2 * seconds)) * times**2
    samples = (12000 * numpy.sin(2 * numpy.pi * sweep)).astype("<i2")
    write_wav(path, samples)
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


def refusing_pair(owned, folder, micropython):
    write_wav(folder / "visitor.wav", syllable_tone(seconds=3.0))
    prompt = write_prompt(folder / "nobody_home.wav")
    # answer_from empty: the flat refuses with 403
    flat_sections = sim_sections("Flat X", "flatx", ["sip:doora@127.0.0.1"])
    flat = start_door(owned, folder, flat_sections, name="flat")
    sections = sim_sections(
        "Door A",
        "doora",
        ["sip:flatx@127.0.0.1:%d" % flat.sip_port],
        audio_input="file:visitor.wav",
        voicemail={
            "prompt": "nobody_home.wav",
            "record": True,
            "max_seconds": 5,
            "folder": "messages",
        },
    )
    door = start_door(owned, folder, sections, micropython=micropython)
    return door, flat, prompt


@pytest.mark.parametrize(
    "micropython",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(
                not MICROPYTHON.exists(), reason="the MicroPython unix port is not installed"
            ),
        ),
    ],
)
def test_nobody_answers_the_prompt_plays_and_the_visitor_leaves_a_message(
    tmp_path, owned, micropython
):
    door, flat, prompt = refusing_pair(owned, tmp_path, micropython)
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


def test_a_resident_listening_in_hears_the_door_beep_every_interval(tmp_path, owned):
    door_sections = sim_sections(
        "Door A",
        "doora",
        ["sip:flatx@127.0.0.1"],
        answer_from=["sip:flatx@127.0.0.1"],
        call={"notice_interval": NOTICE_S},
    )
    door = start_door(owned, tmp_path, door_sections)
    flat_sections = sim_sections("Flat X", "flatx", ["sip:doora@127.0.0.1:%d" % door.sip_port])
    flat = start_door(owned, tmp_path, flat_sections, name="flat")
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
