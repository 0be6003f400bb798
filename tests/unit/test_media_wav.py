# WAV streaming: round trips, header layout, skipped chunks, short reads,
# streams without seek, and the errors a user sees for files we cannot play.
# Portable: runs under pytest and tests/unit/mp_runner.py.

import io
import struct

from intercom.media.wav import FRAME_BYTES, WavError, WavReader, WavWriter

PCM_FORMAT = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
PCM_SUBFORMAT_GUID = b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def chunk(chunk_id, payload):
    padding = b"\x00" if len(payload) & 1 else b""
    return chunk_id + struct.pack("<I", len(payload)) + payload + padding


def riff(*chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def fmt(tag=1, channels=1, rate=8000, bits=16):
    block = channels * bits // 8
    return chunk(b"fmt ", struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits))


def ramp(samples):
    return struct.pack(
        "<%dh" % samples, *[(index * 411) % 65536 - 32768 for index in range(samples)]
    )


def read_all(reader, frame_bytes=FRAME_BYTES):
    frames = []
    buffer = bytearray(frame_bytes)
    while True:
        count = reader.read_into(buffer)
        if not count:
            return frames
        frames.append(bytes(buffer[:count]))


def error_of(data, name="door.wav"):
    try:
        WavReader(io.BytesIO(data), name)
    except WavError as error:
        return str(error)
    raise AssertionError("no WavError")


class Trickle:
    """A stream that hands out at most 7 bytes per readinto call (a pipe)."""

    def __init__(self, data):
        self.data = data
        self.position = 0

    def readinto(self, buffer):
        count = min(7, len(buffer), len(self.data) - self.position)
        buffer[:count] = self.data[self.position : self.position + count]
        self.position += count
        return count


class PipeSink:
    """A write-only stream with no seek (stdout into a pipe)."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(bytes(data))
        return len(data)

    def value(self):
        return b"".join(self.parts)


def test_written_file_has_the_canonical_header_with_patched_sizes():
    stream = io.BytesIO()
    writer = WavWriter(stream, "out.wav")
    pcm = ramp(400)
    writer.write(pcm[:320])
    writer.write(memoryview(pcm)[320:])
    assert writer.close()
    expected = riff(chunk(b"fmt ", PCM_FORMAT), chunk(b"data", pcm))
    assert stream.getvalue() == expected
    assert len(expected) == 44 + 800


def test_close_leaves_the_stream_at_the_end_and_open():
    stream = io.BytesIO()
    writer = WavWriter(stream, "out.wav")
    writer.write(ramp(10))
    writer.close()
    stream.write(b"tail")  # still usable, positioned after the samples
    assert stream.getvalue()[-4:] == b"tail"
    assert len(stream.getvalue()) == 44 + 20 + 4


def test_round_trip_frame_by_frame_with_a_short_last_frame():
    stream = io.BytesIO()
    writer = WavWriter(stream, "out.wav")
    pcm = ramp(3 * 160 + 50)
    for start in range(0, len(pcm), FRAME_BYTES):
        writer.write(pcm[start : start + FRAME_BYTES])
    writer.close()
    reader = WavReader(io.BytesIO(stream.getvalue()), "out.wav")
    assert reader.data_bytes == len(pcm)
    frames = read_all(reader)
    assert [len(frame) for frame in frames] == [320, 320, 320, 100]
    assert b"".join(frames) == pcm
    assert reader.read_into(bytearray(320)) == 0


def test_unknown_chunks_are_skipped_including_odd_sized_ones():
    pcm = ramp(200)
    data = riff(
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00sox\x00\x00"),
        chunk(b"junk", b"abc"),  # odd size: one pad byte follows
        chunk(b"fmt ", PCM_FORMAT),
        chunk(b"fact", struct.pack("<I", 200)),
        chunk(b"data", pcm),
        chunk(b"LIST", b"trailing"),
    )
    assert b"".join(read_all(WavReader(io.BytesIO(data), "tagged.wav"))) == pcm


def test_extensible_format_with_pcm_subformat_is_accepted():
    extensible = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 16000, 2, 16, 22, 16, 4)
    pcm = ramp(30)
    data = riff(chunk(b"fmt ", extensible + PCM_SUBFORMAT_GUID), chunk(b"data", pcm))
    assert b"".join(read_all(WavReader(io.BytesIO(data), "ext.wav"))) == pcm


def test_extensible_float_is_named_in_the_error():
    extensible = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 32000, 4, 32, 22, 32, 4)
    float_guid = b"\x03" + PCM_SUBFORMAT_GUID[1:]
    message = error_of(riff(chunk(b"fmt ", extensible + float_guid), chunk(b"data", b"")))
    assert "32-bit float" in message


def test_a_trickling_stream_reads_the_same_samples():
    pcm = ramp(333)
    data = riff(chunk(b"LIST", b"x" * 70), chunk(b"fmt ", PCM_FORMAT), chunk(b"data", pcm))
    reader = WavReader(Trickle(data), "pipe")
    frames = read_all(reader)
    assert [len(frame) for frame in frames] == [320, 320, 26]
    assert b"".join(frames) == pcm


def test_a_stream_without_seek_keeps_unknown_sizes_and_reads_back():
    sink = PipeSink()
    writer = WavWriter(sink, "stdout")
    pcm = ramp(250)
    writer.write(pcm)
    assert not writer.close()
    written = sink.value()
    assert struct.unpack("<I", written[4:8])[0] == 0xFFFFFFFF
    assert struct.unpack("<I", written[40:44])[0] == 0xFFFFFFFF
    reader = WavReader(io.BytesIO(written), "stdout")
    assert reader.data_bytes is None
    assert b"".join(read_all(reader)) == pcm


def test_data_cut_short_reads_what_is_there_and_drops_half_a_sample():
    pcm = ramp(100)
    data = riff(chunk(b"fmt ", PCM_FORMAT), chunk(b"data", pcm))[: 44 + 151]
    frames = read_all(WavReader(io.BytesIO(data), "cut.wav"))
    assert b"".join(frames) == pcm[:150]


def test_wrong_formats_are_named_in_the_error():
    cases = (
        (fmt(channels=2), "8000 Hz stereo 16-bit PCM"),
        (fmt(rate=44100), "44100 Hz mono 16-bit PCM"),
        (fmt(bits=8), "8000 Hz mono 8-bit PCM"),
        (fmt(tag=3, bits=32), "8000 Hz mono 32-bit float"),
        (fmt(tag=7, bits=8), "8000 Hz mono u-law"),
        (fmt(tag=6, bits=8), "8000 Hz mono A-law"),
        (fmt(channels=2, rate=44100), "44100 Hz stereo 16-bit PCM"),
    )
    for format_chunk, words in cases:
        message = error_of(riff(format_chunk, chunk(b"data", bytes(64))), "visitor.wav")
        assert message.startswith("visitor.wav: "), message
        assert words in message, message
        assert "need 8000 Hz mono 16-bit PCM" in message


def test_not_a_wav_file_is_named():
    assert "not a WAV file: an Ogg file" in error_of(b"OggS" + bytes(60))
    assert "not a WAV file: an AIFF file" in error_of(b"FORM" + bytes(60))
    assert "no RIFF header" in error_of(b"hello, this is a text file\n")
    avi = error_of(b"RIFF" + struct.pack("<I", 4) + b"AVI " + bytes(20))
    assert "RIFF type" in avi and "AVI" in avi


def test_truncated_and_incomplete_headers_are_named():
    whole = riff(fmt(), chunk(b"data", ramp(10)))
    assert "truncated WAV header" in error_of(whole[:10])
    assert "truncated WAV header (ends in the fmt chunk)" in error_of(whole[:30])
    assert "no data chunk" in error_of(whole[:36])
    assert "empty file" in error_of(b"")
    assert "data chunk before the fmt chunk" in error_of(riff(chunk(b"data", b"")))
    assert "fmt chunk of 14 bytes" in error_of(riff(chunk(b"fmt ", bytes(14))))


def test_writer_misuse_raises():
    writer = WavWriter(io.BytesIO(), "out.wav")
    for call in (lambda: writer.write(b"\x00\x01\x02"),):
        try:
            call()
        except ValueError:
            pass
        else:
            raise AssertionError("odd length accepted")
    writer.close()
    try:
        writer.write(b"\x00\x00")
    except ValueError as error:
        assert "out.wav" in str(error)
    else:
        raise AssertionError("write after close accepted")
