# Our WAV reader and writer against the standard library's wave module
# (CPython only).

import io
import random
import wave

import pytest
from intercom.media.wav import WavError, WavReader, WavWriter


def noise(samples):
    generator = random.Random(8000)
    return bytes(generator.getrandbits(8) for _ in range(2 * samples))


def stdlib_wav(pcm, channels=1, width=2, rate=8000):
    stream = io.BytesIO()
    with wave.open(stream, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return stream.getvalue()


def test_we_read_what_the_wave_module_writes():
    pcm = noise(1234)
    reader = WavReader(io.BytesIO(stdlib_wav(pcm)), "stdlib.wav")
    buffer = bytearray(320)
    frames = []
    while count := reader.read_into(buffer):
        frames.append(bytes(buffer[:count]))
    assert b"".join(frames) == pcm


def test_the_wave_module_reads_what_we_write():
    pcm = noise(999)
    stream = io.BytesIO()
    writer = WavWriter(stream, "ours.wav")
    for start in range(0, len(pcm), 320):
        writer.write(pcm[start : start + 320])
    writer.close()
    stream.seek(0)
    with wave.open(stream, "rb") as reader:
        assert reader.getparams()[:4] == (1, 2, 8000, 999)
        assert reader.readframes(999) == pcm


@pytest.mark.parametrize(
    "channels, width, rate, words",
    [
        (2, 2, 8000, "8000 Hz stereo 16-bit PCM"),
        (1, 2, 44100, "44100 Hz mono 16-bit PCM"),
        (1, 1, 8000, "8000 Hz mono 8-bit PCM"),
        (2, 2, 48000, "48000 Hz stereo 16-bit PCM"),
    ],
)
def test_other_formats_from_the_wave_module_are_refused_by_name(channels, width, rate, words):
    data = stdlib_wav(bytes(channels * width * 10), channels, width, rate)
    with pytest.raises(WavError, match=words):
        WavReader(io.BytesIO(data), "music.wav")
