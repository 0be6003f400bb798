# compat: ticks arithmetic across the wrap, poll keys and recvfrom addresses.
# Runs under pytest and under the MicroPython runner.

from intercom import compat


def test_ticks_add_wraps_at_the_period():
    last = compat.TICKS_PERIOD - 1
    assert compat.ticks_add(last, 1) == 0
    assert compat.ticks_add(last, 11) == 10
    assert compat.ticks_add(5, -10) == compat.TICKS_PERIOD - 5


def test_ticks_diff_is_signed_across_the_wrap():
    before_wrap = compat.TICKS_PERIOD - 20
    after_wrap = 30
    assert compat.ticks_diff(after_wrap, before_wrap) == 50
    assert compat.ticks_diff(before_wrap, after_wrap) == -50
    assert compat.ticks_diff(1000, 1000) == 0
    assert compat.ticks_diff(compat.ticks_add(7, compat.TICKS_HALF - 1), 7) == compat.TICKS_HALF - 1


def test_poll_key_of_an_int_is_the_fd():
    assert compat.poll_key(7) == 7


def test_peer_address_passes_tuples_through():
    assert compat.peer_address(("127.0.0.1", 5060)) == ("127.0.0.1", 5060)


def test_peer_address_decodes_raw_ipv4_sockaddr():
    raw = b"\x02\x00\x13\xc4\x7f\x00\x00\x01" + bytes(8)
    assert compat.peer_address(raw) == ("127.0.0.1", 5060)


def test_peer_address_decodes_raw_ipv6_sockaddr():
    address = bytes(15) + b"\x01"
    raw = b"\x0a\x00\x16\x2e" + bytes(4) + address + bytes(4)
    assert compat.peer_address(raw) == ("::1", 5678)


def test_peer_address_rejects_unknown_families():
    try:
        compat.peer_address(b"\x01\x00" + bytes(14))
    except ValueError:
        return
    raise AssertionError("an AF_UNIX address must not decode")


def test_format_ipv6_follows_rfc5952():
    def packed(*groups):
        out = bytearray()
        for group in groups:
            out.append(group >> 8)
            out.append(group & 0xFF)
        return bytes(out)

    assert compat.format_ipv6(packed(0x2001, 0xDB8, 0, 0, 0, 0, 0, 1)) == "2001:db8::1"
    assert compat.format_ipv6(bytes(16)) == "::"
    # RFC 5952 section 4.2.2: a single zero group is not shortened.
    assert compat.format_ipv6(packed(0x2001, 0xDB8, 0, 1, 1, 1, 1, 1)) == "2001:db8:0:1:1:1:1:1"
    # Section 4.2.3: the longest run wins, the first on a tie.
    assert compat.format_ipv6(packed(0x2001, 0, 0, 1, 0, 0, 0, 1)) == "2001:0:0:1::1"
    assert compat.format_ipv6(packed(0x2001, 0xDB8, 0, 0, 1, 0, 0, 1)) == "2001:db8::1:0:0:1"
