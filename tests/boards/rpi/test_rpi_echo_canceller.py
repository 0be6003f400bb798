"""The rpi board's echo canceller (libspeexdsp through boards.audio.
echo_canceller) on the simulated acoustic echo path: a generated room
response, 5-40 ms of acoustic delay on top of the one-frame audio path,
-6..0 dB, room noise, and the visitor's WAV at the mic while the resident's
reply plays (host_tools.bench.echo_measure's scene). What is asserted is
what the resident and the visitor would notice: the echo energy is down by
the measured amount, and the visitor's speech comes through in double talk.
bench/results.md has the figures (`make bench`)."""

import numpy
import pytest
from boards.audio import echo_control, echo_speex
from boards.audio.echo_canceller import EchoCanceller
from boards.audio.echo_path import EchoPath
from intercom import config
from intercom.media.half_duplex import HalfDuplex

from host_tools.bench import echo_measure

FRAME = 160
PTIME = 20
PATHS = [
    {"delay_ms": 5, "gain_db": -6},
    {"delay_ms": 40, "gain_db": 0},
]


@pytest.fixture(scope="module")
def scene():
    return echo_measure.Scene()


def canceller(delay_ms=PTIME, tail_ms=160, suppress_db=40, noise_db=0):
    return lambda: EchoCanceller.open(FRAME, PTIME, delay_ms, tail_ms, suppress_db, noise_db)


@pytest.mark.parametrize("path", PATHS, ids=["5ms-6dB", "40ms-0dB"])
def test_the_echo_is_cancelled_within_2_s_and_the_visitor_survives_double_talk(scene, path):
    run = echo_measure.run_scene(canceller(), path, scene)
    figures = echo_measure.figures(run)
    assert figures["erle_db"] >= 35, figures
    assert figures["converged_s"] is not None and figures["converged_s"] <= 2.0, figures
    assert figures["double_talk_db"] <= 3.0, figures
    assert figures["double_talk_corr"] >= 0.95, figures


def test_the_adaptive_filter_itself_removes_the_echo_without_the_suppressor(scene):
    run = echo_measure.run_scene(canceller(suppress_db=0), PATHS[1], scene)
    assert echo_measure.erle_db(run) >= 20
    attenuation, correlation = echo_measure.double_talk(run)
    assert attenuation <= 1.0 and correlation >= 0.98


def test_a_reference_later_than_the_echo_cannot_be_cancelled(scene):
    # the echo starts 20 ms + 5 ms after a frame's tick; a reference delayed
    # by 100 ms comes after it: "give less rather than more"
    aligned = echo_measure.run_scene(canceller(suppress_db=0), PATHS[0], scene)
    late = echo_measure.run_scene(canceller(delay_ms=100, suppress_db=0), PATHS[0], scene)
    assert echo_measure.erle_db(aligned) - echo_measure.erle_db(late) >= 15


def test_noise_suppression_takes_the_room_noise_down_only_when_asked(scene):
    def noise_out(noise_db):
        stage = canceller(noise_db=noise_db)()
        path = EchoPath(FRAME, delay_ms=20, gain_db=-3, noise_db=-40)
        mic = bytearray(2 * FRAME)
        heard = []
        try:
            for _ in range(100):  # 2 s: the noise estimate settles in ~1 s
                path.mic_frame(bytes(2 * FRAME), mic)
                heard.append(numpy.frombuffer(bytes(stage.process(mic)), dtype="<i2"))
                stage.played(bytes(2 * FRAME))
                path.played(bytes(2 * FRAME))
        finally:
            stage.close()
        tail = numpy.concatenate(heard[50:]).astype(float)
        return 10 * numpy.log10(numpy.mean(tail**2) / (32768 * 10 ** (-40 / 20)) ** 2)

    # off: the room noise stays but for what the canceller's DC notch takes
    # below ~150 Hz; 20 dB asked: at least 10 dB less noise
    kept = noise_out(0)
    assert kept > -3
    assert noise_out(20) < kept - 10


def test_echo_control_takes_the_canceller_or_falls_back_to_half_duplex(monkeypatch):
    raw = {"call": {"targets": ["sip:flat@192.0.2.20"]}, "device": {"board": "rpi"}}
    effective = config.validate(raw)
    lines = []
    stage = echo_control.open_echo_control(effective, 60, lines.append)
    assert isinstance(stage, EchoCanceller) and stage.delay_ms == 60
    stage.close()
    assert "echo control aec" in lines[-1] and "reference delay 60 ms" in lines[-1]
    monkeypatch.setattr(echo_speex, "load", lambda: None)
    stage = echo_control.open_echo_control(effective, 60, lines.append)
    assert isinstance(stage, HalfDuplex)
    assert "libspeexdsp" in lines[-2] and "half-duplex" in lines[-2]
    effective["audio"]["echo"] = "off"
    assert echo_control.open_echo_control(effective, 60, lines.append) is None
