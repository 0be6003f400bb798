"""8 kHz mono 16-bit WAV files on the host side (stdlib wave module)."""

import wave

SAMPLE_RATE = 8000


def read_pcm(path):
    """The PCM bytes of an 8 kHz mono 16-bit WAV; ValueError for anything else."""
    with wave.open(str(path), "rb") as reader:
        shape = (reader.getframerate(), reader.getnchannels(), reader.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise ValueError(
                "%s: %d Hz, %d channel(s), %d-bit; want 8000 Hz mono 16-bit"
                % (path, shape[0], shape[1], 8 * shape[2])
            )
        return reader.readframes(reader.getnframes())


def write_pcm(path, pcm):
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(bytes(pcm))
