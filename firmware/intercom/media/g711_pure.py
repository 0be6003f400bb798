# G.711 with CPython's C-speed built-ins, no per-sample Python loop.
#
#   encode  memoryview(pcm).cast("H") yields the unsigned samples; one
#           operator.itemgetter call looks them all up in a 64 KiB table
#           (the G.191 table of intercom.media.g711_tables, each entry
#           repeated 2**shift times, widened once at construction: there is
#           no C-speed way to shift every sample right first).
#   decode  bytes.translate() maps the codes to the samples' low bytes and
#           to their high bytes; extended-slice assignment interleaves them.
#
# CPython only (MicroPython has no memoryview.cast, operator module or
# bytes.translate); intercom.media.g711 builds PureCodec only there. The
# module itself imports on MicroPython so the portable import check holds.
# Arguments are validated by intercom.media.g711, not here.

try:
    from operator import itemgetter
except ImportError:  # MicroPython: this path is never built there
    itemgetter = None


def widen(table, shift):
    """The table indexed by the full unsigned sample instead of u >> shift."""
    wide = bytearray(len(table) << shift)
    for offset in range(1 << shift):
        wide[offset :: 1 << shift] = table
    return bytes(wide)


class PureCodec:
    """One G.711 law through itemgetter lookups and bytes.translate."""

    path = "pure"

    def __init__(self, tables):
        encode_table, shift, self.decode_low, self.decode_high = tables
        self.wide_table = widen(encode_table, shift)

    def encode(self, pcm):
        samples = memoryview(pcm).cast("H")
        count = len(samples)
        if count > 1:
            return bytes(itemgetter(*samples)(self.wide_table))
        if count == 1:  # itemgetter with one key returns the item, not a tuple
            return bytes((self.wide_table[samples[0]],))
        return b""

    def encode_into(self, pcm, dst):
        codes = self.encode(pcm)
        dst[: len(codes)] = codes

    def decode(self, data):
        out = bytearray(len(data) << 1)
        self.decode_into(data, out)
        return bytes(out)

    def decode_into(self, data, dst):
        if not isinstance(data, bytes):
            data = bytes(data)  # memoryview has no translate()
        end = len(data) << 1
        dst[0:end:2] = data.translate(self.decode_low)
        dst[1:end:2] = data.translate(self.decode_high)
