# The byte loops of intercom.media.srtp compiled by MicroPython's viper
# emitter (MicroPython only): the same results as srtp.py's plain twins
# (xor_plain, fill_counters_plain, rtp_counters_plain, differs_plain),
# which the tests compare, with no bytecode per octet and no allocation.
# On the RP2040 a bytecode statement costs about 10 us and a call about
# 15 us, so a packet's byte work is a few calls here, not a loop of
# statements there.
#
# Words: where both buffers sit at addresses divisible by 4 the loops move
# 32-bit words (the RP2040 faults on an unaligned word access; heap
# buffers are aligned, a caller's memoryview may not be). XOR and copies
# do not care about byte order.
#
# The loop functions take the loop index first: viper keeps a function's
# first three locals in registers. Importing this module on CPython raises
# ImportError (no `micropython` module): srtp.py imports it inside
# try/except ImportError.

import sys

import micropython

WORD_ACCESS = sys.byteorder == "little"


@micropython.viper
def _xor_words(index: int, target: ptr32, source: ptr32, count: int):  # noqa: F821
    while index < count:
        target[index] ^= source[index]
        index += 1


@micropython.viper
def _xor_bytes(index: int, target: ptr8, source: ptr8, count: int):  # noqa: F821
    while index < count:
        target[index] ^= source[index]
        index += 1


@micropython.viper
def xor_into(target, offset: int, source, count: int):
    """target[offset + i] ^= source[i] for i < count."""
    out = int(ptr8(target)) + offset  # noqa: F821 (viper built-ins)
    key = int(ptr8(source))  # noqa: F821
    done = 0
    if ((out | key) & 3) == 0:
        done = count & ~3
        _xor_words(0, ptr32(out), ptr32(key), done >> 2)  # noqa: F821
    _xor_bytes(done, ptr8(out), ptr8(key), count)  # noqa: F821


@micropython.viper
def _copy_blocks(block: int, target: ptr32, blocks: int):  # noqa: F821
    """Blocks 1.. of target = block 0, each with its number in octets 14-15
    (little-endian words: octet 14 is bits 16-23 of word 3)."""
    first = target[3] & 0xFFFF
    while block < blocks:
        base = 4 * block
        target[base] = target[0]
        target[base + 1] = target[1]
        target[base + 2] = target[2]
        target[base + 3] = first | ((block >> 8) << 16) | ((block & 0xFF) << 24)
        block += 1


@micropython.viper
def _copy_blocks_bytes(block: int, target: ptr8, blocks: int):  # noqa: F821
    while block < blocks:
        base = 16 * block
        index = 0
        while index < 14:
            target[base + index] = target[index]
            index += 1
        target[base + 14] = block >> 8
        target[base + 15] = block & 0xFF
        block += 1


@micropython.viper
def _repeat_block(target, blocks: int):
    """Counter blocks 1..blocks-1 from block 0 (whose octets 14-15 are 0)."""
    address = int(ptr8(target))  # noqa: F821
    if WORD_ACCESS and (address & 3) == 0:
        _copy_blocks(1, ptr32(address), blocks)  # noqa: F821
    else:
        _copy_blocks_bytes(1, ptr8(address), blocks)  # noqa: F821


@micropython.viper
def fill_counters(target, iv, blocks: int):
    """blocks counter blocks iv+0, iv+1, ... (iv's last two octets are 0)."""
    out = ptr8(target)  # noqa: F821
    first = ptr8(iv)  # noqa: F821
    index = 0
    while index < 16:
        out[index] = first[index]
        index += 1
    _repeat_block(target, blocks)


@micropython.viper
def rtp_counters(target, salt, packet, roc: int, sequence: int, blocks: int, roc_bytes):
    """The counter blocks of an SRTP packet (RFC 3711 4.1.1: the salt XOR
    the SSRC, octets 8-11 of the packet, XOR ROC || SEQ) and the ROC as 4
    octets for the authentication tag."""
    out = ptr8(target)  # noqa: F821
    key = ptr8(salt)  # noqa: F821
    header = ptr8(packet)  # noqa: F821
    index = 0
    while index < 14:
        out[index] = key[index]
        index += 1
    out[4] ^= header[8]
    out[5] ^= header[9]
    out[6] ^= header[10]
    out[7] ^= header[11]
    out[8] ^= (roc >> 24) & 0xFF
    out[9] ^= (roc >> 16) & 0xFF
    out[10] ^= (roc >> 8) & 0xFF
    out[11] ^= roc & 0xFF
    out[12] ^= (sequence >> 8) & 0xFF
    out[13] ^= sequence & 0xFF
    out[14] = 0
    out[15] = 0
    counter = ptr8(roc_bytes)  # noqa: F821
    counter[0] = (roc >> 24) & 0xFF
    counter[1] = (roc >> 16) & 0xFF
    counter[2] = (roc >> 8) & 0xFF
    counter[3] = roc & 0xFF
    _repeat_block(target, blocks)


@micropython.viper
def differs(tag, packet, offset: int, count: int) -> int:
    """Non-zero when tag[:count] differs from packet[offset:offset + count];
    every octet is compared whatever the others hold (constant time)."""
    left = ptr8(tag)  # noqa: F821
    right = ptr8(packet)  # noqa: F821
    difference = 0
    index = 0
    while index < count:
        difference |= left[index] ^ right[offset + index]
        index += 1
    return difference
