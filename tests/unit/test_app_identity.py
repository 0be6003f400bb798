# Caller identities for allow-lists: what counts and what never matches.
# Runs under pytest and under the MicroPython runner.

from intercom.app.identity import (
    allowed_identities,
    home_hosts,
    is_user,
    parse_identity,
)
from intercom.sip.grammar import SipParseError, parse_hostport
from intercom.sip.uri import parse_uri


def test_identity_of_uris_and_name_addrs():
    cases = (
        ("sip:flat1@example.org", ("flat1", "example.org")),
        ("sips:flat1@Example.ORG:5061", ("flat1", "example.org")),
        ("<sip:flat1@example.org;transport=udp>;tag=abc", ("flat1", "example.org")),
        ('"Flat \\"1\\" <x>" <sip:flat1@example.org>', ("flat1", "example.org")),
        ("Flat One <sip:+4930123@192.0.2.7>", ("+4930123", "192.0.2.7")),
        ("sip:192.0.2.7:5062", ("", "192.0.2.7")),
        ("sip:alice;day=tuesday@[2001:DB8::1]:5060", ("alice;day=tuesday", "[2001:db8::1]")),
        ("sip:%66lat1@example.org", ("flat1", "example.org")),
    )
    for text, expected in cases:
        assert parse_identity(text) == expected, text


def test_broken_input_has_no_identity():
    for text in (
        None,
        42,
        "",
        "tel:+4930123",
        "sip:",
        "sip:@example.org",
        "sip:a@b@c",
        "sip:a:pw@example.org",
        "sip:a b@example.org",
        "sip:%zz@example.org",
        "sip:a@-bad.example",
        "sip:a@exa..mple",
        "sip:a@host:99999",
        "sip:a@host:",
        "<sip:a@example.org",
        '"open <sip:a@example.org>',
        '"x" sip:a@example.org',
        "sip:a@[::1",
    ):
        assert parse_identity(text) is None, text


def test_the_one_uri_parser_reports_port_and_parameters():
    # identities, the config and the runtime read URIs with intercom.sip.uri
    uri = parse_uri("sip:a@h:5070")
    assert (uri.user, uri.host, uri.port, dict(uri.params), dict(uri.headers)) == (
        "a",
        "h",
        5070,
        {},
        {},
    )
    assert dict(parse_uri("sip:a@h;transport=udp").params) == {"transport": "udp"}
    assert dict(parse_uri("sip:a@h?subject=x").headers) == {"subject": "x"}


def test_the_one_hostport_parser():
    # identities, the config and the runtime read host:port with intercom.sip.grammar
    assert parse_hostport("PBX.example.org") == ("PBX.example.org", None)
    assert parse_hostport("192.0.2.1:5060") == ("192.0.2.1", 5060)
    assert parse_hostport("[::1]:8080") == ("::1", 8080)
    for bad in ("", ":5060", "h:x", "[::1]x", "a b", "[zz]:1"):
        try:
            parse_hostport(bad)
        except SipParseError:
            continue
        raise AssertionError("%r parsed" % bad)
    assert home_hosts({"domain": "PBX.example.org", "server": "[2001:DB8::1]:5060"}) == [
        "pbx.example.org",
        "[2001:db8::1]",
    ]


def test_is_user():
    assert is_user("flat1") and is_user("+49-30_1.2") and is_user("a%20b")
    for bad in ("", "a b", "a@b", "a:b", "a%2", None, 7):
        assert not is_user(bad), bad


def test_bare_users_belong_to_domain_and_server_only():
    sip = {"domain": "example.org", "server": "192.0.2.10:5060"}
    assert home_hosts(sip) == ["example.org", "192.0.2.10"]
    allowed = allowed_identities(["flat1", "sip:flat2@Other.example"], home_hosts(sip))
    assert allowed == [
        ("flat1", "example.org"),
        ("flat1", "192.0.2.10"),
        ("flat2", "other.example"),
    ]
    assert home_hosts({"domain": None, "server": None}) == []
