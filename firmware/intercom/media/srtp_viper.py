# The byte loops of intercom.media.srtp compiled by MicroPython's viper
# emitter (MicroPython only): the same results as srtp.py's plain loops,
# which the tests compare, without a bytecode step or an allocation per
# octet. Importing this module on CPython raises ImportError (no
# `micropython` module): srtp.py imports it inside try/except ImportError.

import micropython


@micropython.viper
def xor_into(target, offset: int, source, count: int):
    """target[offset + i] ^= source[i] for i < count."""
    out = ptr8(target)  # noqa: F821 (viper built-ins)
    key = ptr8(source)  # noqa: F821
    index = 0
    while index < count:
        out[offset + index] ^= key[index]
        index += 1


@micropython.viper
def fill_counters(target, iv, blocks: int):
    """blocks counter blocks iv+0, iv+1, ... (iv's last two octets are 0)."""
    out = ptr8(target)  # noqa: F821
    first = ptr8(iv)  # noqa: F821
    block = 0
    while block < blocks:
        base = 16 * block
        index = 0
        while index < 14:
            out[base + index] = first[index]
            index += 1
        out[base + 14] = block >> 8
        out[base + 15] = block & 0xFF
        block += 1
