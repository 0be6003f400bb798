# HTTP Digest authentication for SIP (RFC 3261 section 22, RFC 7616,
# RFC 8760): read WWW-Authenticate / Proxy-Authenticate challenges, build
# Authorization / Proxy-Authorization values.
#
# Supported: algorithm MD5, SHA-256, MD5-sess, SHA-256-sess (RFC 8760
# section 2.1; SHA-512-256 is not offered by MicroPython's hashlib, so such
# a challenge is "unusable"); qop=auth, qop=auth-int (used only when the
# server offers nothing else; the body hash is H(body), RFC 7616 section
# 3.4.3); no qop at all (RFC 2069 compatibility, RFC 7616 section 3.4.1 last
# paragraph); userhash (RFC 7616 section 3.4.4); opaque echoed unchanged.
#
# Challenge choice (best_challenge): SHA-256 before MD5, and within one hash
# the plain form before -sess; a stale=true challenge is as good as any.

import binascii
import hashlib

from intercom.sip.grammar import SipParseError, is_token, quote, quoted_end, unquote

_ALGORITHMS = {
    "MD5": ("md5", False),
    "MD5-SESS": ("md5", True),
    "SHA-256": ("sha256", False),
    "SHA-256-SESS": ("sha256", True),
}
_SPELLING = {"MD5-SESS": "MD5-sess", "SHA-256-SESS": "SHA-256-sess"}
_PREFERENCE = ("SHA-256", "SHA-256-sess", "MD5", "MD5-sess")


class Challenge:
    """One Digest challenge. algorithm is "MD5", "SHA-256", "MD5-sess" or
    "SHA-256-sess" (MD5 when the server named none, RFC 7616 section 3.3);
    qop is a list of lowercase tokens (empty: RFC 2069 style)."""

    def __init__(self, realm, nonce, algorithm="MD5", qop=None, opaque=None, stale=False):
        self.scheme = "Digest"
        self.realm = realm
        self.nonce = nonce
        self.algorithm = algorithm
        self.qop = qop if qop is not None else []
        self.opaque = opaque
        self.stale = stale
        self.userhash = False
        self.algorithm_named = True  # was algorithm= present (then we echo it)

    def __repr__(self):
        return "<Challenge %s realm=%s>" % (self.algorithm, self.realm)


def _skip_space(text, index):
    while index < len(text) and text[index] in " \t":
        index += 1
    return index


def _read_word(text, index):
    start = index
    while index < len(text) and text[index] not in ' \t,="':
        index += 1
    return text[start:index], index


def _scan(text):
    """Challenge list text -> [(scheme, {lowercase name: value})].

    RFC 7235 section 4.1: challenges and their auth-params are separated by
    commas; a new challenge starts with a scheme token not followed by "=".
    Raises SipParseError on a malformed list.
    """
    challenges = []
    index = 0
    length = len(text)
    while index < length:
        index = _skip_space(text, index)
        if index < length and text[index] == ",":
            index += 1
            continue
        if index >= length:
            break
        word, after = _read_word(text, index)
        if not is_token(word):
            raise SipParseError(0, "malformed challenge")
        equals = _skip_space(text, after)
        if equals < length and text[equals] == "=":
            if not challenges:
                raise SipParseError(0, "auth-param before a scheme")
            index = _skip_space(text, equals + 1)
            if index < length and text[index] == '"':
                end = quoted_end(text, index)
                value = unquote(text[index:end])
            else:
                value, end = _read_word(text, index)
                if not value:
                    raise SipParseError(0, "empty auth-param")
            challenges[-1][1][word.lower()] = value
            index = end
        else:
            challenges.append((word, {}))
            index = after
    return challenges


def _from_params(params):
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm not in _ALGORITHMS or "realm" not in params or "nonce" not in params:
        return None
    qop = [token.strip().lower() for token in params.get("qop", "").split(",") if token.strip()]
    if qop and "auth" not in qop and "auth-int" not in qop:
        return None  # only qop values we do not know
    challenge = Challenge(
        params["realm"],
        params["nonce"],
        _SPELLING.get(algorithm, algorithm),
        qop,
        params.get("opaque"),
        params.get("stale", "").lower() == "true",
    )
    challenge.userhash = params.get("userhash", "").lower() == "true"
    challenge.algorithm_named = "algorithm" in params
    return challenge


def parse_challenges(value):
    """Every usable Digest challenge in one header value, in order."""
    try:
        scanned = _scan(value)
    except SipParseError:
        return []
    found = []
    for scheme, params in scanned:
        if scheme.lower() == "digest":
            challenge = _from_params(params)
            if challenge is not None:
                found.append(challenge)
    return found


def best_challenge(values):
    """The challenge to answer among header values (see the rule on top)."""
    found = []
    for value in values:
        found.extend(parse_challenges(value))
    for algorithm in _PREFERENCE:
        for challenge in found:
            if challenge.algorithm == algorithm:
                return challenge
    return None


def parse_challenge(value):
    """One WWW-Authenticate/Proxy-Authenticate value -> the best usable
    Digest Challenge in it, or None (not Digest, malformed, unsupported)."""
    return best_challenge([value])


def _hex_hash(hash_name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    digest = getattr(hashlib, hash_name)(data).digest()
    return binascii.hexlify(digest).decode()


def authorization_value(challenge, method, uri, username, password, nonce_count, cnonce, body=b""):
    """The Authorization / Proxy-Authorization value answering challenge.

    nonce_count: how many requests used this nonce, 1 for the first (sent as
    8 hex digits); cnonce: a fresh random token from the caller; body: the
    request body (qop=auth-int only).
    """
    hash_name, session = _ALGORITHMS[challenge.algorithm.upper()]

    def digest(text):
        return _hex_hash(hash_name, text)

    ha1 = digest("%s:%s:%s" % (username, challenge.realm, password))
    if session:
        ha1 = digest("%s:%s:%s" % (ha1, challenge.nonce, cnonce))
    if "auth" in challenge.qop:
        qop = "auth"
    elif "auth-int" in challenge.qop:
        qop = "auth-int"
    else:
        qop = None
    if qop == "auth-int":
        ha2 = digest("%s:%s:%s" % (method, uri, _hex_hash(hash_name, body)))
    else:
        ha2 = digest("%s:%s" % (method, uri))
    count = "%08x" % (nonce_count & 0xFFFFFFFF)
    if qop is None:
        response = digest("%s:%s:%s" % (ha1, challenge.nonce, ha2))
    else:
        response = digest("%s:%s:%s:%s:%s:%s" % (ha1, challenge.nonce, count, cnonce, qop, ha2))
    if challenge.userhash:
        username = digest("%s:%s" % (username, challenge.realm))
    parts = [
        "Digest username=" + quote(username),
        "realm=" + quote(challenge.realm),
        "nonce=" + quote(challenge.nonce),
        "uri=" + quote(uri),
        "response=" + quote(response),
    ]
    if challenge.algorithm_named:
        parts.append("algorithm=" + challenge.algorithm)
    if qop is not None or session:
        parts.append("cnonce=" + quote(cnonce))
    if challenge.opaque is not None:
        parts.append("opaque=" + quote(challenge.opaque))
    if qop is not None:
        parts.append("qop=" + qop)
        parts.append("nc=" + count)
    if challenge.userhash:
        parts.append("userhash=true")
    return ", ".join(parts)
