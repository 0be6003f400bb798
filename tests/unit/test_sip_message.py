# SIP message parsing and building (RFC 3261 sections 7, 8.2.6, 18.3, 20).

from intercom.sip.message import (
    MAX_HEADER_FIELDS,
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    Via,
    error_response,
    make_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_via,
    unsupported_requirements,
)

INVITE = (
    b"INVITE sip:door@192.0.2.10 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKa1;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Flat 1" <sip:flat1@example.org>;tag=f1\r\n'
    b"To: <sip:door@example.org>\r\n"
    b"Call-ID: c1@192.0.2.20\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Timestamp: 54\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


def status_of(data, max_size=65536):
    try:
        parse_message(data, max_size)
    except SipParseError as error:
        return error.status
    return None


def assert_each_refused_with_400(parse, values):
    """parse raises SipParseError with status 400 for every one of values."""
    for value in values:
        try:
            parse(value)
        except SipParseError as error:
            assert error.status == 400
        else:
            raise AssertionError(value)


def test_parse_request_fields_and_body():
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    assert (request.method, request.uri, request.body) == (
        "INVITE",
        "sip:door@192.0.2.10",
        b"v=0\n",
    )
    assert request.headers.get("call-id") == "c1@192.0.2.20"
    assert request.headers.get("Missing") is None and request.headers.get("Missing", "x") == "x"


def test_crlf_keepalives_are_not_errors():
    assert parse_message(b"\r\n\r\n") is None
    assert parse_message(b"\r\n") is None
    assert parse_message(b"") is None


def test_leading_crlf_before_the_start_line_is_ignored():
    assert parse_message(b"\r\n\r\n" + INVITE).method == "INVITE"


def test_compact_forms_and_case_are_the_same_field():
    headers = Headers()
    headers.add("v", "SIP/2.0/UDP a;branch=z9hG4bK1")
    headers.add("VIA", "SIP/2.0/UDP b;branch=z9hG4bK2")
    headers.add("i", "x")
    assert headers.get_all("Via") == [
        "SIP/2.0/UDP a;branch=z9hG4bK1",
        "SIP/2.0/UDP b;branch=z9hG4bK2",
    ]
    assert headers.get("CALL-ID") == "x"
    assert headers.items()[0][0] == "Via" and headers.items()[2][0] == "Call-ID"


def test_get_all_splits_lists_but_not_inside_quotes_or_angles():
    headers = Headers()
    headers.add("Contact", '"Doe, John" <sip:j@a;x=1,2>, <sip:k@b>')
    headers.add("Contact", "<sip:l@c>")
    headers.add("Date", "Sat, 13 Nov 2010 23:29:00 GMT")
    assert headers.get_all("Contact") == ['"Doe, John" <sip:j@a;x=1,2>', "<sip:k@b>", "<sip:l@c>"]
    assert headers.get("Contact") == '"Doe, John" <sip:j@a;x=1,2>'
    assert headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]


def test_authenticate_values_are_not_split_on_commas():
    headers = Headers()
    headers.add("WWW-Authenticate", 'Digest realm="a", nonce="b"')
    assert headers.get_all("www-authenticate") == ['Digest realm="a", nonce="b"']


def test_set_replaces_in_place_and_remove():
    headers = Headers()
    headers.add("Via", "v1")
    headers.add("To", "t")
    headers.add("Via", "v2")
    headers.set("via", "v3")
    assert headers.items() == [("Via", "v3"), ("To", "t")]
    headers.remove("TO")
    assert headers.items() == [("Via", "v3")]
    headers.set("X-Custom", "1")
    assert headers.items()[-1] == ("X-Custom", "1")


def test_line_folding_is_undone():
    data = INVITE.replace(b"Subject", b"").replace(
        b"Timestamp: 54\r\n", b"Subject: a\r\n  folded\r\n\tline\r\nTimestamp: 54\r\n"
    )
    assert parse_message(data).headers.get("Subject") == "a folded line"


def test_request_to_bytes_sets_content_length():
    request = Request("OPTIONS", "sip:flat1@example.org")
    request.headers.add("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx")
    request.headers.add("Content-Length", "99")
    request.body = b"hello"
    assert request.to_bytes() == (
        b"OPTIONS sip:flat1@example.org SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx\r\n"
        b"Content-Length: 5\r\n"
        b"\r\nhello"
    )


def test_round_trip_of_a_built_response():
    response = Response(486, "Busy Here")
    response.headers.add("Via", "SIP/2.0/UDP h;branch=z9hG4bK1")
    for name, value in (("From", "<sip:a@b>;tag=1"), ("To", "<sip:c@d>;tag=2")):
        response.headers.add(name, value)
    response.headers.add("Call-ID", "id")
    response.headers.add("CSeq", "7 INVITE")
    parsed = parse_message(response.to_bytes())
    assert (parsed.status, parsed.reason, parsed.body) == (486, "Busy Here", b"")
    assert parsed.headers.get("Content-Length") == "0"


def test_content_length_rules_for_udp():
    # Longer body: truncated to Content-Length (section 18.3).
    assert parse_message(INVITE + b"garbage").body == b"v=0\n"
    # Shorter body: 400.
    assert status_of(INVITE.replace(b"Content-Length: 4", b"Content-Length: 40")) == 400
    # No Content-Length: the rest of the datagram.
    assert parse_message(INVITE.replace(b"Content-Length: 4\r\n", b"") + b"x").body == b"v=0\nx"


def test_max_size():
    big = INVITE.replace(b"Content-Length: 4", b"Content-Length: 9000") + b"x" * 8996
    assert parse_message(big).body[-1:] == b"x"
    try:
        parse_message(big, max_size=8192)
    except SipParseError as error:
        assert error.status == 513
        assert error_response(error).status == 513
    else:
        raise AssertionError("an oversize request parsed")
    # A response that is too big is dropped; so is one whose headers are cut.
    assert status_of(b"SIP/2.0 200 OK\r\n" + b"X: y\r\n" * 2000, max_size=8192) == 0


def test_missing_mandatory_fields_give_400_and_max_forwards_is_optional():
    for name in (b"Via", b"From", b"To", b"Call-ID", b"CSeq"):
        lines = [line for line in INVITE.split(b"\r\n") if not line.startswith(name + b":")]
        assert status_of(b"\r\n".join(lines)) == 400, name
    lines = [line for line in INVITE.split(b"\r\n") if not line.startswith(b"Max-Forwards")]
    assert parse_message(b"\r\n".join(lines)).method == "INVITE"


def test_unsupported_request_uri_scheme_is_416_and_bad_version_505():
    assert status_of(INVITE.replace(b"sip:door@192.0.2.10", b"mailto:door@example.org", 1)) == 416
    assert status_of(INVITE.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)) == 505


def test_malformed_responses_and_garbage_are_dropped():
    response = (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    assert parse_message(response).status == 200
    # An odd Date does not cost us a usable response (requests get 400).
    assert parse_message(response.replace(b"Call-ID", b"Date: soon\r\nCall-ID")).status == 200
    assert status_of(response.replace(b"Call-ID: x\r\n", b"")) == 0
    assert status_of(response.replace(b"200 OK", b"2000 OK")) == 0
    assert status_of(response.replace(b"SIP/2.0 200", b"SIP/3.0 200")) == 0
    assert status_of(b"\x00\xff\xfe garbage") == 0
    assert status_of(b"hello") == 0


def test_header_field_count_is_bounded():
    many = INVITE.replace(b"Timestamp: 54\r\n", b"X-Filler: 1\r\n" * MAX_HEADER_FIELDS)
    assert status_of(many) == 400


def test_make_response_copies_fields_and_adds_the_to_tag():
    request = parse_message(INVITE)
    response = make_response(request, 180, to_tag="door1")
    assert response.to_bytes() == (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKa1;rport\r\n"
        b'From: "Flat 1" <sip:flat1@example.org>;tag=f1\r\n'
        b"To: <sip:door@example.org>;tag=door1\r\n"
        b"Call-ID: c1@192.0.2.20\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    trying = make_response(request, 100)
    assert trying.reason == "Trying" and trying.headers.get("Timestamp") == "54"
    assert trying.headers.get("To") == "<sip:door@example.org>"


def test_make_response_keeps_an_existing_to_tag():
    request = parse_message(INVITE.replace(b"To: <sip:door@example.org>", b"To: <sip:d@e>;tag=x"))
    assert make_response(request, 200, "OK", to_tag="y").headers.get("To") == "<sip:d@e>;tag=x"


def test_error_response_for_a_bad_request_and_none_for_ack():
    data = INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE")
    try:
        parse_message(data)
    except SipParseError as error:
        response = error_response(error)
        assert response.status == 400 and response.headers.get("Call-ID") == "c1@192.0.2.20"
    ack = INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"SIP/2.0\r\n", b"SIP/9.0\r\n", 1)
    try:
        parse_message(ack.replace(b"1 INVITE", b"1 ACK"))
    except SipParseError as error:
        assert error.status == 505 and error_response(error) is None


def test_unsupported_requirements():
    request = parse_message(INVITE.replace(b"Timestamp: 54", b"Require: 100rel, Timer, foo"))
    assert unsupported_requirements(request, ["timer", "replaces"]) == ["100rel", "foo"]
    request.method = "CANCEL"
    assert unsupported_requirements(request, []) == []


def test_via_parse_and_format():
    via = parse_via("SIP/2.0/udp 192.0.2.1:5062;branch=z9hG4bKabc;rport;received=10.0.0.9;ttl=16")
    assert (via.transport, via.host, via.port, via.branch) == (
        "UDP",
        "192.0.2.1",
        5062,
        "z9hG4bKabc",
    )
    assert via.params["rport"] is None and via.params["ttl"] == "16"
    assert via.to_string() == (
        "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc;rport;received=10.0.0.9;ttl=16"
    )
    via = Via("UDP", "2001:db8::1", 5060)
    via.params["branch"] = "z9hG4bK1"
    via.params["rport"] = None
    assert via.to_string() == "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport"
    assert parse_via("SIP/2.0/UDP h;rport=5070").params["rport"] == "5070"


def test_malformed_via_values():
    values = [
        "SIP/2.0/UDP",
        "SIP/2.0 UDP h",
        "SIP/3.0/UDP h",
        "SIP/2.0/UDP h;ttl=300",
        "SIP/2.0/UDP h;rport=x",
        "SIP/2.0/UDP h extra",
        "SIP/2.0/UDP 2001:db8::1",
        "SIP/2.0/UDP h;;branch=z9hG4bK1",
    ]
    assert_each_refused_with_400(parse_via, values)


def test_name_addr_forms():
    plain = parse_name_addr("sip:a@b;tag=1;lr")
    assert (plain.display, plain.uri, plain.tag, plain.params["lr"]) == (None, "sip:a@b", "1", None)
    quoted = parse_name_addr('"A \\"B\\"" <sip:a@b;transport=udp>;tag=x')
    assert (quoted.display, quoted.uri, quoted.tag) == ('A "B"', "sip:a@b;transport=udp", "x")
    tokens = parse_name_addr("Front   Door <sip:door@example.org>")
    assert tokens.display == "Front Door"
    built = NameAddr("sip:door@example.org", 'Front "Door"')
    built.params["tag"] = "t1"
    assert built.to_string() == '"Front \\"Door\\"" <sip:door@example.org>;tag=t1'


def test_cseq():
    assert parse_cseq("42  REGISTER") == (42, "REGISTER")
    values = ["", "1", "x INVITE", "2147483648 INVITE", "1 INVITE extra"]
    assert_each_refused_with_400(parse_cseq, values)
