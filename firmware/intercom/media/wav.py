# WAV streaming for the media core: 16-bit mono 8000 Hz PCM, frame by frame.
#
# The core never opens files: callers pass an open binary file-like object
# (readinto for reading, write and optionally seek for writing) and a name
# used in error messages, and keep ownership of it (nothing here closes it).
#
# Reading (RIFF/WAVE, as in Microsoft's multimedia data format spec):
#
#   "RIFF" size "WAVE"  then chunks: 4-byte id, 4-byte little-endian size,
#   payload, one pad byte when the size is odd. "fmt " must come before
#   "data"; every other chunk (LIST, fact, cue, bext, ...) is skipped. The
#   reader accepts format tag 1 (PCM) and 0xFFFE (extensible) whose sub-format
#   is PCM, and only 1 channel, 8000 Hz, 16 bits; anything else raises
#   WavError saying what the file is ("44100 Hz stereo 8-bit PCM", "u-law",
#   "not RIFF: an Ogg file", "truncated in the fmt chunk").
#   A data size of 0xFFFFFFFF (a stream written without seeking back) or one
#   larger than the file means "until the end of the stream".
#
# Writing: the header goes out first with both sizes at 0xFFFFFFFF; close()
# writes the real sizes when the stream can seek, so a file cut short by a
# crash still reads back up to where it ends.

import struct

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms
FRAME_BYTES = 2 * FRAME_SAMPLES

UNKNOWN_SIZE = 0xFFFFFFFF
FORMAT_PCM = 1
FORMAT_EXTENSIBLE = 0xFFFE
HEADER_BYTES = 44
SKIP_CHUNK_BYTES = 64

FORMAT_NAMES = {
    2: "MS ADPCM",
    3: "32-bit float",
    6: "A-law",
    7: "u-law",
    0x11: "IMA ADPCM",
    0x55: "MP3",
}
# First four bytes of files people mistake for WAV.
MAGIC_NAMES = {
    b"RIFX": "a big-endian RIFX file",
    b"RF64": "an RF64 (64-bit) WAV file",
    b"FORM": "an AIFF file",
    b"OggS": "an Ogg file",
    b"fLaC": "a FLAC file",
    b"ID3\x03": "an MP3 file",
    b"ID3\x04": "an MP3 file",
    b".snd": "a Sun .au file",
}


class WavError(Exception):
    """A WAV stream we cannot use; the message names the stream and why."""


def read_exactly(stream, buffer, filled=0):
    """Fill buffer from stream.readinto (its first `filled` bytes read
    already); returns the bytes read (short at EOF). A read that fills it at
    once (a file, mostly) allocates nothing."""
    if not filled:
        filled = stream.readinto(buffer)
        if not filled or filled == len(buffer):
            return filled or 0
    view = memoryview(buffer)
    while filled < len(view):
        count = stream.readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


def describe_format(tag, channels, rate, bits):
    """Words for what a fmt chunk holds, e.g. '44100 Hz stereo 8-bit PCM'."""
    if channels == 1:
        layout = "mono"
    elif channels == 2:
        layout = "stereo"
    else:
        layout = "%d-channel" % channels
    kind = FORMAT_NAMES.get(tag)
    if tag == FORMAT_PCM:
        kind = "%d-bit PCM" % bits
    elif kind is None:
        kind = "format 0x%04x" % tag
    return "%d Hz %s %s" % (rate, layout, kind)


class WavReader:
    """Reads 16-bit mono 8000 Hz PCM from a WAV stream, frame by frame.

    The header is parsed when the reader is made (WavError when it is not
    such a file). `data_bytes` is the data size the header declares, or None
    when it is unknown.
    """

    def __init__(self, stream, name):
        self.stream = stream
        self.name = name
        self.data_bytes = None
        self.remaining = 0
        self.scratch = bytearray(SKIP_CHUNK_BYTES)
        self.parse_header()

    def fail(self, problem):
        raise WavError("%s: %s" % (self.name, problem))

    def read_header_bytes(self, count, where):
        view = memoryview(self.scratch)[:count]
        got = read_exactly(self.stream, view)
        if got < count:
            self.fail("truncated WAV header (ends in the %s)" % where)
        return bytes(view)

    def parse_header(self):
        riff = bytearray(12)
        got = read_exactly(self.stream, riff)
        magic = bytes(riff[:4])
        if got == 0:
            self.fail("empty file, not a WAV file")
        if got >= 4 and magic != b"RIFF":
            self.fail("not a WAV file: %s" % MAGIC_NAMES.get(magic, "no RIFF header"))
        if got < 12:
            self.fail("truncated WAV header (%d bytes)" % got)
        if bytes(riff[8:12]) != b"WAVE":
            self.fail("not a WAV file: RIFF type %r, not WAVE" % bytes(riff[8:12]))
        have_format = False
        while True:
            header = bytearray(8)
            got = read_exactly(self.stream, header)
            if got < 8:
                where = "fmt chunk" if not have_format else "chunk list"
                self.fail("no data chunk (stream ends in the %s)" % where)
            chunk_id = bytes(header[:4])
            size = struct.unpack("<I", header[4:8])[0]
            if chunk_id == b"fmt ":
                self.check_format(size)
                have_format = True
            elif chunk_id == b"data":
                if not have_format:
                    self.fail("data chunk before the fmt chunk")
                if size != UNKNOWN_SIZE:
                    self.data_bytes = size
                self.remaining = size
                return
            else:
                self.skip(size + (size & 1), chunk_id)

    def check_format(self, size):
        if size < 16:
            self.fail("fmt chunk of %d bytes, needs 16" % size)
        read = min(size, 40)
        fields = self.read_header_bytes(read, "fmt chunk")
        tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fields[:16])
        if tag == FORMAT_EXTENSIBLE:
            if read < 26:
                self.fail("extensible fmt chunk of %d bytes, needs 26" % size)
            tag = struct.unpack("<H", fields[24:26])[0]  # first field of the GUID
        self.skip(size - read + (size & 1), b"fmt ")
        if tag != FORMAT_PCM or channels != 1 or rate != SAMPLE_RATE or bits != 16:
            self.fail(
                "%s; need 8000 Hz mono 16-bit PCM" % describe_format(tag, channels, rate, bits)
            )

    def skip(self, count, chunk_id):
        while count > 0:
            step = min(count, SKIP_CHUNK_BYTES)
            got = read_exactly(self.stream, memoryview(self.scratch)[:step])
            if got < step:
                self.fail("truncated WAV header (ends in the %r chunk)" % chunk_id)
            count -= step

    def read_into(self, buffer):
        """Fill buffer with the next samples; returns the byte count (even).

        Fewer bytes than the buffer holds only at the end of the data; 0
        after it. A last odd byte (half a sample) is dropped.
        """
        want = min(len(buffer), self.remaining)
        if want <= 0:
            return 0
        if want < len(buffer):  # the end of the data
            buffer = memoryview(buffer)[:want]
        got = self.stream.readinto(buffer) or 0  # a file fills it at once
        if 0 < got < want:
            got = read_exactly(self.stream, buffer, got)
        if got < want:
            self.remaining = 0
        else:
            self.remaining -= got
        return got & ~1


class WavWriter:
    """Writes 16-bit mono 8000 Hz PCM to a WAV stream, frame by frame.

    The header is written at once; close() patches the sizes in when the
    stream can seek and leaves the stream open.
    """

    def __init__(self, stream, name):
        self.stream = stream
        self.name = name
        self.data_bytes = 0
        self.closed = False
        stream.write(self.header(UNKNOWN_SIZE, UNKNOWN_SIZE))

    def header(self, riff_size, data_size):
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            riff_size,
            b"WAVE",
            b"fmt ",
            16,
            FORMAT_PCM,
            1,
            SAMPLE_RATE,
            2 * SAMPLE_RATE,
            2,
            16,
            b"data",
            data_size,
        )

    def write(self, pcm):
        """Append 16-bit little-endian samples."""
        if self.closed:
            raise ValueError("%s: write after close" % self.name)
        if len(pcm) & 1:
            raise ValueError("%s: PCM length %d is odd" % (self.name, len(pcm)))
        self.stream.write(pcm)
        self.data_bytes += len(pcm)

    def close(self):
        """Write the real sizes if the stream seeks; returns whether it did."""
        if self.closed:
            return False
        self.closed = True
        try:
            self.stream.seek(0)
        except (AttributeError, OSError):  # a pipe: sizes stay "unknown"
            return False
        self.stream.write(self.header(HEADER_BYTES - 8 + self.data_bytes, self.data_bytes))
        self.stream.seek(HEADER_BYTES + self.data_bytes)
        return True
