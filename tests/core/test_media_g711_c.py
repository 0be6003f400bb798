# The optional C path (intercom.media._g711c) at its buffer-protocol edges:
# memoryview slices, bytearray and memoryview destinations, the ValueError
# rules of the public API, read-only and strided buffers. CPython only.
# Whether it is built at all is checked in test_media_g711_exhaustive.py
# (it must be wherever a compiler exists).

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from intercom.media import g711
from intercom.media.g711_tables import ALAW_TABLES, ULAW_TABLES

_g711c = pytest.importorskip("intercom.media._g711c")

# (law, tables, encode, encode_into, decode, decode_into) of the C module.
LAWS = (
    (
        "ulaw",
        ULAW_TABLES,
        _g711c.ulaw_encode,
        _g711c.ulaw_encode_into,
        _g711c.ulaw_decode,
        _g711c.ulaw_decode_into,
    ),
    (
        "alaw",
        ALAW_TABLES,
        _g711c.alaw_encode,
        _g711c.alaw_encode_into,
        _g711c.alaw_decode,
        _g711c.alaw_decode_into,
    ),
)
FRAME = struct.pack("<160h", *range(-32768, 32768, 410))


def plain(tables):
    return g711.available_codecs(tables)["plain"]


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_memoryview_slices_at_odd_addresses_read_and_write_the_right_bytes(
    law, tables, encode, encode_into, decode, decode_into
):
    reference = plain(tables)
    source = memoryview(b"\x7f" + FRAME + b"\x7f")[1:-1]
    assert encode(source) == reference.encode(FRAME)
    codes = bytearray(b"\xaa" * 163)
    assert encode_into(source, memoryview(codes)[1:-2]) == 160
    assert bytes(codes[1:161]) == reference.encode(FRAME)
    assert codes[0] == 0xAA and codes[161:] == b"\xaa\xaa"
    samples = bytearray(b"\xaa" * 323)
    assert decode_into(memoryview(codes)[1:161], memoryview(samples)[1:-2]) == 320
    assert bytes(samples[1:321]) == reference.decode(bytes(codes[1:161]))
    assert samples[0] == 0xAA and samples[321:] == b"\xaa\xaa"
    assert decode(memoryview(codes)[1:161]) == bytes(samples[1:321])


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_bytearray_destinations_get_the_frame_and_keep_their_tail(
    law, tables, encode, encode_into, decode, decode_into
):
    reference = plain(tables)
    codes = bytearray(200)
    assert encode_into(bytearray(FRAME), codes) == 160
    assert codes == reference.encode(FRAME) + bytes(40)
    samples = bytearray(b"\x55" * 400)
    assert decode_into(bytes(codes[:160]), samples) == 320
    assert samples == reference.decode(bytes(codes[:160])) + b"\x55" * 80


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_results_are_bytes_and_empty_input_gives_nothing(
    law, tables, encode, encode_into, decode, decode_into
):
    assert type(encode(bytearray(FRAME))) is bytes
    assert type(decode(memoryview(FRAME))) is bytes
    assert encode(b"") == b"" and decode(b"") == b""
    untouched = bytearray(b"\x01\x02")
    assert encode_into(b"", untouched) == 0
    assert decode_into(memoryview(b""), untouched) == 0
    assert untouched == b"\x01\x02"


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_odd_pcm_and_short_destinations_raise_value_error_and_write_nothing(
    law, tables, encode, encode_into, decode, decode_into
):
    odd = memoryview(FRAME)[:5]
    with pytest.raises(ValueError, match="PCM length 5 is odd"):
        encode(odd)
    dst = bytearray(b"\xaa" * 159)
    with pytest.raises(ValueError, match="PCM length 5 is odd"):
        encode_into(odd, dst)
    with pytest.raises(ValueError, match="destination holds 159 bytes, 160 needed"):
        encode_into(FRAME, dst)
    with pytest.raises(ValueError, match="destination holds 159 bytes, 160 needed"):
        encode_into(FRAME, memoryview(bytearray(200))[41:])
    with pytest.raises(ValueError, match="destination holds 159 bytes, 160 needed"):
        decode_into(bytes(80), dst)
    assert dst == b"\xaa" * 159


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_the_same_misuse_raises_the_same_message_as_the_public_python_checks(
    law, tables, encode, encode_into, decode, decode_into
):
    # The public functions check their arguments in Python before any path
    # runs, so their message is the Python one whichever path is the default.
    public_encode_into = getattr(g711, law + "_encode_into")
    public_decode_into = getattr(g711, law + "_decode_into")
    for function, public_function, arguments in (
        (encode, getattr(g711, law + "_encode"), (b"\x00" * 3,)),
        (encode_into, public_encode_into, (b"\x00" * 3, bytearray(4))),
        (encode_into, public_encode_into, (b"\x00" * 8, bytearray(3))),
        (decode_into, public_decode_into, (b"\x00" * 4, bytearray(7))),
    ):
        with pytest.raises(ValueError) as ours:
            function(*arguments)
        with pytest.raises(ValueError) as python:
            public_function(*arguments)
        assert str(ours.value) == str(python.value)


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_read_only_destinations_and_strided_views_are_refused(
    law, tables, encode, encode_into, decode, decode_into
):
    with pytest.raises(BufferError):
        encode_into(FRAME, bytes(160))
    with pytest.raises(BufferError):
        decode_into(bytes(10), memoryview(bytes(20)))
    strided = memoryview(bytearray(FRAME))[::2]
    with pytest.raises(BufferError):
        encode(strided)
    with pytest.raises(BufferError):
        decode_into(bytes(4), memoryview(bytearray(16))[::2])


@pytest.mark.parametrize("law, tables, encode, encode_into, decode, decode_into", LAWS)
def test_wrong_argument_counts_raise_type_error(
    law, tables, encode, encode_into, decode, decode_into
):
    with pytest.raises(TypeError):
        encode()
    with pytest.raises(TypeError):
        decode(b"", bytearray())
    with pytest.raises(TypeError):
        encode_into(FRAME)
    with pytest.raises(TypeError):
        decode_into(b"", bytearray(), 0)


@given(
    st.binary(max_size=1200).map(lambda data: data[: len(data) & ~1]),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_random_pcm_through_offset_views_matches_the_plain_loops(pcm, src_offset, dst_offset):
    for _, tables, encode, encode_into, decode, decode_into in LAWS:
        reference = plain(tables)
        codes = reference.encode(pcm)
        samples = reference.decode(codes)
        source = memoryview(bytes(src_offset) + pcm)[src_offset:]
        assert encode(source) == codes
        encoded = bytearray(dst_offset + len(codes) + 1)
        assert encode_into(source, memoryview(encoded)[dst_offset:]) == len(codes)
        assert encoded == bytes(dst_offset) + codes + b"\x00"
        decoded = bytearray(dst_offset + len(samples) + 1)
        code_view = memoryview(bytes(src_offset) + codes)[src_offset:]
        assert decode_into(code_view, memoryview(decoded)[dst_offset:]) == len(samples)
        assert decoded == bytes(dst_offset) + samples + b"\x00"
        assert decode(code_view) == samples
