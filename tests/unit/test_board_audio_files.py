# The sim board's sound-device-free audio: WAV files, the test tone, silence.
# Portable: runs under pytest and tests/unit/mp_runner.py (MicroPython).

import os
import random
import struct

from boards.audio import audio_files
from intercom.media.wav import WavReader, WavWriter

FRAME = 320


def temporary_path(suffix):
    return "/tmp/test_board_audio_%d%s" % (random.getrandbits(30), suffix)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def samples(count, start):
    return struct.pack(
        "<%dh" % count, *[(start + index * 37) % 20000 - 10000 for index in range(count)]
    )


def write_wav(path, pcm):
    with open(path, "wb") as stream:
        writer = WavWriter(stream, path)
        writer.write(pcm)
        writer.close()


def energy(frame):
    values = struct.unpack("<%dh" % (len(frame) // 2), bytes(frame))
    return sum(value * value for value in values) // len(values)


def test_silence_source_overwrites_the_whole_buffer_with_zeros():
    buffer = bytearray(b"\x55" * FRAME)
    audio_files.open_source("silence").read_frame(buffer)
    assert buffer == bytearray(FRAME)


def test_tone_source_keeps_sounding_frame_after_frame():
    source = audio_files.open_source("tone")
    buffer = bytearray(FRAME)
    loud = 0
    for _ in range(100):  # 2 s: more than two cadence cycles
        source.read_frame(buffer)
        if energy(buffer) > 1000000:
            loud += 1
    assert loud > 60  # the cadence is 700 ms of sound in every 850 ms


def test_wav_source_plays_the_file_once_then_silence():
    path = temporary_path(".wav")
    pcm = samples(240, 5)  # one and a half frames
    write_wav(path, pcm)
    try:
        source = audio_files.open_source("file:" + path)
        first = bytearray(FRAME)
        second = bytearray(b"\x11" * FRAME)
        third = bytearray(b"\x22" * FRAME)
        source.read_frame(first)
        source.read_frame(second)
        source.read_frame(third)
        source.close()
    finally:
        remove(path)
    assert bytes(first) == pcm[:FRAME]
    assert bytes(second) == pcm[FRAME:] + bytes(FRAME // 2)
    assert third == bytearray(FRAME)
    assert source.finished


def test_wav_sink_writes_a_wav_whose_sizes_are_patched_on_close():
    path = temporary_path(".wav")
    frames = [samples(160, start) for start in (1, 2, 3)]
    try:
        sink = audio_files.open_sink("file:" + path)
        for frame in frames:
            sink.write_frame(frame)
        sink.close()
        sink.close()  # a second close changes nothing
        with open(path, "rb") as stream:
            header = stream.read(44)
        with open(path, "rb") as stream:
            reader = WavReader(stream, path)
            back = bytearray(3 * FRAME + 10)
            count = reader.read_into(back)
    finally:
        remove(path)
    assert struct.unpack("<I", header[40:44])[0] == 3 * FRAME
    assert struct.unpack("<I", header[4:8])[0] == 36 + 3 * FRAME
    assert count == 3 * FRAME
    assert bytes(back[:count]) == b"".join(frames)


def test_null_sink_accepts_frames():
    sink = audio_files.open_sink("null")
    sink.write_frame(bytes(FRAME))
    sink.close()


def test_a_missing_input_file_names_the_path():
    path = temporary_path("_missing.wav")
    try:
        audio_files.open_source("file:" + path)
    except audio_files.AudioError as error:
        assert path in str(error)
        assert "audio.input" in str(error)
    else:
        raise AssertionError("no AudioError")


def test_an_input_that_is_not_8k_mono_wav_says_what_it_is():
    path = temporary_path(".wav")
    with open(path, "wb") as stream:
        stream.write(b"OggS" + bytes(60))
    try:
        audio_files.open_source("file:" + path)
    except audio_files.AudioError as error:
        assert "Ogg" in str(error)
    else:
        raise AssertionError("no AudioError")
    finally:
        remove(path)


def test_device_names_are_left_to_the_board():
    assert audio_files.open_source("default") is None
    assert audio_files.open_source("hw:1,0") is None
    assert audio_files.open_source("file:") is None
    assert audio_files.open_sink("plughw:0") is None
    assert audio_files.file_path("file:a/b.wav") == "a/b.wav"
