# G.711 through numpy: one take() on a lookup table per payload.
#
#   encode  the samples viewed as uint16 index a 64 KiB uint8 table (the
#           G.191 table of intercom.media.g711_tables with each entry
#           repeated 2**shift times, built once with numpy.repeat).
#   decode  the codes index a 256-entry little-endian int16 table.
#
# CPython with numpy only; intercom.media.g711 builds NumpyCodec when numpy
# imports. The module itself imports without numpy (MicroPython included) so
# the portable import check holds. Arguments are validated by
# intercom.media.g711, not here.

try:
    import numpy
except ImportError:  # MicroPython, or CPython without numpy: never built there
    numpy = None


class NumpyCodec:
    """One G.711 law through numpy.take on lookup tables."""

    path = "numpy"

    def __init__(self, tables):
        encode_table, shift, decode_low, decode_high = tables
        self.uint8 = numpy.dtype(numpy.uint8)
        self.uint16 = numpy.dtype("<u2")
        codes = numpy.frombuffer(encode_table, self.uint8)
        self.encode_table = numpy.repeat(codes, 1 << shift)
        samples = bytearray(512)
        samples[0::2] = decode_low
        samples[1::2] = decode_high
        self.decode_table = numpy.frombuffer(bytes(samples), numpy.dtype("<i2"))

    def encode(self, pcm):
        return self.encode_table.take(numpy.frombuffer(pcm, self.uint16)).tobytes()

    def encode_into(self, pcm, dst):
        samples = numpy.frombuffer(pcm, self.uint16)
        out = numpy.frombuffer(dst, self.uint8, len(samples))
        self.encode_table.take(samples, out=out)

    def decode(self, data):
        return self.decode_table.take(numpy.frombuffer(data, self.uint8)).tobytes()

    def decode_into(self, data, dst):
        codes = numpy.frombuffer(data, self.uint8)
        out = numpy.frombuffer(dst, self.decode_table.dtype, len(codes))
        self.decode_table.take(codes, out=out)
