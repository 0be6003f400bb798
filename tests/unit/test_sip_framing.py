# Stream framing (intercom.sip.framing, RFC 3261 18.3, RFC 5626 4.4.1):
# bytes of one connection in, whole messages, pings and pongs out; every
# framing error of the table. Runs under pytest and the MicroPython runner.

from intercom.sip.framing import PING, PONG, FramingError, StreamFramer

OPTIONS = (
    b"OPTIONS sip:door@192.0.2.5 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKs1\r\n"
    b"From: <sip:pbx@192.0.2.10>;tag=a\r\nTo: <sip:door@192.0.2.5>\r\n"
    b"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


def message_with_body(body, length_field=None):
    if length_field is None:
        length_field = b"Content-Length: %d" % len(body)
    return (
        b"MESSAGE sip:door@192.0.2.5 SIP/2.0\r\n"
        b"Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKs2\r\n"
        b"Call-ID: c2\r\n" + length_field + b"\r\n\r\n" + body
    )


def refused(framer, data):
    try:
        framer.feed(data)
    except FramingError as error:
        return str(error)
    return None


def test_a_whole_message_comes_out_once_whatever_the_segments():
    data = OPTIONS + message_with_body(b"hello") + OPTIONS
    for size in (1, 3, 7, 64, len(data)):
        framer = StreamFramer(4096)
        items = []
        for start in range(0, len(data), size):
            items += framer.feed(data[start : start + size])
        assert items == [OPTIONS, message_with_body(b"hello"), OPTIONS], size


def test_the_body_is_as_long_as_content_length_says_and_the_rest_waits():
    framer = StreamFramer(4096)
    whole = message_with_body(b"0123456789")
    assert framer.feed(whole[:-3]) == []
    assert framer.feed(whole[-3:] + OPTIONS[:10]) == [whole]
    assert framer.feed(OPTIONS[10:]) == [OPTIONS]


def test_compact_form_and_a_repeated_equal_length_are_read():
    framer = StreamFramer(4096)
    compact = message_with_body(b"abc", b"l: 3")
    twice = message_with_body(b"abc", b"Content-Length: 3\r\ncontent-length:  3")
    assert framer.feed(compact + twice) == [compact, twice]


def test_pings_and_pongs_between_messages():
    framer = StreamFramer(4096)
    assert framer.feed(PING) == [PING]
    assert framer.feed(PONG) == [PONG]
    items = framer.feed(PING + OPTIONS + PONG + OPTIONS + PING)
    assert items == [PING, OPTIONS, PONG, OPTIONS, PING]
    # CRLF CRLF CRLF reads as a ping and a pong (the greedy reading)
    assert framer.feed(PONG + PING) == [PING, PONG]
    # a ping cut after its first CR waits for the rest; a stray LF goes
    assert framer.feed(b"\r\n\r") == []
    assert framer.feed(b"\n\n" + OPTIONS) == [PING, OPTIONS]


def test_a_stream_without_content_length_cannot_be_framed():
    framer = StreamFramer(4096)
    no_length = OPTIONS.replace(b"Content-Length: 0\r\n", b"")
    assert "Content-Length" in refused(framer, no_length)


def test_a_malformed_or_contradicting_content_length_is_a_framing_error():
    for field in (b"Content-Length: ten", b"Content-Length: -1", b"Content-Length:", b"l: 1e3"):
        assert refused(StreamFramer(4096), message_with_body(b"", field)) is not None, field
    both = message_with_body(b"abc", b"Content-Length: 3\r\nContent-Length: 4")
    assert refused(StreamFramer(4096), both) is not None


def test_a_huge_content_length_is_refused_before_its_body_arrives():
    framer = StreamFramer(4096)
    head = message_with_body(b"", b"Content-Length: 999999999")
    assert "over the limit" in refused(framer, head)


def test_a_header_section_that_never_ends_is_refused_at_the_bound():
    framer = StreamFramer(1024)
    endless = b"INVITE sip:door@192.0.2.5 SIP/2.0\r\n" + b"X-Pad: " + b"a" * 2000
    assert refused(framer, endless) is not None


def test_a_message_just_within_the_bound_passes():
    body = b"x" * 100
    whole = message_with_body(body)
    assert StreamFramer(len(whole)).feed(whole) == [whole]
    assert refused(StreamFramer(len(whole) - 1), whole) is not None
