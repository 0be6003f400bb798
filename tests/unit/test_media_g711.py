# G.711 codec: known G.191 values, boundaries, round trips, the *_into
# variants and agreement of every fast path with the plain loops. Portable:
# runs under pytest and tests/unit/mp_runner.py (the exhaustive check against
# an independent computation is CPython-only, in tests/core/).

import struct

from intercom.compat import IS_MICROPYTHON
from intercom.media import g711
from intercom.media.g711_tables import ALAW_TABLES, ULAW_TABLES

# (sample, code) per ITU-T G.191 g711.c, at zero, the clip points and both
# sides of every segment edge. -124 -> 0x70 is one of the inputs where G.191
# (one's complement) differs from audioop/PJSIP (negation, 0x6F).
ULAW_VECTORS = (
    (0, 0xFF),
    (1, 0xFF),
    (3, 0xFF),
    (4, 0xFE),
    (-1, 0x7F),
    (-4, 0x7F),
    (-5, 0x7E),
    (123, 0xF0),
    (124, 0xEF),
    (-124, 0x70),
    (-125, 0x6F),
    (379, 0xE0),
    (380, 0xDF),
    (891, 0xD0),
    (892, 0xCF),
    (1915, 0xC0),
    (1916, 0xBF),
    (3963, 0xB0),
    (3964, 0xAF),
    (8059, 0xA0),
    (8060, 0x9F),
    (16251, 0x90),
    (16252, 0x8F),
    (32124, 0x80),
    (32767, 0x80),
    (-32767, 0x00),
    (-32768, 0x00),
)
ALAW_VECTORS = (
    (0, 0xD5),
    (15, 0xD5),
    (16, 0xD4),
    (-1, 0x55),
    (-16, 0x55),
    (-17, 0x54),
    (255, 0xDA),
    (256, 0xC5),
    (-256, 0x5A),
    (-257, 0x45),
    (511, 0xCA),
    (512, 0xF5),
    (1023, 0xFA),
    (1024, 0xE5),
    (2047, 0xEA),
    (2048, 0x95),
    (4095, 0x9A),
    (4096, 0x85),
    (8191, 0x8A),
    (8192, 0xB5),
    (16383, 0xBA),
    (16384, 0xA5),
    (32767, 0xAA),
    (-32768, 0x2A),
)
# (code, sample) per G.191 ulaw_expand / alaw_expand.
ULAW_DECODED = ((0xFF, 0), (0x7F, 0), (0xFE, 8), (0x7E, -8), (0x80, 32124), (0x00, -32124))
ALAW_DECODED = ((0xD5, 8), (0x55, -8), (0xD4, 24), (0xAA, 32256), (0x2A, -32256))

ALL_CODES = bytes(range(256))


def pcm_of(samples):
    return struct.pack("<%dh" % len(samples), *samples)


def samples_of(pcm):
    return list(struct.unpack("<%dh" % (len(pcm) // 2), pcm))


def sweep_pcm(step):
    """Samples from -32768 up to 32767 every `step`, plus both extremes."""
    samples = list(range(-32768, 32768, step))
    samples.append(32767)
    return pcm_of(samples)


def raises_value_error(function, *arguments):
    try:
        function(*arguments)
    except ValueError:
        return True
    return False


def test_ulaw_encode_matches_g191_vectors():
    pcm = pcm_of([sample for sample, _ in ULAW_VECTORS])
    assert g711.ulaw_encode(pcm) == bytes(code for _, code in ULAW_VECTORS)


def test_alaw_encode_matches_g191_vectors():
    pcm = pcm_of([sample for sample, _ in ALAW_VECTORS])
    assert g711.alaw_encode(pcm) == bytes(code for _, code in ALAW_VECTORS)


def test_decoders_match_g191_vectors():
    for decode, vectors in ((g711.ulaw_decode, ULAW_DECODED), (g711.alaw_decode, ALAW_DECODED)):
        decoded = samples_of(decode(bytes(code for code, _ in vectors)))
        assert decoded == [sample for _, sample in vectors]


def test_ulaw_levels_fall_as_codes_rise_and_are_symmetric():
    positive = samples_of(g711.ulaw_decode(bytes(range(128, 256))))
    negative = samples_of(g711.ulaw_decode(bytes(range(128))))
    assert positive == sorted(positive, reverse=True)
    assert len(set(positive)) == 128
    assert negative == [-sample for sample in positive]


def test_alaw_levels_are_symmetric_and_distinct():
    positive = samples_of(g711.alaw_decode(bytes(range(128, 256))))
    negative = samples_of(g711.alaw_decode(bytes(range(128))))
    assert negative == [-sample for sample in positive]
    assert len(set(positive)) == 128
    assert min(positive) == 8
    assert max(positive) == 32256


def test_every_alaw_code_survives_a_round_trip():
    assert g711.alaw_encode(g711.alaw_decode(ALL_CODES)) == ALL_CODES


def test_every_ulaw_code_survives_a_round_trip_except_negative_zero():
    expected = bytearray(ALL_CODES)
    expected[0x7F] = 0xFF  # -0 and +0 both decode to 0, which encodes as +0
    assert g711.ulaw_encode(g711.ulaw_decode(ALL_CODES)) == bytes(expected)


def test_quantisation_error_stays_within_half_a_step_for_every_table_entry():
    # Steps grow with the level, at most 1/16 of it, so the error is within
    # 1/32 of the sample plus the finest half-step (G.191 scale). The sweep
    # steps by 4 (u-law) and 16 (A-law): one sample per encode-table entry.
    for encode, decode, step, top, finest in (
        (g711.ulaw_encode, g711.ulaw_decode, 4, 32124, 5),
        (g711.alaw_encode, g711.alaw_decode, 16, 32256, 8),
    ):
        samples = samples_of(sweep_pcm(step))
        decoded = samples_of(decode(encode(pcm_of(samples))))
        assert len(decoded) == len(samples)
        for index in range(len(samples)):
            sample = samples[index]
            level = decoded[index]
            clipped = max(-top, min(top, sample))
            assert 32 * abs(level - clipped) <= abs(clipped) + 32 * finest, (sample, level)


def test_empty_input_gives_empty_output():
    for function in (g711.ulaw_encode, g711.alaw_encode, g711.ulaw_decode, g711.alaw_decode):
        assert function(b"") == b""
    out = bytearray(4)
    assert g711.ulaw_encode_into(b"", out) == 0
    assert g711.alaw_decode_into(b"", out) == 0
    assert out == bytearray(4)


def test_results_are_bytes_for_every_input_type():
    pcm = pcm_of([1000, -1000])
    for source in (pcm, bytearray(pcm), memoryview(pcm)):
        for encoded in (g711.ulaw_encode(source), g711.alaw_encode(source)):
            assert isinstance(encoded, bytes)
        codes = g711.ulaw_encode(source)
        assert isinstance(g711.ulaw_decode(memoryview(codes)), bytes)
        assert isinstance(g711.alaw_decode(bytearray(codes)), bytes)


def test_encode_into_writes_the_frame_and_leaves_the_rest():
    pcm = sweep_pcm(409)[:320]
    for encode, encode_into in (
        (g711.ulaw_encode, g711.ulaw_encode_into),
        (g711.alaw_encode, g711.alaw_encode_into),
    ):
        out = bytearray(b"\xaa" * 170)
        assert encode_into(memoryview(pcm), out) == 160
        assert bytes(out[:160]) == encode(pcm)
        assert out[160:] == bytearray(b"\xaa" * 10)


def test_into_variants_take_memoryview_slices_on_both_sides():
    pcm = b"\x01" + sweep_pcm(1021)
    payload = memoryview(pcm)[1:]  # starts at an odd address
    for encode, encode_into, decode, decode_into in (
        (g711.ulaw_encode, g711.ulaw_encode_into, g711.ulaw_decode, g711.ulaw_decode_into),
        (g711.alaw_encode, g711.alaw_encode_into, g711.alaw_decode, g711.alaw_decode_into),
    ):
        codes = bytearray(len(payload) // 2 + 3)
        count = encode_into(payload, memoryview(codes)[3:])
        assert count == len(payload) // 2
        assert bytes(codes[3:]) == encode(pcm[1:])
        samples = bytearray(2 * count + 1)
        assert decode_into(memoryview(codes)[3:], memoryview(samples)[1:]) == 2 * count
        assert bytes(samples[1:]) == decode(bytes(codes[3:]))
        assert samples[0] == 0


def test_misuse_raises_value_error():
    odd = b"\x00\x01\x02"
    for function in (g711.ulaw_encode, g711.alaw_encode):
        assert raises_value_error(function, odd)
    for function in (g711.ulaw_encode_into, g711.alaw_encode_into):
        assert raises_value_error(function, odd, bytearray(4))
        assert raises_value_error(function, bytes(8), bytearray(3))
    for function in (g711.ulaw_decode_into, g711.alaw_decode_into):
        assert raises_value_error(function, bytes(4), bytearray(7))


def test_the_fast_path_exists_on_this_interpreter():
    for tables in (ULAW_TABLES, ALAW_TABLES):
        paths = g711.available_codecs(tables)
        if IS_MICROPYTHON:
            assert "viper" in paths
            assert g711.ULAW_ENCODER.path == "viper"
        else:
            assert "pure" in paths
            assert g711.ULAW_ENCODER.path in ("c", "numpy", "pure")


def test_every_path_gives_the_plain_loop_bytes():
    pcm = sweep_pcm(13)
    window = memoryview(b"\x00" + pcm)[1 : 1 + 640]
    for tables in (ULAW_TABLES, ALAW_TABLES):
        paths = g711.available_codecs(tables)
        reference = paths["plain"]
        codes = reference.encode(pcm)
        samples = reference.decode(ALL_CODES)
        for name, codec in paths.items():
            assert codec.encode(pcm) == codes, name
            assert codec.encode(pcm[:2]) == codes[:1], name
            assert codec.decode(codes[:1]) == reference.decode(codes[:1]), name
            assert codec.decode(ALL_CODES) == samples, name
            assert codec.decode(codes) == reference.decode(codes), name
            encoded = bytearray(321)
            codec.encode_into(window, encoded)
            assert bytes(encoded[:320]) == reference.encode(bytes(window)), name
            assert encoded[320] == 0, name
            decoded = bytearray(513)
            codec.decode_into(memoryview(ALL_CODES), memoryview(decoded)[1:])
            assert bytes(decoded[1:]) == samples, name


def test_every_path_gives_the_same_bytes_at_even_and_odd_addresses():
    # Fast paths may read or write whole 16-bit words when a buffer starts
    # at an even address (an odd one faults on the RP2040): both must agree.
    pcm = sweep_pcm(1021)[:322]
    for tables in (ULAW_TABLES, ALAW_TABLES):
        paths = g711.available_codecs(tables)
        codes = paths["plain"].encode(pcm)
        samples = paths["plain"].decode(ALL_CODES)
        for name, codec in paths.items():
            for source_offset in (0, 1):
                source = memoryview(bytes(source_offset) + pcm)[source_offset:]
                code_source = memoryview(bytes(source_offset) + ALL_CODES)[source_offset:]
                for target_offset in (0, 1):
                    encoded = bytearray(target_offset + len(codes))
                    codec.encode_into(source, memoryview(encoded)[target_offset:])
                    assert bytes(encoded[target_offset:]) == codes, (name, source_offset)
                    decoded = bytearray(target_offset + 512)
                    codec.decode_into(code_source, memoryview(decoded)[target_offset:])
                    assert bytes(decoded[target_offset:]) == samples, (name, target_offset)
