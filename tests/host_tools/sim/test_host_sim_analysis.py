"""The flat -> door delay of CallAnalysis on constructed calls: the capture
(both RTP streams) and the door's speaker file, as the echo scenario makes
them, with the flat saying its reply three times 300 ms apart.

The door's speaker plays each frame the flat sent DELAY_FRAMES door ticks
later, except where its jitter buffer played a frame again or left one out
(as seen in the sim's calls), so the true delay of every 0.5 s piece is
known to the sample.
"""

import struct
from types import SimpleNamespace

import numpy
from intercom.media import g711
from support.paths import ROOT

from host_tools.sim import wav_io
from host_tools.sim.analysis import CallAnalysis

ASSETS = ROOT / "host_tools" / "sim" / "assets"
FRAME = 160
FRAME_S = 0.020
DOOR = ("127.0.0.1", 20000)
FLAT = ("127.0.0.1", 30000)
FLAT_FIRST_S = 100.0  # the flat's first RTP packet (its answer)
DOOR_FIRST_S = 100.003  # the door's first RTP packet: its first talking tick
RINGBACK_FRAMES = 40  # on the door's speaker before the answer (after one quiet frame)
REPLY_AFTER_FRAMES = 50  # the flat's silence before its reply
GAP_FRAMES = 15  # 300 ms between the replies
DELAY_FRAMES = 2  # the door plays the flat's frame k at its tick k + 2
TRUE_DELAY_MS = 1000 * (DOOR_FIRST_S - FLAT_FIRST_S + DELAY_FRAMES * FRAME_S)  # 43 ms
CALL_FRAMES = 600


def reply_samples():
    pcm = wav_io.read_pcm(ASSETS / "flat_reply.wav")
    return numpy.frombuffer(pcm, dtype="<i2").astype(numpy.int16)


def coded(samples):
    """What G.711 (PCMU) leaves of samples: what each side decodes."""
    pcm = samples.astype("<i2").tobytes()
    return numpy.frombuffer(g711.ulaw_decode(g711.ulaw_encode(pcm)), dtype="<i2")


def rtp(sequence, timestamp, payload):
    return struct.pack("!BBHII", 0x80, 0, sequence, timestamp, 0x1234) + payload


def flat_mic(reply):
    """The flat's mic, frame by frame: silence, then the reply three times."""
    gap = numpy.zeros(GAP_FRAMES * FRAME, dtype=numpy.int16)
    said = numpy.concatenate((reply, gap, reply, gap, reply))
    said = numpy.concatenate((said, numpy.zeros(-len(said) % FRAME, dtype=numpy.int16)))
    lead = numpy.zeros(REPLY_AFTER_FRAMES * FRAME, dtype=numpy.int16)
    mic = numpy.concatenate((lead, said))
    tail = numpy.zeros(CALL_FRAMES * FRAME - len(mic), dtype=numpy.int16)
    return said, numpy.concatenate((mic, tail)).reshape(-1, FRAME)


def capture(mic_frames):
    """Both RTP streams as the flat phone records them: (time, from, to, datagram)."""
    records = []
    silence = g711.ulaw_encode(bytes(2 * FRAME))
    for index, frame in enumerate(mic_frames):
        payload = g711.ulaw_encode(frame.astype("<i2").tobytes())
        flat_time = FLAT_FIRST_S + index * FRAME_S
        records.append((flat_time, FLAT, DOOR, rtp(index, index * FRAME, payload)))
        door_time = DOOR_FIRST_S + index * FRAME_S
        records.append((door_time, DOOR, FLAT, rtp(index, 5000 + index * FRAME, silence)))
    return records


def door_speaker(mic_frames, adaptations):
    """door_heard.wav: a quiet frame, the ringback, then one frame per tick of
    what arrived from the flat, DELAY_FRAMES late. adaptations: {frame of
    what the flat said: n}, that frame played n more times (n = -1: left
    out), as the door's jitter buffer does when it runs dry or catches up."""
    played = [numpy.zeros(FRAME, dtype=numpy.int16)] * DELAY_FRAMES
    for index, frame in enumerate(mic_frames):
        times = 1 + adaptations.get(index - REPLY_AFTER_FRAMES, 0)
        played += [coded(frame)] * times
    tone = 3000 * numpy.sin(2 * numpy.pi * 425 * numpy.arange(RINGBACK_FRAMES * FRAME) / 8000)
    ringback = numpy.concatenate((numpy.zeros(FRAME), tone)).astype(numpy.int16)
    return numpy.concatenate([ringback] + played[:CALL_FRAMES])


def analysis(tmp_path, adaptations):
    reply = reply_samples()
    said, mic_frames = flat_mic(reply)
    heard = tmp_path / "door_heard.wav"
    wav_io.write_pcm(heard, door_speaker(mic_frames, adaptations).astype("<i2").tobytes())
    media = {"remote_host": DOOR[0], "remote_port": DOOR[1]}
    flat_events = [(FLAT_FIRST_S, {"event": "media_started", "media": media})]
    # The analysis reads only the flat phone's RTP address from it.
    flat = SimpleNamespace(rtp=SimpleNamespace(local_address=FLAT))
    call = CallAnalysis(capture(mic_frames), None, flat, flat_events, heard, None)
    return call, reply.tobytes(), said.tobytes()


def reply_frames():
    return -(-len(reply_samples()) // FRAME)


def test_a_frame_played_twice_in_the_first_reply(tmp_path):
    # The failing run: only the second reply reached the door's speaker whole.
    third = 2 * (reply_frames() + GAP_FRAMES)
    call, _, said = analysis(tmp_path, {76: 1, third + 40: -1})
    result = call.flat_to_door(said)
    assert result is not None
    # 15 pieces of 0.5 s hold speech: the first three played on time, from
    # the frame played twice 20 ms later, after the one left out on time again.
    late = TRUE_DELAY_MS + 20
    expected = [TRUE_DELAY_MS] * 3 + [late] * 9 + [TRUE_DELAY_MS] * 3
    assert numpy.allclose(result.delays_ms, expected, atol=0.5), result.delays_ms
    assert abs(result.lag_ms - late) < 0.5, result  # the median
    assert result.peak > 0.99


def test_the_jitter_buffer_adapting_four_times(tmp_path):
    # A passing run's door: its speaker 20, 60, 40 and 20 ms behind, no
    # reply whole on it, and the three replies as one match only in part.
    call, _, said = analysis(tmp_path, {142: 1, 205: 2, 318: -1, 337: -1})
    result = call.flat_to_door(said)
    assert result is not None
    behind = [0] * 5 + [20] * 3 + [60] * 3 + [40] + [20] * 2
    expected = [TRUE_DELAY_MS + ms for ms in behind]
    # (the piece across the two frames played twice matches no alignment)
    assert numpy.allclose(result.delays_ms, expected, atol=0.5), result.delays_ms
    assert result.peak > 0.99


def test_one_reply_of_three_is_timed_against_the_copy_that_was_sent(tmp_path):
    # What the analysis was given before (-316 ms here): one reply, which
    # matches each of the three copies sent; the one played is looked for
    # where that copy was sent.
    third = 2 * (reply_frames() + GAP_FRAMES)
    call, reply, _ = analysis(tmp_path, {76: 1, third + 40: -1})
    result = call.flat_to_door(reply)
    assert result is not None and result.segments == 5
    for delay in result.delays_ms:
        assert min(abs(delay - TRUE_DELAY_MS), abs(delay - TRUE_DELAY_MS - 20)) < 0.5, result
