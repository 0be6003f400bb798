"""The voicemail's default prompts, synthesised at build time
(host_tools/prompts): espeak-ng and sox turn each text into a WAV the door
plays (8000 Hz mono 16-bit PCM, read back by the firmware's own reader),
a few seconds of speech peaking at -3 dBFS, in English and German; without
the tools the error says what to install."""

import numpy
import pytest
from intercom.media.wav import WavReader

from host_tools.prompts import generate


def read_pcm(path):
    with open(path, "rb") as stream:
        reader = WavReader(stream, str(path))
        pcm = bytearray(reader.data_bytes)
        assert reader.read_into(pcm) == len(pcm)
    return numpy.frombuffer(bytes(pcm), dtype="<i2").astype(float)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_prompts_are_speech_the_door_can_play(tmp_path, language):
    written = generate.generate(tmp_path, language)
    assert sorted(path.name for path in written) == ["no_answer.wav", "no_answer_message.wav"]
    lengths = {}
    for path in written:
        samples = read_pcm(path)
        lengths[path.name] = len(samples) / 8000
        peak = numpy.abs(samples).max()
        assert 0.65 * 32767 < peak <= 0.71 * 32767  # normalised to -3 dBFS
        assert numpy.abs(samples[:1000]).max() < 100  # starts with the 200 ms of silence
        frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
        voiced = numpy.sqrt((frames**2).mean(axis=1)) > 1000
        assert voiced.mean() > 0.3  # mostly speech, not silence
        spectrum = numpy.abs(numpy.fft.rfft(samples)) ** 2
        low = spectrum[: len(spectrum) * 100 // 4000].sum()
        assert low < 0.02 * spectrum.sum()  # the telephone band: little below 100 Hz
    assert 1.0 < lengths["no_answer.wav"] < lengths["no_answer_message.wav"] < 9.0


def test_the_same_build_writes_the_same_bytes(tmp_path):
    """The prompts go into the Pi's wheel and onto the Pico's flash: two
    builds give the same files (sox's dither is seeded, -R), so a rebuilt
    wheel or make flash sees nothing changed."""
    first = generate.generate(tmp_path / "first")
    second = generate.generate(tmp_path / "second")
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_without_the_tools_the_error_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(generate.PromptError, match="apt-get install espeak-ng sox"):
        generate.generate(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_unknown_language_is_refused(tmp_path):
    with pytest.raises(generate.PromptError, match="no prompts for language 'fr'"):
        generate.generate(tmp_path, "fr")
