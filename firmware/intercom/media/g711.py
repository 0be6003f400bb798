# G.711 u-law (PCMU) and A-law (PCMA), bit-exact to ITU-T G.191 (g711.c).
#
# PCM is 16-bit signed little-endian mono in bytes, bytearray or a byte
# memoryview; codes are one byte per sample. The plain functions return
# bytes; the *_into functions write into a caller's buffer (the 20 ms path
# reuses one) and return how many bytes they wrote. A PCM buffer of odd
# length, or a destination too small, is our own misuse and raises
# ValueError. Every code and every sample is valid input, so no bad payload
# from the network can make these raise.
#
# Paths, all giving identical bytes (tests run each against the others):
#
#   interpreter  path    how                                        module
#   MicroPython  viper   native loops over the tables               g711_viper
#   MicroPython  plain   per-sample Python loops (no viper)         g711_plain
#   CPython      c       C loops over tables built from G.191       _g711c (.c)
#   CPython      numpy   numpy take() on the tables                 g711_numpy
#   CPython      pure    itemgetter / bytes.translate, no loop      g711_pure
#   CPython      plain   the same per-sample loops (reference only) g711_plain
#
# The CPython defaults come from `python -m host_tools.bench` (bench/results.md).
# The C path is an optional build (pyproject.toml): it is the only one that
# matches audioop on 160-sample frames (numpy's per-call overhead alone is
# about 1 us). Without it, numpy encodes about 4x faster than the pure path,
# and the pure path decodes as fast as numpy (decode_into faster).

from intercom.compat import IS_MICROPYTHON
from intercom.media import g711_plain
from intercom.media.g711_tables import ALAW_TABLES, ULAW_TABLES

# Preferred paths, fastest first; the first one available is used.
ENCODE_PATHS = ("viper", "c", "numpy", "pure", "plain")
DECODE_PATHS = ("viper", "c", "pure", "numpy", "plain")


class CCodec:
    """One G.711 law through the functions of intercom.media._g711c.

    They are stored on the instance, so codec.encode(pcm) calls the C
    function directly (no bound method). They check their own arguments
    with the same ValueError rules as the public functions below."""

    path = "c"

    def __init__(self, encode, encode_into, decode, decode_into):
        self.encode = encode
        self.encode_into = encode_into
        self.decode = decode
        self.decode_into = decode_into


def c_codec(tables):
    """CCodec for one law, or None when the C path was not built."""
    try:
        # The optional C extension (built from _g711c.c, no .py or stub):
        # unknown to the type check, absent on MicroPython by design.
        from intercom.media import _g711c  # pyright: ignore[reportAttributeAccessIssue]
    except ImportError:  # MicroPython, or CPython installed without a compiler
        return None
    if tables is ULAW_TABLES:
        return CCodec(
            _g711c.ulaw_encode, _g711c.ulaw_encode_into, _g711c.ulaw_decode, _g711c.ulaw_decode_into
        )
    return CCodec(
        _g711c.alaw_encode, _g711c.alaw_encode_into, _g711c.alaw_decode, _g711c.alaw_decode_into
    )


def available_codecs(tables):
    """{path name: codec} for every path this interpreter can run.

    `tables` is g711_tables.ULAW_TABLES or ALAW_TABLES. Each codec has
    encode(pcm), encode_into(pcm, dst), decode(data), decode_into(data, dst)
    and trusts its arguments (the public functions below check them); its
    `path` attribute is its name here."""
    codecs = {}
    codecs["plain"] = g711_plain.LoopCodec(
        "plain", tables, g711_plain.encode_loop, g711_plain.decode_loop
    )
    if IS_MICROPYTHON:
        try:
            from intercom.media import g711_viper
        except ImportError:  # a port built without the viper emitter
            return codecs
        codecs["viper"] = g711_viper.ViperCodec(tables)
        return codecs
    from intercom.media import g711_numpy, g711_pure

    compiled = c_codec(tables)
    if compiled is not None:
        codecs["c"] = compiled
    codecs["pure"] = g711_pure.PureCodec(tables)
    if g711_numpy.numpy is not None:
        codecs["numpy"] = g711_numpy.NumpyCodec(tables)
    return codecs


def preferred(codecs, order):
    for name in order:
        if name in codecs:
            return codecs[name]
    raise ValueError("no G.711 path among %r" % (order,))


def default_codecs(tables):
    """(encoder, decoder) this interpreter uses for one law.

    With the C path built nothing else is set up: importing numpy alone
    would add ~16 MiB to a door process that never uses it."""
    compiled = None if IS_MICROPYTHON else c_codec(tables)
    if compiled is not None:
        return compiled, compiled
    codecs = available_codecs(tables)
    return preferred(codecs, ENCODE_PATHS), preferred(codecs, DECODE_PATHS)


ULAW_ENCODER, ULAW_DECODER = default_codecs(ULAW_TABLES)
ALAW_ENCODER, ALAW_DECODER = default_codecs(ALAW_TABLES)


def check_pcm(pcm):
    """Number of samples in pcm; raises ValueError on an odd byte count."""
    size = len(pcm)
    if size & 1:
        raise ValueError("PCM length %d is odd: a 16-bit sample takes 2 bytes" % size)
    return size >> 1


def _misuse(pcm, dst, needed):
    """Raises the ValueError of an *_into call whose checks failed (pcm
    None for a decode): apart, so that the 20 ms path calls nothing to check."""
    if pcm is not None:
        check_pcm(pcm)
    raise ValueError("destination holds %d bytes, %d needed" % (len(dst), needed))


def ulaw_encode(pcm):
    """u-law codes (bytes) for 16-bit little-endian PCM."""
    check_pcm(pcm)
    return ULAW_ENCODER.encode(pcm)


def alaw_encode(pcm):
    """A-law codes (bytes) for 16-bit little-endian PCM."""
    check_pcm(pcm)
    return ALAW_ENCODER.encode(pcm)


def ulaw_decode(data):
    """16-bit little-endian PCM (bytes) for u-law codes."""
    return ULAW_DECODER.decode(data)


def alaw_decode(data):
    """16-bit little-endian PCM (bytes) for A-law codes."""
    return ALAW_DECODER.decode(data)


def ulaw_encode_into(pcm, dst):
    """Write the u-law codes of pcm to dst[0:n]; returns n = len(pcm) // 2."""
    size = len(pcm)
    count = size >> 1
    if size & 1 or len(dst) < count:
        _misuse(pcm, dst, count)
    ULAW_ENCODER.encode_into(pcm, dst)
    return count


def alaw_encode_into(pcm, dst):
    """Write the A-law codes of pcm to dst[0:n]; returns n = len(pcm) // 2."""
    size = len(pcm)
    count = size >> 1
    if size & 1 or len(dst) < count:
        _misuse(pcm, dst, count)
    ALAW_ENCODER.encode_into(pcm, dst)
    return count


def ulaw_decode_into(data, dst):
    """Write the PCM of u-law codes to dst[0:n]; returns n = 2 * len(data)."""
    count = len(data) << 1
    if len(dst) < count:
        _misuse(None, dst, count)
    ULAW_DECODER.decode_into(data, dst)
    return count


def alaw_decode_into(data, dst):
    """Write the PCM of A-law codes to dst[0:n]; returns n = 2 * len(data)."""
    count = len(data) << 1
    if len(dst) < count:
        _misuse(None, dst, count)
    ALAW_DECODER.decode_into(data, dst)
    return count
