# SIPp flats that ask for a packet time of 10, 30 or 40 ms (a=ptime in their
# SDP), calling the door and called by it (a peer-to-peer sim door at its
# configured 20 ms; under CPython, and once under the MicroPython unix port,
# the Pico's interpreter). SIPp does the signalling; the test's RTP socket at the
# flat's SDP address (tests/support/flat_rtp.py) sends the flat's audio, a
# 1000 Hz sine, in packets of the flat's packet time, and records what the
# door sends. Checked both ways on the audio itself: what the door plays
# (its heard.wav) is the flat's sine in every loud 10 ms block, at its
# level; what the flat receives decodes to the door's 600 Hz voice in every
# loud block, in 20 ms packets whose timestamps count the samples sent; and
# the door's SDP asked for its own 20 ms.

import pathlib
import time

import numpy
import pytest
from support.audio import read_wav, syllable_tone, ulaw_expand, write_wav
from support.door import start_door
from support.flat_rtp import FlatRtp
from support.sipp import Sipp

pytestmark = pytest.mark.integration
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
RATE = 8000
FLAT_HZ = 1000
FLAT_PEAK = 8000
DOOR_HZ = 600  # the visitor's voice (support.audio.syllable_tone)
CALL_MS = 3000
BLOCK = 80  # 10 ms: every packet time here is a whole number of these
NOTICE_MS = 320  # the listen notice: beep 120 ms, 80 ms apart, beep 120 ms
NOTICE_HZ = 1200


def flat_sine(seconds=10):
    times = numpy.arange(int(seconds * RATE)) / RATE
    return (FLAT_PEAK * numpy.sin(2 * numpy.pi * FLAT_HZ * times)).astype(numpy.int16)


def block_shares(samples, frequency, min_rms=1000.0):
    """(share of the energy at frequency, rms) of every loud 10 ms block."""
    blocks = samples[: len(samples) // BLOCK * BLOCK].reshape(-1, BLOCK)
    rms = numpy.sqrt((blocks**2).mean(axis=1))
    loud = blocks[rms > min_rms]
    phase = numpy.exp(-2j * numpy.pi * frequency * numpy.arange(BLOCK) / RATE)
    power = numpy.abs(loud @ phase) ** 2
    return 2 * power / (BLOCK * (loud**2).sum(axis=1)), rms[rms > min_rms]


def first_loud_sample(samples, min_rms=1000.0):
    blocks = samples[: len(samples) // BLOCK * BLOCK].reshape(-1, BLOCK)
    loud = numpy.flatnonzero(numpy.sqrt((blocks**2).mean(axis=1)) > min_rms)
    assert len(loud), "nothing loud in the recording"
    return int(loud[0]) * BLOCK


def assert_mostly(passing, what):
    """At least 97 % of the blocks pass: a loaded test machine may stall a
    process for a frame or two (a concealed block); a packet time handled
    wrong spoils nearly every block."""
    assert passing.mean() >= 0.97, (what, int((~passing).sum()), len(passing))


def assert_door_heard_the_flat(door_folder, what, listen_notice=False):
    """listen_notice: the door answered the call, so its speaker starts with
    the listen notice's two 1200 Hz beeps over the flat (320 ms; the notice
    itself is tested in tests/unit/test_app_station_feedback.py): they are
    checked to be there, then left out of the sine's blocks."""
    heard = read_wav(door_folder / "heard.wav")
    if listen_notice:
        start = first_loud_sample(heard)
        notice = heard[start : start + NOTICE_MS * RATE // 1000]
        beep_shares, _ = block_shares(notice, NOTICE_HZ)
        assert (beep_shares > 0.3).sum() >= 20, (what, "no listen notice", beep_shares)
        heard = numpy.concatenate((heard[:start], heard[start + len(notice) :]))
    shares, rms = block_shares(heard, FLAT_HZ)
    assert len(shares) >= (CALL_MS - 1000) // 10, (what, len(shares))
    assert_mostly(shares > 0.95, what + ": the flat's sine")
    level = FLAT_PEAK / numpy.sqrt(2)
    assert_mostly(abs(rms - level) < 0.12 * level, what + ": its level")


def assert_flat_heard_the_door(rtp, what):
    audio = [
        (timestamp, payload)
        for (payload_type, payload), timestamp in zip(rtp.received, rtp.timestamps, strict=True)
        if payload_type == 0
    ]
    assert len(audio) >= (CALL_MS - 1000) // 20, (what, len(audio))
    for (timestamp, payload), (following, _) in zip(audio, audio[1:], strict=False):
        assert len(payload) == 160, (what, len(payload))  # the door's own 20 ms
        assert (following - timestamp) & 0xFFFFFFFF == len(payload), (what, timestamp, following)
    samples = ulaw_expand(b"".join(payload for _, payload in audio)).astype(float)
    shares, _ = block_shares(samples, DOOR_HZ)
    assert len(shares) >= 100, (what, len(shares))
    assert_mostly(shares > 0.95, what + ": the door's voice")


def door_sdp(sipp, what):
    bodies = [m.text for m in sipp.messages() if "m=audio" in m.text and m.direction == "received"]
    assert bodies, (what, sipp.flow())
    return bodies[0]


def start_ptime_door(owned, tmp_path, targets, answer_from=(), micropython=False):
    """(door, its folder): a peer-to-peer sim door at 20 ms playing its voice."""
    folder = tmp_path / "door"
    folder.mkdir()
    write_wav(folder / "visitor.wav", syllable_tone(8.0, DOOR_HZ))
    sections = {
        "device": {"name": "Door", "board": "sim"},
        "sip": {"user": "door", "local_port": 0},
        "call": {"targets": list(targets), "answer_from": list(answer_from), "ring_timeout": 10},
        "door": {"code": "2580", "state_file": "state.json"},
        "audio": {"input": "file:visitor.wav", "output": "file:heard.wav"},
    }
    return start_door(owned, folder, sections, micropython=micropython), folder


@pytest.mark.parametrize("ptime, micropython", [(10, False), (30, False), (40, False), (10, True)])
def test_interop_a_flat_asking_for_its_ptime_answers_the_door(tmp_path, owned, ptime, micropython):
    rtp = owned(FlatRtp(flat_sine(), ptime_ms=ptime))
    path = SCENARIOS / "flat_answers_ptime.xml"
    fill = {"MEDIA_PORT": rtp.port, "PTIME": ptime}
    flat = owned(Sipp(tmp_path, "flat", path, options=["-mi", "127.0.0.1"], fill=fill))
    flat.start()
    targets = ["sip:flat@127.0.0.1:%d" % flat.port]
    door, folder = start_ptime_door(owned, tmp_path, targets, (), micropython)
    door.send("press")
    door.wait_for("answered", timeout=10)
    rtp.start(("127.0.0.1", door.rtp_port))
    time.sleep(CALL_MS / 1000)  # the call runs, both sides talking
    door.send("hangup")
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "local_hangup", ended
    assert flat.wait() == 0, flat.report()
    rtp.stop()
    what = "door (MicroPython: %s) calls a flat at %d ms" % (micropython, ptime)
    assert "error" not in door.names(), door.seen
    assert "a=ptime:20" in door_sdp(flat, what)
    assert_door_heard_the_flat(folder, what)
    assert_flat_heard_the_door(rtp, what)


@pytest.mark.parametrize("ptime", [10, 30, 40])
def test_interop_a_flat_asking_for_its_ptime_calls_the_door(tmp_path, owned, ptime):
    door, folder = start_ptime_door(
        owned, tmp_path, ["sip:flat1@127.0.0.1:5999"], ["sip:flat1@127.0.0.1"]
    )
    door_sip = ("127.0.0.1", door.sip_port)
    rtp = owned(FlatRtp(flat_sine(), ptime_ms=ptime)).start(("127.0.0.1", door.rtp_port))
    path = SCENARIOS / "flat_calls_door_ptime.xml"
    fill = {"MEDIA_PORT": rtp.port, "PTIME": ptime, "CALL_MS": CALL_MS}
    flat = owned(Sipp(tmp_path, "flat", path, remote=door_sip, options=["-s", "flat1"], fill=fill))
    flat.start()
    incoming = door.wait_for("incoming_call", timeout=10)
    assert incoming["accepted"] is True, incoming
    ended = door.wait_for("call_ended", timeout=CALL_MS / 1000 + 10)
    assert ended["reason"] == "remote_hangup", ended
    assert flat.wait() == 0, flat.report()
    rtp.stop()
    what = "a flat at %d ms calls the door" % ptime
    assert "error" not in door.names(), door.seen
    assert "a=ptime:20" in door_sdp(flat, what)
    assert_door_heard_the_flat(folder, what, listen_notice=True)
    assert_flat_heard_the_door(rtp, what)
