# baresip as the flat's phone, both registered with the building proxy
# (deploy/kamailio/building.cfg): the sim door calls baresip and baresip
# calls the door. Audio is checked both ways by normalised cross-correlation
# against the other side's source after G.711, and baresip's RFC 4733
# digits (ctrl_tcp sndcode) open the door.

import time

import numpy
import pytest
from support.audio import block_matches, noise_syllables, read_wav, ulaw_round_trip, write_wav
from support.baresip import Baresip, baresip_calls_the_door
from support.door import DOOR_CODE, start_door1_with_visitor
from support.kamailio import BuildingProxy

pytestmark = pytest.mark.integration

PASSWORD = "pw-%d" % 4711
USERS = {"door1": (PASSWORD, "door"), "flat1": (PASSWORD, "flat")}


def start_pair(tmp_path, owned, door_settings):
    proxy = owned(BuildingProxy(tmp_path, USERS)).start()
    flat_source = write_wav(tmp_path / "flat_long.wav", noise_syllables(60, seed=1))
    flat = owned(Baresip(tmp_path / "baresip", "flat1", PASSWORD, proxy.port, flat_source)).start()
    visitor = noise_syllables(3, seed=2)
    door = start_door1_with_visitor(
        owned, tmp_path / "door", visitor, PASSWORD, proxy.port, **door_settings
    )
    proxy.wait_registered(["door1", "flat1"])
    return proxy, flat, door


EARLY_START = 2 * 160  # two 20 ms packets at 8 kHz


def direction(name, heard, source, seconds):
    """At least 70 % of the loud 100 ms blocks of the first `seconds` of
    `heard` are found in `source` (after u-law) with a normalised
    correlation above 0.9 (a block holding a frame the door's adaptive
    jitter buffer dropped or concealed scores lower; on a loaded
    machine it drops several in the first seconds), at a delay below 1 s
    that varies by at most 0.5 s. The delay is counted between the two
    files' starts: the source's at the sender's first frame, the heard
    recording's at the first frame the receiver decoded; a receiver that
    drops the first packet or two while its audio starts (baresip does,
    now and then, when it is called) begins its recording up to
    EARLY_START samples later, which reads as a small negative delay."""
    blocks = block_matches(heard[: int(seconds * 8000)], ulaw_round_trip(source))
    peaks = numpy.array([peak for peak, _ in blocks])
    delays = [delay for peak, delay in blocks if peak > 0.9]
    print(
        "%s: %d blocks, correlation median %.4f min %.4f, %.1f%% above 0.9, delay %d..%d ms"
        % (
            name,
            len(blocks),
            numpy.median(peaks),
            peaks.min(),
            100.0 * len(delays) / len(blocks),
            min(delays) / 8,
            max(delays) / 8,
        )
    )
    assert len(blocks) >= seconds * 10 * 0.6, blocks
    assert len(delays) >= 0.7 * len(blocks), blocks
    assert numpy.median(peaks) > 0.99, blocks
    assert all(-EARLY_START <= delay < 8000 for delay in delays), blocks
    assert max(delays) - min(delays) <= 4000, blocks


def check_audio(tmp_path, flat, door, seconds):
    """Each side heard the other's source, checked on the first `seconds`."""
    door.send("quit")  # the door's WAV is complete once it stopped
    assert door.wait() == 0, door.stderr()
    visitor = read_wav(tmp_path / "door" / "visitor.wav")
    direction("door->baresip", flat.recording("dec"), visitor, seconds)
    flat_source = read_wav(tmp_path / "flat_long.wav")[: 10 * 8000]
    door_heard = read_wav(tmp_path / "door" / "heard.wav")
    direction("baresip->door", door_heard, flat_source, seconds)


def test_interop_door_calls_baresip_which_talks_and_opens_with_rfc4733(tmp_path, owned):
    settings = {"door": {"hangup_after_open": 1}, "device": {"show_dtmf_digits": True}}
    proxy, flat, door = start_pair(tmp_path, owned, settings)
    cpu_before = flat.cpu_seconds()
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10, target="flat1")
    flat.wait_event("CALL_ESTABLISHED")
    time.sleep(3.0)
    for digit in DOOR_CODE:
        flat.command("sndcode", digit)
        time.sleep(0.25)
    for digit in DOOR_CODE:
        door.wait_for("dtmf", timeout=5, digit=digit)
    opened = door.wait_for("door_opened", timeout=5)
    assert [e["source"] for e in door.seen if e["event"] == "dtmf"] == ["rfc4733"] * 4, door.seen
    ended = door.wait_for("call_ended", timeout=5)
    assert ended["reason"] == "door_opened", ended
    assert opened["ts_ms"] <= ended["ts_ms"]
    flat.wait_event("CALL_CLOSED")
    # A paced baresip uses well under a core: this one ran ~5 s of call.
    assert flat.cpu_seconds() - cpu_before < 1.5
    check_audio(tmp_path, flat, door, 2.5)
    assert "door1 to flat1" in " ".join(proxy.log_lines())


def test_interop_baresip_calls_the_door_which_answers(tmp_path, owned):
    proxy, flat, door = start_pair(tmp_path, owned, {"call": {"answer_from": ["flat1"]}})
    baresip_calls_the_door(flat, door, "sip:door1@127.0.0.1", 3.0)
    check_audio(tmp_path, flat, door, 3.0)
    assert "flat1 to door1" in " ".join(proxy.log_lines())
