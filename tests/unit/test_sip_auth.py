# Digest authentication (RFC 7616, RFC 8760, RFC 3261 section 22).

from intercom.sip.auth import (
    Challenge,
    authorization_value,
    best_challenge,
    parse_challenge,
    parse_challenges,
)

# RFC 7616 section 3.9.1: the same request answered with SHA-256 and MD5.
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_CHALLENGES = [
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="%s", opaque="%s"' % (RFC7616_NONCE, RFC7616_OPAQUE),
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    'nonce="%s", opaque="%s"' % (RFC7616_NONCE, RFC7616_OPAQUE),
]


def params_of(value):
    """Authorization value -> {name: value without quotes}."""
    assert value.startswith("Digest ")
    params = {}
    for piece in value[len("Digest ") :].split(", "):
        name, text = piece.split("=", 1)
        params[name] = text[1:-1] if text.startswith('"') else text
    return params


def rfc7616_answer(challenge_value):
    challenge = parse_challenge(challenge_value)
    return params_of(
        authorization_value(
            challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life", 1, RFC7616_CNONCE
        )
    )


def test_rfc7616_sha256_response():
    params = rfc7616_answer(RFC7616_CHALLENGES[0])
    assert params["response"] == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )
    assert params["algorithm"] == "SHA-256"
    assert (params["qop"], params["nc"], params["cnonce"]) == ("auth", "00000001", RFC7616_CNONCE)
    assert params["opaque"] == RFC7616_OPAQUE
    assert params["uri"] == "/dir/index.html" and params["username"] == "Mufasa"


def test_rfc7616_md5_response():
    params = rfc7616_answer(RFC7616_CHALLENGES[1])
    assert params["response"] == "8ca523f5e9506fed4657c9700eebdbec"
    assert params["algorithm"] == "MD5"


def test_sha256_is_preferred_over_md5_in_either_order():
    assert best_challenge(RFC7616_CHALLENGES).algorithm == "SHA-256"
    assert best_challenge(list(reversed(RFC7616_CHALLENGES))).algorithm == "SHA-256"


def test_several_challenges_in_one_value():
    value = RFC7616_CHALLENGES[1] + ", " + RFC7616_CHALLENGES[0]
    found = parse_challenges(value)
    assert [challenge.algorithm for challenge in found] == ["MD5", "SHA-256"]
    assert parse_challenge(value).algorithm == "SHA-256"


def test_challenge_fields_quoted_and_token_params():
    challenge = parse_challenge(
        'digest REALM="a, b \\"c\\"", NONCE="n,1", Qop=auth, stale=TRUE, algorithm=md5-sess'
    )
    assert challenge.scheme == "Digest"
    assert challenge.realm == 'a, b "c"' and challenge.nonce == "n,1"
    assert challenge.qop == ["auth"] and challenge.stale is True
    assert challenge.algorithm == "MD5-sess" and challenge.opaque is None


def test_missing_algorithm_means_md5_and_is_not_echoed():
    challenge = parse_challenge(
        'Digest realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e"'
    )
    assert challenge.algorithm == "MD5" and challenge.qop == []
    assert "algorithm" not in params_of(
        authorization_value(challenge, "INVITE", "sip:bob@biloxi.com", "bob", "zanzibar", 1, "c")
    )


def test_unusable_challenges():
    assert parse_challenge('Basic realm="x"') is None
    assert parse_challenge('Digest realm="x", nonce="y", algorithm=SHA-512-256') is None
    assert parse_challenge('Digest nonce="y"') is None  # no realm
    assert parse_challenge('Digest realm="x", nonce="y", qop="auth-conf"') is None
    assert parse_challenge('Digest realm="x, nonce="y"') is None  # unbalanced quote
    assert parse_challenge("") is None and parse_challenge("=,,=") is None


def test_rfc2069_mode_has_no_cnonce_or_nc():
    challenge = Challenge("biloxi.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093")
    params = params_of(
        authorization_value(challenge, "REGISTER", "sip:biloxi.com", "bob", "zanzibar", 1, "0a4f")
    )
    assert "cnonce" not in params and "nc" not in params and "qop" not in params
    assert len(params["response"]) == 32


def test_nonce_count_is_eight_hex_digits():
    challenge = Challenge("r", "n", "SHA-256", ["auth"])
    value = authorization_value(challenge, "INVITE", "sip:a@b", "u", "p", 0x1A2B, "cn")
    assert params_of(value)["nc"] == "00001a2b"
    assert len(params_of(value)["response"]) == 64


def test_auth_int_only_when_nothing_else_is_offered():
    both = Challenge("r", "n", "MD5", ["auth-int", "auth"])
    assert (
        params_of(authorization_value(both, "INVITE", "sip:a@b", "u", "p", 1, "c"))["qop"] == "auth"
    )
    only = Challenge("r", "n", "MD5", ["auth-int"])
    with_body = authorization_value(only, "INVITE", "sip:a@b", "u", "p", 1, "c", b"v=0\r\n")
    without = authorization_value(only, "INVITE", "sip:a@b", "u", "p", 1, "c", b"")
    assert params_of(with_body)["qop"] == "auth-int"
    assert params_of(with_body)["response"] != params_of(without)["response"]


def test_sess_changes_response_and_sends_cnonce():
    plain = Challenge("r", "n", "SHA-256", ["auth"])
    sess = Challenge("r", "n", "SHA-256-sess", ["auth"])
    one = params_of(authorization_value(plain, "BYE", "sip:a@b", "u", "p", 1, "c"))
    two = params_of(authorization_value(sess, "BYE", "sip:a@b", "u", "p", 1, "c"))
    assert one["response"] != two["response"] and two["cnonce"] == "c"


def test_quotes_in_username_are_escaped():
    challenge = Challenge("r", "n")
    value = authorization_value(challenge, "REGISTER", "sip:r", 'a"b', "p", 1, "c")
    assert value.startswith('Digest username="a\\"b", ')


def test_userhash_replaces_the_username():
    challenge = parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-256, userhash=true')
    params = params_of(authorization_value(challenge, "REGISTER", "sip:r", "u", "p", 1, "c"))
    assert params["userhash"] == "true" and len(params["username"]) == 64
