# Audio sources and sinks that need no sound device: the sim board's
# `audio.input` and `audio.output` specs (CPython and the MicroPython unix
# port alike).
#
#   input spec    source                what the door's "mic" hears
#   ------------  --------------------  -------------------------------------
#   file:PATH     WavSource             the WAV once (8000 Hz mono 16-bit),
#                                       then silence; the file is not looped
#   tone          ToneSource            a voice-like test signal: 440 Hz,
#                                       660+880 Hz, a pause, repeated (no
#                                       DTMF frequency, so it never dials)
#   silence       SilenceSource         zeros
#
#   output spec   sink                  where the door's speaker goes
#   ------------  --------------------  -------------------------------------
#   file:PATH     WavSink               a WAV file, sizes patched on close()
#   null          NullSink              nowhere
#
# Every source has read_frame(buffer): it fills the whole buffer (an even
# number of bytes of 16-bit little-endian PCM, padded with silence) and
# close(). Every sink has write_frame(pcm) and close(). open_source and
# open_sink return None for a spec they do not know (a sound device name:
# the board decides) and raise AudioError for a file they cannot use.

from intercom.media import tones
from intercom.media.wav import WavError, WavReader, WavWriter

FILE_PREFIX = "file:"
# (duration_ms, frequencies): syllable-like bursts well away from the DTMF
# rows (697-941 Hz) and columns (1209-1633 Hz).
TEST_TONE_CADENCE = ((400, (440,)), (300, (660, 880)), (150, ()))
TEST_TONE_AMPLITUDE = 8000


class AudioError(Exception):
    """An audio spec that cannot be opened; the message says which and why."""


def fill_silence(buffer, start):
    for index in range(start, len(buffer)):
        buffer[index] = 0


class SilenceSource:
    def read_frame(self, buffer):
        fill_silence(buffer, 0)

    def close(self):
        pass


class ToneSource:
    def __init__(self):
        self.generator = tones.ToneGenerator(TEST_TONE_CADENCE, True, TEST_TONE_AMPLITUDE)

    def read_frame(self, buffer):
        self.generator.read_into(buffer)

    def close(self):
        pass


class WavSource:
    """Plays a WAV file once, then silence; `finished` tells when it ran out."""

    def __init__(self, path):
        self.stream = _open_file(path, "rb", "audio.input: cannot open")
        try:
            self.reader = WavReader(self.stream, path)
        except WavError as error:
            self.stream.close()
            raise AudioError("audio.input: %s" % error) from None
        self.finished = False

    def read_frame(self, buffer):
        got = 0 if self.finished else self.reader.read_into(buffer)
        if got < len(buffer):
            self.finished = True
            fill_silence(buffer, got)

    def close(self):
        self.stream.close()


class NullSink:
    def write_frame(self, pcm):
        pass

    def close(self):
        pass


class WavSink:
    """Writes every frame to a WAV file; close() patches its sizes."""

    def __init__(self, path):
        self.stream = _open_file(path, "wb", "audio.output: cannot create")
        self.writer = WavWriter(self.stream, path)

    def write_frame(self, pcm):
        self.writer.write(pcm)

    def close(self):
        if not self.writer.closed:
            self.writer.close()
            self.stream.close()


def _open_file(path, mode, failure):
    """open(path, mode); an OSError becomes AudioError("<failure> PATH: why")."""
    try:
        return open(path, mode)
    except OSError as error:
        raise AudioError("%s %s: %s" % (failure, path, error)) from None


def file_path(spec):
    """PATH of a "file:PATH" spec, or None for any other spec."""
    if spec.startswith(FILE_PREFIX) and len(spec) > len(FILE_PREFIX):
        return spec[len(FILE_PREFIX) :]
    return None


NAMED_SOURCES = {"silence": SilenceSource, "tone": ToneSource}
NAMED_SINKS = {"null": NullSink}


def open_source(spec):
    """The source for an input spec, or None when it names no file/tone/silence."""
    return _open_spec(spec, NAMED_SOURCES, WavSource)


def open_sink(spec):
    """The sink for an output spec, or None when it names no file/null."""
    return _open_spec(spec, NAMED_SINKS, WavSink)


def _open_spec(spec, named, file_class):
    """named[spec]() for a name it holds, file_class(PATH) for "file:PATH",
    else None."""
    if spec in named:
        return named[spec]()
    path = file_path(spec)
    return None if path is None else file_class(path)
