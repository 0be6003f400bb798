# G.711 compiled by MicroPython's viper emitter (MicroPython only).
#
# ViperCodec gives the same bytes as intercom.media.g711_plain's LoopCodec
# (the tests run both on the same input). For a 160-sample frame the work
# around the loop costs as much as the loop, so:
#
#   - encode_into/decode_into are viper methods (no bytecode frame) that
#     call len() once and hand everything to a loop function;
#   - the loop functions take typed arguments, the loop index first: viper
#     keeps a function's first three locals in registers, so the index and
#     the two busiest pointers live there instead of on the stack;
#   - a sample is read (encode) or written (decode) as one 16-bit word
#     through ptr16 when the buffer's address is even. The RP2040
#     (Cortex-M0+) faults on a 16-bit access at an odd address, and a
#     caller's memoryview may start at one: then the byte loops run. Words
#     are native-endian, so a big-endian machine always takes the byte
#     loops (PCM is little-endian);
#   - decoding reads g711_tables' low and high byte tables as they are
#     (frozen into a Pico W's flash): a 16-bit sample table per law would
#     cost 0.5 KiB of heap each, for two loads more per sample.
#
# Importing this module on CPython raises ImportError (no `micropython`
# module): intercom.media.g711 imports it only on MicroPython, inside
# try/except ImportError, and falls back to the plain loops. Ship it as .mpy
# built with the board's -march (armv6m on RP2040).

import sys

import micropython

WORD_ACCESS = sys.byteorder == "little"


@micropython.viper
def encode_words(index: int, target: ptr8, samples: ptr16, count: int, codes: ptr8, shift: int):  # noqa: F821
    while index < count:
        target[index] = codes[samples[index] >> shift]
        index += 1


@micropython.viper
def encode_bytes(index: int, target: ptr8, source: ptr8, count: int, codes: ptr8, shift: int):  # noqa: F821
    while index < count:
        unsigned = source[2 * index] | (source[2 * index + 1] << 8)
        target[index] = codes[unsigned >> shift]
        index += 1


@micropython.viper
def decode_words(index: int, target: ptr16, source: ptr8, count: int, low: ptr8, high: ptr8):  # noqa: F821
    while index < count:
        code = source[index]
        target[index] = low[code] | (high[code] << 8)
        index += 1


@micropython.viper
def decode_bytes(index: int, target: ptr8, source: ptr8, count: int, low: ptr8, high: ptr8):  # noqa: F821
    while index < count:
        code = source[index]
        target[2 * index] = low[code]
        target[2 * index + 1] = high[code]
        index += 1


class ViperCodec:
    """One G.711 law (tables from intercom.media.g711_tables) in viper loops.

    Arguments are validated by intercom.media.g711, not here.
    """

    path = "viper"

    def __init__(self, tables):
        self.encode_table, self.encode_shift, self.decode_low, self.decode_high = tables

    def encode(self, pcm):
        out = bytearray(len(pcm) >> 1)
        self.encode_into(pcm, out)
        return bytes(out)

    def decode(self, data):
        out = bytearray(len(data) << 1)
        self.decode_into(data, out)
        return bytes(out)

    @micropython.viper
    def encode_into(self, pcm, dst):
        count = int(len(pcm)) >> 1
        if WORD_ACCESS and (int(ptr8(pcm)) & 1) == 0:  # noqa: F821 (viper built-ins)
            encode_words(0, dst, pcm, count, self.encode_table, self.encode_shift)
        else:
            encode_bytes(0, dst, pcm, count, self.encode_table, self.encode_shift)

    @micropython.viper
    def decode_into(self, data, dst):
        count = int(len(data))
        # The stubs make ptr8/ptr16 classes a bytearray is not; viper takes
        # any buffer for a ptr argument.
        if WORD_ACCESS and (int(ptr8(dst)) & 1) == 0:  # noqa: F821 (viper built-ins)
            decode_words(0, dst, data, count, self.decode_low, self.decode_high)
        else:
            decode_bytes(0, dst, data, count, self.decode_low, self.decode_high)
