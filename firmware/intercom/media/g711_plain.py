# G.711 per-sample loops over the lookup tables: the portable path.
#
# This is what MicroPython runs when viper is not available, and the
# reference the faster paths are tested against. The *_loop functions share
# their signatures with intercom.media.g711_viper, and LoopCodec runs either
# set. Nothing here allocates inside the loops, so encode_into/decode_into
# are safe in the 20 ms audio path on a Pico.
#
# Samples are 16-bit signed little-endian; the loops read them as the
# unsigned value low | high << 8 (see g711_tables for why that indexes the
# encode tables directly).


def encode_loop(src, dst, table, shift):
    """Write one code per 16-bit sample of src into dst[0 : len(src) // 2]."""
    byte_index = 0
    for sample_index in range(len(src) >> 1):
        unsigned = src[byte_index] | (src[byte_index + 1] << 8)
        dst[sample_index] = table[unsigned >> shift]
        byte_index += 2


def decode_loop(src, dst, low, high):
    """Write one 16-bit little-endian sample per code of src into dst."""
    byte_index = 0
    for code in src:
        dst[byte_index] = low[code]
        dst[byte_index + 1] = high[code]
        byte_index += 2


class LoopCodec:
    """One G.711 law run by a pair of per-sample loops (plain or viper).

    Arguments are validated by intercom.media.g711, not here.
    """

    def __init__(self, path, tables, encode, decode):
        self.path = path
        self.encode_table, self.encode_shift, self.decode_low, self.decode_high = tables
        self.encode_loop = encode
        self.decode_loop = decode

    def encode(self, pcm):
        out = bytearray(len(pcm) >> 1)
        self.encode_loop(pcm, out, self.encode_table, self.encode_shift)
        return bytes(out)

    def encode_into(self, pcm, dst):
        self.encode_loop(pcm, dst, self.encode_table, self.encode_shift)

    def decode(self, data):
        out = bytearray(len(data) << 1)
        self.decode_loop(data, out, self.decode_low, self.decode_high)
        return bytes(out)

    def decode_into(self, data, dst):
        self.decode_loop(data, dst, self.decode_low, self.decode_high)
