"""A whole call on an emulated RP2040 (host_tools/rp2040): the frozen Pico W
firmware boots from its unmodified main.py, registers at Kamailio, the
button on GP2 starts a call to the sim's flat phone (paced by the emulated
clock), RTP flows both ways, a wrong code is refused with the relay low,
the right code drives the relay (GP3) high for the pulse, the door hangs
up. The figures (heap, C stack, CPU) are the bench's (make bench); here
only what a user would notice is asserted."""

import numpy
import pytest

from host_tools.rp2040.call import CODE, PULSE_S, WRONG_CODE, run_call

pytestmark = pytest.mark.integration  # Kamailio; the emulated RP2040 on a firmware build


def test_emulated_pico_call_refuses_a_wrong_code_and_opens_for_the_right_one(
    pico_firmware, image_files, tmp_path
):
    result = run_call(pico_firmware.bin, tmp_path, image_files)
    names = result.door_event_names()
    for name in ("started", "registered", "button", "call_started", "answered", "call_ended"):
        assert name in names, names
    assert names.index("code_rejected") < names.index("door_opened")
    digits = [event["digit"] for event in result.door_events if event["event"] == "dtmf"]
    assert "".join(digits) == WRONG_CODE + CODE
    # The relay: driven low at boot, high once (after the right code), for the pulse.
    levels = [level for _, level in result.relay_changes]
    assert levels[0] == 0 and levels.count(1) == 1, levels
    opened_at = next(ns for ns, level in result.relay_changes if level == 1)
    closed_at = next(ns for ns, level in result.relay_changes if level == 0 and ns > opened_at)
    assert round((closed_at - opened_at) / 1e9) == PULSE_S
    assert opened_at > result.marks["answered"]["ns"]
    # RTP both ways: the door's microphone (the image's I2S stand-in: a
    # 400 Hz tone) reached the flat, and the flat's DTMF reached the door.
    stats = next(e for e in result.flat_events if e["event"] == "media_stopped")["stats"]
    assert stats["packets_received"] > 0 and stats["packets_sent"] > 0, stats
    heard = numpy.frombuffer(result.flat_heard, dtype="<i2").astype(float)
    voiced = heard[numpy.abs(heard) > 1000]
    assert len(voiced) > 8000, len(voiced)  # more than a second of tone
    spectrum = numpy.abs(numpy.fft.rfft(heard[-8000:]))
    assert round(numpy.argmax(spectrum) * 8000 / 8000) == 400
    # The watchdog was started (8 s) and fed all along.
    watchdog = result.marks["ended"]["watchdog"]
    assert watchdog["enabled"] and watchdog["timeout_ms"] == 8000
    assert watchdog["longest_gap_ms"] < watchdog["timeout_ms"], watchdog
