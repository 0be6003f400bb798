# G.711 over every 16-bit input and every code, CPython only, on every path
# this interpreter has (c when the optional extension is built, numpy, pure,
# plain): each one must equal the reference, hence every other path.
#
# The reference below is the segment-search formulation (segment end points,
# then the mantissa bits of that segment), written independently of the
# lookup tables and of G.191's shift-count loop that generated them. It is
# also compared with audioop, which agrees except for the 508 u-law inputs
# documented in PLATFORM.md / g711.py.

import os
import shutil
import struct
import sysconfig
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st
from intercom.media import g711
from intercom.media.g711_tables import ALAW_TABLES, ULAW_TABLES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")

# Last biased magnitude of each u-law segment (14-bit domain, bias 33).
ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
# Last magnitude of each A-law segment (12-bit domain).
ALAW_SEGMENT_ENDS = (0xF, 0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF)

EVERY_SAMPLE = range(-32768, 32768)
EVERY_PCM = struct.pack("<65536h", *EVERY_SAMPLE)
EVERY_CODE = bytes(range(256))


def segment_of(value, ends):
    for segment, end in enumerate(ends):
        if value <= end:
            return segment
    raise AssertionError("beyond the last segment: %d" % value)


def ulaw_reference(sample):
    # G.191: one's complement of negative samples, then drop two bits.
    return ulaw_of_magnitude((sample if sample >= 0 else ~sample) >> 2, sample >= 0)


def ulaw_of_magnitude(magnitude, positive):
    biased = min(magnitude + 33, 0x1FFF)
    segment = segment_of(biased, ULAW_SEGMENT_ENDS)
    mantissa = (biased >> (segment + 1)) & 0xF
    # Every bit is sent inverted; the sign bit is 1 for positive samples.
    return ((segment << 4) | mantissa) ^ (0xFF if positive else 0x7F)


def alaw_reference(sample):
    magnitude = (sample if sample >= 0 else ~sample) >> 4
    segment = segment_of(magnitude, ALAW_SEGMENT_ENDS)
    shift = segment - 1 if segment else 0
    mantissa = (magnitude >> shift) & 0xF
    sign = 0x80 if sample >= 0 else 0
    # Even bits are inverted on the line.
    return (sign | (segment << 4) | mantissa) ^ 0x55


def ulaw_level_reference(code):
    inverted = ~code & 0xFF
    segment = (inverted >> 4) & 7
    magnitude = ((((inverted & 0xF) << 3) + 0x84) << segment) - 0x84
    return -magnitude if inverted & 0x80 else magnitude


def alaw_level_reference(code):
    line = code ^ 0x55
    segment = (line >> 4) & 7
    magnitude = ((line & 0xF) << 4) + 8
    if segment:
        magnitude = (magnitude + 0x100) << (segment - 1)
    return magnitude if line & 0x80 else -magnitude


def samples_of(pcm):
    return list(struct.unpack("<%dh" % (len(pcm) // 2), pcm))


ULAW_EXPECTED = bytes(ulaw_reference(sample) for sample in EVERY_SAMPLE)
ALAW_EXPECTED = bytes(alaw_reference(sample) for sample in EVERY_SAMPLE)
LAWS = (
    ("ulaw", ULAW_TABLES, ULAW_EXPECTED, ulaw_level_reference),
    ("alaw", ALAW_TABLES, ALAW_EXPECTED, alaw_level_reference),
)
PATHS = sorted(g711.available_codecs(ULAW_TABLES))


def c_compiler_present():
    """Whether pip could have built the optional C path here (as setuptools picks CC)."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or ""
    return bool(compiler.split()) and shutil.which(compiler.split()[0]) is not None


def test_cpython_has_the_numpy_and_pure_paths():
    assert {"numpy", "plain", "pure"} <= set(PATHS)


def test_the_c_path_is_built_where_a_compiler_exists_and_then_is_the_default():
    # pip skips an optional extension whose build fails, silently; on a
    # machine with a compiler (CI has gcc) that must fail here instead.
    if c_compiler_present():
        assert "c" in PATHS
    expected = ("c", "c") if "c" in PATHS else ("numpy", "pure")
    assert (g711.ULAW_ENCODER.path, g711.ULAW_DECODER.path) == expected
    assert (g711.ALAW_ENCODER.path, g711.ALAW_DECODER.path) == expected


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("law, tables, expected, level", LAWS)
def test_every_input_encodes_as_the_reference(law, tables, expected, level, path):
    codec = g711.available_codecs(tables)[path]
    assert codec.encode(EVERY_PCM) == expected
    out = bytearray(65536)
    codec.encode_into(memoryview(EVERY_PCM), out)
    assert out == expected


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("law, tables, expected, level", LAWS)
def test_every_code_decodes_as_the_reference(law, tables, expected, level, path):
    codec = g711.available_codecs(tables)[path]
    assert samples_of(codec.decode(EVERY_CODE)) == [level(code) for code in EVERY_CODE]
    out = bytearray(512)
    codec.decode_into(memoryview(EVERY_CODE), out)
    assert samples_of(bytes(out)) == [level(code) for code in EVERY_CODE]


def test_public_functions_match_the_reference_everywhere():
    assert g711.ulaw_encode(EVERY_PCM) == ULAW_EXPECTED
    assert g711.alaw_encode(EVERY_PCM) == ALAW_EXPECTED
    assert samples_of(g711.ulaw_decode(EVERY_CODE)) == [
        ulaw_level_reference(code) for code in EVERY_CODE
    ]
    assert samples_of(g711.alaw_decode(EVERY_CODE)) == [
        alaw_level_reference(code) for code in EVERY_CODE
    ]


def test_alaw_and_both_decoders_agree_with_audioop():
    assert g711.alaw_encode(EVERY_PCM) == audioop.lin2alaw(EVERY_PCM, 2)
    assert g711.ulaw_decode(EVERY_CODE) == audioop.ulaw2lin(EVERY_CODE, 2)
    assert g711.alaw_decode(EVERY_CODE) == audioop.alaw2lin(EVERY_CODE, 2)


def test_ulaw_differs_from_audioop_in_508_negative_inputs_by_one_level():
    ours = g711.ulaw_encode(EVERY_PCM)
    theirs = audioop.lin2ulaw(EVERY_PCM, 2)
    differing = [index for index in range(65536) if ours[index] != theirs[index]]
    assert len(differing) == 508
    for index in differing:
        sample = EVERY_SAMPLE[index]
        assert sample < 0
        # Both codes are negative and neighbours: one quantisation level apart.
        assert ours[index] < 0x80 and theirs[index] < 0x80
        assert abs(ours[index] - theirs[index]) == 1
        # audioop negates after the shift: magnitude -(x >> 2), one more
        # than G.191's (~x) >> 2.
        assert theirs[index] == ulaw_of_magnitude(-(sample >> 2), False)


@given(st.binary(max_size=2000).map(lambda data: data[: len(data) & ~1]))
def test_random_pcm_gives_the_same_bytes_on_every_path(pcm):
    for tables in (ULAW_TABLES, ALAW_TABLES):
        codecs = g711.available_codecs(tables)
        codes = codecs["plain"].encode(pcm)
        samples = codecs["plain"].decode(codes)
        for name, codec in codecs.items():
            assert codec.encode(pcm) == codes, name
            assert codec.decode(codes) == samples, name
            encoded = bytearray(len(codes))
            codec.encode_into(memoryview(pcm), encoded)
            assert encoded == codes, name
            decoded = bytearray(len(samples))
            codec.decode_into(memoryview(codes), decoded)
            assert decoded == samples, name
