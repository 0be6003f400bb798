# Lexical pieces of the SIP grammar (RFC 3261 section 25.1), shared by
# uri.py, fields.py, message.py and auth.py.
#
# Everything here works on str (the header section decoded as UTF-8) and
# raises only SipParseError. Loops walk the input once: no backtracking, so
# the cost is linear in the input size.

try:
    from collections import OrderedDict
except ImportError:  # a MicroPython build without it: order on the wire may vary
    OrderedDict = dict

_TOKEN_EXTRA = "-.!%*_+`'~"
_HEX = "0123456789abcdefABCDEF"
# RFC 3261 section 25.1: unreserved = alphanum / mark
_MARK = "-_.!~*'()"
USER_SAFE = _MARK + "&=+$,;?/"  # user-unreserved
PASSWORD_SAFE = _MARK + "&=+$,"
PARAM_SAFE = _MARK + "[]/:&+$"  # param-unreserved
HEADER_SAFE = _MARK + "[]/?:+$"  # hnv-unreserved
# Bounds on what one peer message may make us build (not RFC limits: real
# messages stay far below them).
MAX_PARAMS = 64


class SipParseError(Exception):
    """The peer sent something we cannot accept.

    status: the response the RFC asks for (400, 505, 416, 413, 513, ...);
        0 means drop silently (malformed responses, garbage).
    reason: a short text, usable as the reason phrase.
    partial: the Request/Response holding what could be parsed, or None.
    """

    def __init__(self, status, reason, partial=None):
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.partial = partial


def new_params():
    """An empty parameter dict that keeps insertion order on MicroPython too
    (plain MicroPython dicts do not), so fields go out as they were built."""
    return OrderedDict()


def bad(reason):
    """The usual error: 400 Bad Request with a reason."""
    return SipParseError(400, reason)


def is_alnum(char):
    return ("a" <= char <= "z") or ("A" <= char <= "Z") or ("0" <= char <= "9")


def is_token(text):
    """token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")"""
    if not text:
        return False
    for char in text:
        if not (is_alnum(char) or char in _TOKEN_EXTRA):
            return False
    return True


def is_digits(text, max_length):
    if not text or len(text) > max_length:
        return False
    for char in text:
        if not ("0" <= char <= "9"):
            return False
    return True


def has_space(text):
    for char in text:
        if char in " \t\r\n":
            return True
    return False


def decode_text(data):
    """bytes -> str: UTF-8, or one char per byte when the bytes are not UTF-8."""
    try:
        return bytes(data).decode("utf-8")
    except UnicodeError:
        return "".join([chr(byte) for byte in data])


def quoted_end(text, start):
    """Index just past the quoted-string opening at text[start] ('"').

    quoted-pair (backslash + char) is skipped. Raises on a missing closing quote.
    """
    index = start + 1
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\\":
            index += 2
        elif char == '"':
            return index + 1
        else:
            index += 1
    raise bad("unterminated quoted string")


def unquote(text):
    """The content of a quoted-string (with quotes), quoted-pairs resolved."""
    out = []
    index = 1
    end = len(text) - 1
    while index < end:
        char = text[index]
        if char == "\\" and index + 1 < end:
            index += 1
            char = text[index]
        out.append(char)
        index += 1
    return "".join(out)


def quote(text):
    """text as a quoted-string, escaping backslash and double quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_outside(text, separator):
    """Split on separator where it is not inside a quoted-string or <...>.

    Pieces are stripped; empty pieces are kept (callers decide). Raises on an
    unterminated quoted-string.
    """
    if '"' not in text and "<" not in text:
        return [piece.strip() for piece in text.split(separator)]  # the common case
    pieces = []
    depth = 0
    start = 0
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == '"':
            index = quoted_end(text, index)
            continue
        if char == "<":
            depth += 1
        elif char == ">" and depth:
            depth -= 1
        elif char == separator and not depth:
            pieces.append(text[start:index].strip())
            start = index + 1
        index += 1
    pieces.append(text[start:].strip())
    return pieces


def _is_param_value(value):
    # gen-value = token / host / quoted-string (RFC 3261 section 25.1); IPv6
    # references bring "[", "]" and ":".
    if value.startswith('"'):
        return len(value) >= 2 and quoted_end(value, 0) == len(value)
    if not value:
        return False
    for char in value:
        if not (is_alnum(char) or char in _TOKEN_EXTRA or char in "[]:"):
            return False
    return True


def parse_params(text):
    """';'-separated generic-params -> dict (lowercase names, None for flags).

    text holds what follows the first ';' (it may be empty). Quoted values
    keep their quotes. Raises on an empty or malformed parameter.
    """
    params = new_params()
    if not text.strip():
        return params
    pieces = split_outside(text, ";")
    if len(pieces) > MAX_PARAMS:
        raise bad("too many parameters")
    for piece in pieces:
        equals = piece.find("=")
        if equals < 0:
            name = piece
            value = None
        else:
            name = piece[:equals].strip()
            value = piece[equals + 1 :].strip()
            if not _is_param_value(value):
                raise bad("malformed parameter value")
        if not is_token(name):
            raise bad("malformed parameter")
        params[name.lower()] = value
    return params


def format_params(params):
    out = []
    for name in params:
        value = params[name]
        out.append(";" + name if value is None else ";%s=%s" % (name, value))
    return "".join(out)


def unescape(text):
    """%XX escapes resolved (RFC 3261 section 19.1.2); raises on a bad escape."""
    if "%" not in text:
        return text
    out = bytearray()
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "%":
            pair = text[index + 1 : index + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise bad("malformed % escape")
            out.append(int(pair, 16))
            index += 3
        else:
            out.extend(char.encode("utf-8"))
            index += 1
    return decode_text(out)


def escape(text, safe):
    """Escape every char outside alphanum and `safe` as %XX of its UTF-8 bytes."""
    out = []
    for char in text:
        if is_alnum(char) or char in safe:
            out.append(char)
        else:
            for byte in char.encode("utf-8"):
                out.append("%%%02X" % byte)
    return "".join(out)


def is_ipv4(text):
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not is_digits(part, 3) or int(part) > 255:
            return False
    return True


def _hex_groups_ok(groups):
    for group in groups:
        if not group or len(group) > 4:
            return False
        for char in group:
            if char not in _HEX:
                return False
    return True


def is_ipv6(text):
    """An IPv6 address (RFC 4291 section 2.2) without brackets.

    RFC 5118 section 4.10: the RFC 3261 ABNF also derives ":::" right before
    an embedded IPv4 address; we accept that one form, read as "::".
    """
    if not text or len(text) > 45:
        return False
    triple = text.find(":::")
    if triple >= 0 and is_ipv4(text[triple + 3 :]):
        text = text[: triple + 1] + text[triple + 2 :]
    groups_needed = 8
    last_colon = text.rfind(":")
    if "." in text[last_colon + 1 :]:
        if not is_ipv4(text[last_colon + 1 :]):
            return False
        text = text[: last_colon + 1] + "0:0"
    halves = text.split("::")
    if len(halves) > 2:
        return False
    if len(halves) == 1:
        groups = halves[0].split(":")
        return len(groups) == groups_needed and _hex_groups_ok(groups)
    head = halves[0].split(":") if halves[0] else []
    tail = halves[1].split(":") if halves[1] else []
    return len(head) + len(tail) < groups_needed and _hex_groups_ok(head + tail)


def is_hostname(text):
    if not text or len(text) > 255:
        return False
    labels = text.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()  # a fully qualified name may end with "."
    for label in labels:
        if not label or label[0] == "-" or label[-1] == "-":
            return False
        for char in label:
            if not (is_alnum(char) or char in "-_"):
                return False
    return True


def parse_port(text):
    if not is_digits(text, 5) or int(text) > 65535:
        raise bad("malformed port")
    return int(text)


def parse_hostport(text):
    """host [":" port] -> (host, port or None); IPv6 host comes without brackets."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or not is_ipv6(text[1:close]):
            raise bad("malformed IPv6 reference")
        host = text[1:close]
        rest = text[close + 1 :]
        if not rest:
            return host, None
        if rest[0] != ":":
            raise bad("junk after IPv6 reference")
        return host, parse_port(rest[1:])
    colon = text.find(":")
    host = text if colon < 0 else text[:colon]
    if not (is_ipv4(host) or is_hostname(host)):
        raise bad("malformed host")
    if colon < 0:
        return host, None
    return host, parse_port(text[colon + 1 :])


def format_host(host):
    """A host for the wire: IPv6 addresses go in brackets (RFC 3261 section 19.1.1)."""
    if ":" in host:
        return "[" + host + "]"
    return host


def format_hostport(host, port):
    if port is None:
        return format_host(host)
    return "%s:%d" % (format_host(host), port)
