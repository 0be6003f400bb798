# Structured header field values (RFC 3261 section 20): Via, name-addr /
# addr-spec (From, To, Contact, Route, Record-Route, Refer-To...) and CSeq.
# message.py re-exports these; every parser raises only SipParseError.

from intercom.sip.grammar import (
    SipParseError,
    bad,
    format_hostport,
    format_params,
    has_space,
    is_digits,
    is_token,
    new_params,
    parse_hostport,
    parse_params,
    quote,
    quoted_end,
    split_outside,
    unquote,
)
from intercom.sip.uri import parse_uri, uri_scheme

# RFC 3261 section 8.1.1.7: a branch starting with this was built by an
# RFC 3261 element and is unique per transaction.
MAGIC_COOKIE = "z9hG4bK"
MAX_CSEQ = (1 << 31) - 1  # section 8.1.1.5


class Via:
    """One Via value: SIP/2.0/<transport> <host>[:<port>];params (section 20.42).

    params: dict with lowercase keys; flags (rport without value) map to None.
    """

    def __init__(self, transport, host, port=None, params=None):
        self.transport = transport
        self.host = host
        self.port = port
        self.params = params if params is not None else new_params()

    @property
    def branch(self):
        return self.params.get("branch")

    def to_string(self):
        return "SIP/2.0/%s %s%s" % (
            self.transport,
            format_hostport(self.host, self.port),
            format_params(self.params),
        )

    def __str__(self):
        return self.to_string()


def _join_sent_by(words):
    # sent-by = host [ COLON port ] and COLON = SWS ":" SWS, so white space
    # may sit around the colon but nowhere else.
    text = words[0]
    for word in words[1:]:
        if not (text.endswith(":") or word.startswith(":")):
            raise bad("junk in Via sent-by")
        text += word
    return text


def parse_via(value):
    """One Via value (already split from its neighbours) -> Via."""
    semicolon = value.find(";")
    head = value if semicolon < 0 else value[:semicolon]
    params = parse_params(value[semicolon + 1 :]) if semicolon >= 0 else new_params()
    parts = head.split("/")
    if len(parts) != 3:
        raise bad("malformed Via sent-protocol")
    if parts[0].strip().upper() != "SIP" or parts[1].strip() != "2.0":
        raise bad("Via is not SIP/2.0")
    words = parts[2].split()
    if len(words) < 2 or not is_token(words[0]):
        raise bad("malformed Via")
    host, port = parse_hostport(_join_sent_by(words[1:]))
    for name, largest in (("ttl", 255), ("rport", 65535)):
        number = params.get(name)
        if number is not None and not (is_digits(number, 5) and int(number) <= largest):
            raise bad("malformed Via " + name)
    branch = params.get("branch", "")
    if branch == MAGIC_COOKIE or (branch is None and "branch" in params):
        # RFC 4475 section 3.2.1 (badbranch): the cookie without an identifier.
        raise bad("Via branch has no transaction identifier")
    return Via(words[0].upper(), host, port, params)


class NameAddr:
    """name-addr or addr-spec plus header parameters (section 20.10).

    display: the display name without quotes, or None; uri: str; params: the
    header parameters (tag, expires, q...) with lowercase keys.
    """

    def __init__(self, uri, display=None, params=None):
        self.uri = uri
        self.display = display
        self.params = params if params is not None else new_params()

    @property
    def tag(self):
        return self.params.get("tag")

    def to_string(self):
        text = "<%s>%s" % (self.uri, format_params(self.params))
        if self.display is None:
            return text
        return quote(self.display) + " " + text

    def __str__(self):
        return self.to_string()


def _check_uri(uri):
    scheme = uri_scheme(uri)
    if scheme is None or has_space(uri):
        raise bad("malformed URI in name-addr")
    if scheme in ("sip", "sips", "tel"):
        parse_uri(uri)


def _display_name(text):
    # display-name = *(token LWS) / quoted-string
    text = text.strip()
    if not text:
        return None
    if text.startswith('"'):
        if quoted_end(text, 0) != len(text):
            raise bad("junk after quoted display name")
        return unquote(text)
    for word in text.split():
        if not is_token(word):
            raise bad("display name needs quotes")
    return " ".join(text.split())


def parse_name_addr(value):
    """From/To/Contact/Route-style value -> NameAddr (section 20.10).

    In addr-spec form (no <>), everything after the first ';' is a header
    parameter, never a URI parameter.
    """
    text = value.strip()
    if text.startswith('"'):
        end = quoted_end(text, 0)
        less = text.find("<", end)
        if less < 0 or text[end:less].strip():
            raise bad("quoted display name without <URI>")
    else:
        less = text.find("<")
    if less >= 0:
        display = _display_name(text[:less])
        greater = text.find(">", less)
        if greater < 0:
            raise bad("missing > in name-addr")
        uri = text[less + 1 : greater]
        rest = text[greater + 1 :].strip()
        if rest and not rest.startswith(";"):
            raise bad("junk after name-addr")
        _check_uri(uri)
        return NameAddr(uri, display, parse_params(rest[1:]))
    semicolon = text.find(";")
    uri = text if semicolon < 0 else text[:semicolon].strip()
    if "?" in uri or "," in uri:
        # Section 20: such a URI must be enclosed in <> (RFC 4475 regbadct).
        raise bad("addr-spec needs <>")
    _check_uri(uri)
    params = parse_params(text[semicolon + 1 :]) if semicolon >= 0 else None
    return NameAddr(uri, None, params)


def parse_cseq(value):
    """CSeq value -> (number, method) (section 20.16); number < 2**31."""
    words = value.split()
    if len(words) != 2 or not is_digits(words[0], 10) or not is_token(words[1]):
        raise bad("malformed CSeq")
    number = int(words[0])
    if number > MAX_CSEQ:
        raise bad("CSeq number too large")
    return number, words[1]


def split_list(value):
    """A comma-separated header value -> its non-empty elements.

    A value with an unterminated quoted-string stays whole (validating the
    element is the caller's job), so reading a list never raises.
    """
    try:
        pieces = split_outside(value, ",")
    except SipParseError:
        return [value.strip()]
    return [piece for piece in pieces if piece]
