# Digest responses checked against an independent computation with
# CPython's hashlib (RFC 7616 section 3.4.1 formulas written out again here),
# on an RFC 3261 style REGISTER challenge (section 22.4 / 20.44 example).

import hashlib

from intercom.sip.auth import authorization_value, parse_challenge

CHALLENGE = (
    'Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", '
    'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=%s'
)


def h(algorithm, text):
    name = "sha256" if algorithm.startswith("SHA-256") else "md5"
    return hashlib.new(name, text.encode()).hexdigest()


def expected(algorithm, qop, method, uri, body=b"", cnonce="0a4f113b", nc="00000001"):
    nonce = "f84f1cec41e6cbe5aea9c8e88d359"
    ha1 = h(algorithm, "bob:atlanta.com:zanzibar")
    if algorithm.endswith("-sess"):
        ha1 = h(algorithm, "%s:%s:%s" % (ha1, nonce, cnonce))
    if qop == "auth-int":
        name = "sha256" if algorithm.startswith("SHA-256") else "md5"
        ha2 = h(algorithm, "%s:%s:%s" % (method, uri, hashlib.new(name, body).hexdigest()))
    else:
        ha2 = h(algorithm, "%s:%s" % (method, uri))
    if qop is None:
        return h(algorithm, "%s:%s:%s" % (ha1, nonce, ha2))
    return h(algorithm, "%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))


def response_of(value):
    start = value.index('response="') + len('response="')
    return value[start : value.index('"', start)]


def test_md5_qop_auth():
    challenge = parse_challenge(CHALLENGE % "MD5")
    value = authorization_value(
        challenge, "REGISTER", "sip:atlanta.com", "bob", "zanzibar", 1, "0a4f113b"
    )
    assert response_of(value) == expected("MD5", "auth", "REGISTER", "sip:atlanta.com")
    assert 'opaque=""' in value and "nc=00000001" in value


def test_every_algorithm_with_and_without_qop():
    for algorithm in ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess"):
        with_qop = parse_challenge(CHALLENGE % algorithm)
        value = authorization_value(
            with_qop, "INVITE", "sip:bob@biloxi.com", "bob", "zanzibar", 7, "0a4f113b"
        )
        assert response_of(value) == expected(
            algorithm, "auth", "INVITE", "sip:bob@biloxi.com", nc="00000007"
        ), algorithm
        without = parse_challenge((CHALLENGE % algorithm).replace('qop="auth", ', ""))
        value = authorization_value(
            without, "BYE", "sip:bob@biloxi.com", "bob", "zanzibar", 1, "0a4f113b"
        )
        assert response_of(value) == expected(algorithm, None, "BYE", "sip:bob@biloxi.com"), (
            algorithm
        )


def test_auth_int_hashes_the_body():
    challenge = parse_challenge((CHALLENGE % "SHA-256").replace('qop="auth"', 'qop="auth-int"'))
    body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n"
    value = authorization_value(
        challenge, "INVITE", "sip:bob@biloxi.com", "bob", "zanzibar", 1, "0a4f113b", body
    )
    assert response_of(value) == expected(
        "SHA-256", "auth-int", "INVITE", "sip:bob@biloxi.com", body
    )
    assert "qop=auth-int" in value
