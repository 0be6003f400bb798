"""Audio put on wall-clock time: captured RTP, played frames, the talking anchor."""

import struct

import numpy
from intercom.media import g711

from host_tools.sim.analysis import talking_start_frame
from host_tools.sim.timeline import player_timeline, wire_timeline

DOOR = ("127.0.0.1", 20000)
FLAT = ("127.0.0.1", 30000)


def pcm_ramp(start, count=160):
    return struct.pack("<%dh" % count, *[(start + index) * 16 for index in range(count)])


def rtp(timestamp, payload, payload_type=0):
    return struct.pack("!BBHII", 0x80, payload_type, 7, timestamp & 0xFFFFFFFF, 0xABCD) + payload


def test_wire_timeline_places_payloads_by_timestamp_and_times_by_capture():
    first = pcm_ramp(0)
    second = pcm_ramp(160)
    records = [
        (
            10.040,
            DOOR,
            FLAT,
            rtp(0xFFFFFF60 + 320, g711.ulaw_encode(second)),
        ),  # after a wrap
        (10.000, DOOR, FLAT, rtp(0xFFFFFF60, g711.ulaw_encode(first))),
        (10.010, DOOR, FLAT, rtp(0xFFFFFF60 + 160, b"\x01\x00\x00\xa0", 101)),  # event: no audio
        (10.020, FLAT, DOOR, rtp(5, g711.ulaw_encode(first))),  # other direction
    ]
    line = wire_timeline(records, DOOR, FLAT)
    assert len(line.samples) == 480
    expected_first = numpy.frombuffer(g711.ulaw_decode(g711.ulaw_encode(first)), "<i2")
    assert numpy.array_equal(line.samples[:160], expected_first)
    assert not line.samples[160:320].any()  # the event's frame carries no audio
    assert abs(line.sample_time(0) - 10.000) < 1e-9
    assert abs(line.sample_time(80) - 10.010) < 1e-9
    assert abs(line.sample_time(330) - (10.040 + 10 / 8000)) < 1e-9
    assert abs(line.sample_time(-8) - (10.000 - 0.001)) < 1e-9  # extrapolated before
    assert wire_timeline(records, FLAT, ("127.0.0.1", 1)) is None


def test_player_timeline_uses_each_frames_tick():
    line = player_timeline(bytes(320 * 3), [5.0, 5.021, 5.043])
    assert line.sample_time(0) == 5.0
    assert abs(line.sample_time(161) - (5.021 + 1 / 8000)) < 1e-9
    assert abs(line.sample_time(400) - (5.043 + 80 / 8000)) < 1e-9


def test_sample_at_is_the_sample_playing_at_a_wall_time():
    line = player_timeline(bytes(320 * 3), [5.0, 5.021, 5.043])
    assert line.sample_at(5.0) == 0
    assert line.sample_at(5.021 + 1 / 8000) == 161  # by its frame's tick, not 20 ms steps
    assert line.sample_at(5.043 + 80 / 8000) == 400
    assert line.sample_at(4.999) == -8  # extrapolated before the first frame
    assert line.sample_at(5.1) == 320 + 456  # and after the last


def test_talking_start_is_the_first_quiet_frame_after_the_tone():
    tone = 3000.0 * numpy.sin(numpy.arange(160 * 10) * 2 * numpy.pi * 425 / 8000)
    speech = numpy.random.default_rng(1).normal(0.0, 2000.0, 160 * 20)
    samples = numpy.concatenate((numpy.zeros(160 * 4), tone, numpy.zeros(160 * 12), speech))
    assert talking_start_frame(samples) == 14
    # the quiet between two replies (--echo) is not the start
    again = numpy.concatenate((samples, numpy.zeros(160 * 15), speech))
    assert talking_start_frame(again) == 14
    short_gap = numpy.concatenate((tone, numpy.zeros(160 * 5), speech))
    assert talking_start_frame(short_gap) is None
    assert talking_start_frame(numpy.concatenate((numpy.zeros(1600), speech))) is None
    assert talking_start_frame(numpy.zeros(160 * 30)) is None
