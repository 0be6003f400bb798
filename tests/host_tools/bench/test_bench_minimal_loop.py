# host_tools/bench/minimal_loop.py and minimal_loop.c, the floor of the call
# benchmark: each pair (C, CPython, MicroPython unix port) sends the frames
# of a call to each other, every 20 ms the next 160 bytes of the input WAV's
# 320-byte frame behind a 12-byte RTP header, and writes what it receives;
# the bench measures every process over the window.

import pathlib
import wave

from host_tools.bench import call

WINDOW_S = 2


def frames_of(wav_path):
    """The first 160 bytes of each 320-byte frame of a WAV's samples."""
    with wave.open(str(wav_path), "rb") as source:
        samples = source.readframes(source.getnframes())
    return [samples[start : start + 160] for start in range(0, len(samples) - 319, 320)]


def test_each_minimal_loop_receives_its_peers_frames_in_order(tmp_path):
    binary = call.compile_c(call.MINIMAL_LOOP_SOURCE, tmp_path / "minimal_loop", [])
    results = call.minimal_loops(tmp_path, binary, WINDOW_S)
    assert set(results) == set(call.CALLS[call.MINIMAL_LOOPS])
    for figures in results.values():
        assert figures["cpu"] >= 0 and figures["wakeups"] > 0
    expected = frames_of(tmp_path / "loop.wav")
    for name in results:
        received = pathlib.Path(tmp_path / ("%s.raw" % name.replace(" ", "_"))).read_bytes()
        # whole payloads only: a loop stopped by SIGTERM leaves its last buffer unwritten
        chunks = [received[start : start + 160] for start in range(0, len(received) - 159, 160)]
        assert len(chunks) >= WINDOW_S * 50
        # the peer read its WAV from the start and again from the start at its end
        first = expected.index(chunks[0])
        for offset, chunk in enumerate(chunks):
            assert chunk == expected[(first + offset) % len(expected)], (name, offset)
