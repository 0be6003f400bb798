# SIP/SIPS/tel URIs (RFC 3261 section 19.1, RFC 3966, RFC 5118).

from intercom.sip.message import SipParseError
from intercom.sip.uri import SipUri, parse_uri


def status_of(text):
    try:
        parse_uri(text)
    except SipParseError as error:
        return error.status
    return None


def test_full_sip_uri():
    uri = parse_uri(
        "sip:alice:secret@atlanta.com:5070;transport=UDP;lr?subject=project&priority=urgent"
    )
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sip",
        "alice",
        "secret",
        "atlanta.com",
        5070,
    )
    assert uri.params["transport"] == "UDP" and uri.params["lr"] is None
    assert uri.headers["subject"] == "project" and uri.headers["priority"] == "urgent"
    assert uri.to_string() == (
        "sip:alice:secret@atlanta.com:5070;transport=UDP;lr?subject=project&priority=urgent"
    )


def test_scheme_and_parameter_names_are_case_insensitive():
    uri = parse_uri("SIPS:Bob@Biloxi.example.COM;MADDR=239.255.255.1")
    assert uri.scheme == "sips" and uri.user == "Bob" and uri.params["maddr"] == "239.255.255.1"


def test_host_only_and_ipv4():
    uri = parse_uri("sip:192.0.2.4")
    assert (uri.user, uri.host, uri.port) == (None, "192.0.2.4", None)
    assert uri.to_string() == "sip:192.0.2.4"


def test_ipv6_reference():
    uri = parse_uri("sip:door@[2001:db8::1]:5060;transport=udp")
    assert (uri.host, uri.port) == ("2001:db8::1", 5060)
    assert uri.to_string() == "sip:door@[2001:db8::1]:5060;transport=udp"
    assert parse_uri("sip:[::1]").host == "::1"


def test_escapes_are_resolved_and_restored():
    uri = parse_uri("sip:I%20have%20spaces@example.net")
    assert uri.user == "I have spaces"
    assert uri.to_string() == "sip:I%20have%20spaces@example.net"
    assert parse_uri("sip:%41lice@example.net").to_string() == "sip:Alice@example.net"


def test_tel_uri():
    uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", None)
    assert uri.params["phone-context"] == "example.com"
    assert uri.to_string() == "tel:+1-201-555-0123;phone-context=example.com"


def test_unknown_schemes_are_416():
    assert status_of("mailto:door@example.org") == 416
    assert status_of("http://example.org/") == 416
    assert status_of("soap.beep://192.0.2.100:3002") == 416


def test_garbage_is_400():
    for text in (
        "",
        "sip:",
        "sip:@example.com",
        "sip:user@",
        "sip:a@b@c",
        "sip:user@exa mple.com",
        "<sip:user@example.com>",
        "sip:user@example.com:99999",
        "sip:user@example.com:port",
        "sip:2001:db8::10",
        "sip:[2001:db8::10",
        "sip:[2001:db8::g]",
        "sip:[2001:db8::1]x",
        "sip:user@example.com;",
        "sip:bad%zzescape@example.com",
        "sip:user@example.com?noequals",
        "tel:",
        "tel:12@34",
        "1sip:user@example.com",
        "sip:user@-bad-.example.com",
    ):
        assert status_of(text) == 400, text


def test_at_most_64_parameters_and_64_headers():
    params = "".join(";p%d=1" % number for number in range(65))
    headers = "&".join("h%d=1" % number for number in range(65))
    base = "sip:door@example.org"
    assert len(parse_uri(base + params[: params.index(";p64")]).params) == 64
    assert status_of(base + params) == 400
    assert len(parse_uri(base + "?" + headers[: headers.index("&h64")]).headers) == 64
    assert status_of(base + "?" + headers) == 400


def test_build_and_round_trip():
    uri = SipUri("sip", "door 1", "2001:db8::2", 5062)
    uri.params["transport"] = "udp"
    assert uri.to_string() == "sip:door%201@[2001:db8::2]:5062;transport=udp"
    again = parse_uri(uri.to_string())
    assert (again.user, again.host, again.port) == ("door 1", "2001:db8::2", 5062)
    assert str(again) == uri.to_string()


def test_ipv6_forms():
    for host in ("::", "::ffff:192.0.2.1", "2001:db8:0:0:0:0:0:1", "fe80::1:2:3:4:5:6"):
        assert parse_uri("sip:[%s]" % host).host == host
    for host in ("1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "::192.0.2.256"):
        assert status_of("sip:[%s]" % host) == 400, host
