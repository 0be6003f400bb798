# SIP, SIPS (RFC 3261 section 19.1) and tel (RFC 3966) URIs.
#
#   sip:user:password@host:port;uri-parameters?headers
#   tel:+1-201-555-0123;phone-context=example.com
#
# Stored unescaped (user, password, parameter names and values, header names
# and values); to_string() escapes again what needs it, so parse/format
# round-trips to an equivalent URI (section 19.1.4). IPv6 hosts are kept
# without brackets and regain them on output. Any other scheme raises
# SipParseError 416 (Unsupported URI Scheme, section 21.4.15) when it is
# well formed, 400 otherwise.

from intercom.sip.grammar import (
    HEADER_SAFE,
    MAX_PARAMS,
    PARAM_SAFE,
    PASSWORD_SAFE,
    USER_SAFE,
    SipParseError,
    bad,
    escape,
    format_hostport,
    has_space,
    is_alnum,
    new_params,
    parse_hostport,
    unescape,
)

SUPPORTED_SCHEMES = ("sip", "sips", "tel")
_TEL_CHARS = "0123456789abcdefABCDEF+-.()*#pwPW"


class SipUri:
    def __init__(self, scheme, user, host, port=None, params=None, headers=None, password=None):
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.params = params if params is not None else new_params()
        self.headers = headers if headers is not None else new_params()

    def to_string(self):
        if self.scheme == "tel":
            out = ["tel:", escape(self.user, USER_SAFE)]
        else:
            out = [self.scheme, ":"]
            if self.user is not None:
                out.append(escape(self.user, USER_SAFE))
                if self.password is not None:
                    out.append(":" + escape(self.password, PASSWORD_SAFE))
                out.append("@")
            out.append(format_hostport(self.host, self.port))
        for name in self.params:
            value = self.params[name]
            out.append(";" + escape(name, PARAM_SAFE))
            if value is not None:
                out.append("=" + escape(value, PARAM_SAFE))
        separator = "?"
        for name in self.headers:
            out.append(
                "%s%s=%s"
                % (separator, escape(name, HEADER_SAFE), escape(self.headers[name], HEADER_SAFE))
            )
            separator = "&"
        return "".join(out)

    def __str__(self):
        return self.to_string()

    def __repr__(self):
        return "<SipUri %s>" % self.to_string()


def uri_scheme(text):
    """The lowercased scheme of an absolute URI, or None when text has none.

    scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3261 section 25.1)
    """
    colon = text.find(":")
    if colon < 1:
        return None
    scheme = text[:colon]
    if not ("a" <= scheme[0].lower() <= "z"):
        return None
    for char in scheme:
        if not (is_alnum(char) or char in "+-."):
            return None
    return scheme.lower()


def _split_bounded(text, separator, what):
    """text split at separator: at most MAX_PARAMS pieces, else malformed."""
    pieces = text.split(separator)
    if len(pieces) > MAX_PARAMS:
        raise bad("too many URI " + what)
    return pieces


def _parse_uri_params(text):
    params = new_params()
    for piece in _split_bounded(text, ";", "parameters"):
        equals = piece.find("=")
        name = piece if equals < 0 else piece[:equals]
        if not name:
            raise bad("empty URI parameter")
        value = None if equals < 0 else unescape(piece[equals + 1 :])
        params[unescape(name).lower()] = value
    return params


def _parse_uri_headers(text):
    headers = new_params()
    for piece in _split_bounded(text, "&", "headers"):
        equals = piece.find("=")
        if equals <= 0:
            raise bad("malformed URI header")
        headers[unescape(piece[:equals])] = unescape(piece[equals + 1 :])
    return headers


def _parse_tel(rest):
    semicolon = rest.find(";")
    number = rest if semicolon < 0 else rest[:semicolon]
    if not number:
        raise bad("empty tel number")
    for char in number:
        if char not in _TEL_CHARS and char != "%":
            raise bad("malformed tel number")
    params = _parse_uri_params(rest[semicolon + 1 :]) if semicolon >= 0 else None
    return SipUri("tel", unescape(number), None, None, params)


def parse_uri(text):
    """SIP/SIPS/tel URI text -> SipUri; raises SipParseError (416 or 400)."""
    if not isinstance(text, str):
        raise bad("URI is not text")
    scheme = uri_scheme(text)
    if scheme is None or has_space(text) or "<" in text or ">" in text:
        raise bad("malformed URI")
    if scheme not in SUPPORTED_SCHEMES:
        raise SipParseError(416, "Unsupported URI Scheme")
    rest = text[len(scheme) + 1 :]
    if scheme == "tel":
        return _parse_tel(rest)
    if rest.count("@") > 1:
        raise bad("more than one @ in URI")
    user = None
    password = None
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        colon = userinfo.find(":")
        if colon >= 0:
            password = unescape(userinfo[colon + 1 :])
            userinfo = userinfo[:colon]
        if not userinfo:
            raise bad("empty user in URI")
        user = unescape(userinfo)
    headers = None
    question = rest.find("?")
    if question >= 0:
        headers = _parse_uri_headers(rest[question + 1 :])
        rest = rest[:question]
    params = None
    semicolon = rest.find(";")
    if semicolon >= 0:
        params = _parse_uri_params(rest[semicolon + 1 :])
        rest = rest[:semicolon]
    host, port = parse_hostport(rest)
    return SipUri(scheme, user, host, port, params, headers, password)
