# SIP messages (RFC 3261 sections 7, 18.3, 20): parse datagrams, build
# requests and responses.
#
# parse_message(data, max_size) rules, in the order they are applied:
#
#   input                                    result
#   only CR/LF bytes (or nothing)            None: a keep-alive (section 7.5,
#                                            RFC 5626 section 4.4.1), not an error
#   no recognisable start line (not "SIP/"   SipParseError status 0 (drop)
#   first, nor 3+ words ending in "SIP/...")
#   response with any defect                 status 0 (drop, section 18.1.2)
#   request larger than max_size             513 Message Too Large (0 if even
#                                            the header section is cut)
#   request-line not "M SP URI SP SIP/x.y"   400 (RFC 4475 lwsstart, trws, ...)
#   SIP version other than 2.0               505 (RFC 4475 badvers)
#   header line without ":" / bad name       400
#   more than MAX_HEADER_FIELDS fields       400
#   To/From/Call-ID/CSeq/Via missing         400 (section 8.1.1; Max-Forwards
#                                            is not checked: section 16.6)
#   a single-value field repeated, or        400 (RFC 4475 multi01, mcl01,
#   malformed (CSeq, To, From, Contact,      scalar02, baddn, badaspec...)
#   Via, Max-Forwards, Content-Length; Date
#   in requests only)
#   CSeq method differs from the method      400 (RFC 4475 mismatch01/02)
#   body shorter than Content-Length         400 (section 18.3)
#   body longer than Content-Length          body truncated (section 18.3)
#   no Content-Length                        the body is the rest (UDP)
#   Request-URI with headers (?...)          400 (section 19.1.1, RFC 4475 escruri)
#   Request-URI scheme not sip/sips/tel      416 (section 8.2.2.1)
#
# Require with unknown options (420) is for the UA to decide:
# unsupported_requirements() gives it the list to answer with.
# error_response() turns an error into the response to send, or None.

from intercom.sip.fields import (
    NameAddr,
    Via,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from intercom.sip.grammar import (
    SipParseError,
    bad,
    decode_text,
    is_digits,
    is_token,
)
from intercom.sip.headers import Headers, field_key
from intercom.sip.uri import parse_uri

__all__ = [
    "Headers",
    "NameAddr",
    "Request",
    "Response",
    "SipParseError",
    "Via",
    "error_response",
    "make_response",
    "parse_cseq",
    "parse_message",
    "parse_name_addr",
    "parse_via",
    "reason_phrase",
    "unsupported_requirements",
]

# At most this many header lines, and Via or Contact values, per message
# (bounds the work one datagram can cause; longreq of RFC 4475 has 34 Vias).
MAX_HEADER_FIELDS = 100

_SINGLE_FIELDS = ("to", "from", "call-id", "cseq", "max-forwards", "content-length")
_MANDATORY = (
    ("via", "Via"),
    ("to", "To"),
    ("from", "From"),
    ("call-id", "Call-ID"),
    ("cseq", "CSeq"),
)

# "CODE Phrase" lines, each after a newline, for the status codes we send
# or name (RFC 3261 section 21): one str constant stays in the .mpy/ROMFS
# image, where a dict would be built in RAM at import.
_REASONS = (
    "\n100 Trying\n"
    "180 Ringing\n"
    "181 Call Is Being Forwarded\n"
    "182 Queued\n"
    "183 Session Progress\n"
    "200 OK\n"
    "202 Accepted\n"
    "400 Bad Request\n"
    "401 Unauthorized\n"
    "403 Forbidden\n"
    "404 Not Found\n"
    "405 Method Not Allowed\n"
    "406 Not Acceptable\n"
    "407 Proxy Authentication Required\n"
    "408 Request Timeout\n"
    "413 Request Entity Too Large\n"
    "415 Unsupported Media Type\n"
    "416 Unsupported URI Scheme\n"
    "420 Bad Extension\n"
    "423 Interval Too Brief\n"
    "480 Temporarily Unavailable\n"
    "481 Call/Transaction Does Not Exist\n"
    "482 Loop Detected\n"
    "483 Too Many Hops\n"
    "486 Busy Here\n"
    "487 Request Terminated\n"
    "488 Not Acceptable Here\n"
    "491 Request Pending\n"
    "500 Server Internal Error\n"
    "501 Not Implemented\n"
    "503 Service Unavailable\n"
    "505 Version Not Supported\n"
    "513 Message Too Large\n"
    "600 Busy Everywhere\n"
    "603 Decline\n"
)


def reason_phrase(status):
    """The RFC 3261 section 21 reason phrase for a status code."""
    start = _REASONS.find("\n%d " % status) if 100 <= status <= 999 else -1
    if start < 0:
        return "Unknown"
    return _REASONS[start + 5 : _REASONS.index("\n", start + 1)]


def _serialise(start_line, headers, body):
    headers.set("Content-Length", str(len(body)))
    return (start_line + "\r\n" + headers.to_text() + "\r\n").encode("utf-8") + bytes(body)


class Request:
    def __init__(self, method, uri, headers=None, body=b""):
        self.method = method
        self.uri = uri
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.source = None  # where a received message came from (the agent sets it)

    def to_bytes(self):
        return _serialise("%s %s SIP/2.0" % (self.method, self.uri), self.headers, self.body)

    def __repr__(self):
        return "<Request %s %s>" % (self.method, self.uri)


class Response:
    def __init__(self, status, reason, headers=None, body=b""):
        self.status = status
        self.reason = reason
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.source = None  # where a received message came from (the agent sets it)

    def to_bytes(self):
        return _serialise("SIP/2.0 %d %s" % (self.status, self.reason), self.headers, self.body)

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.reason)


def _split_head(data):
    """(header section bytes, body bytes); the blank line may use bare LFs."""
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return data[:end], data[end + 4 :]
    end = data.find(b"\n\n")
    if end >= 0:
        return data[:end], data[end + 2 :]
    return data, b""


def _lines(text):
    """Header section text -> logical lines, folding undone (section 7.3.1)."""
    lines = []
    for raw in text.split("\n"):
        if raw.endswith("\r"):
            raw = raw[:-1]
        if len(lines) > 1 and raw[:1] in (" ", "\t"):
            lines[-1].append(raw.strip())
        elif lines:
            lines.append([raw.rstrip()])
        else:
            lines.append([raw])  # the start line keeps its spaces (RFC 4475 trws)
    return [" ".join([part for part in line if part]) for line in lines]


def _is_version(text):
    # SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (section 25.1)
    if text[:4].upper() != "SIP/":
        return False
    numbers = text[4:].split(".")
    return len(numbers) == 2 and is_digits(numbers[0], 5) and is_digits(numbers[1], 5)


def _start(line):
    """Start line -> (message without headers, SipParseError or None)."""
    if line[:4].upper() == "SIP/":
        parts = line.split(" ", 2)
        if len(parts) < 2 or parts[0].upper() != "SIP/2.0":
            raise SipParseError(0, "malformed status line")
        if not is_digits(parts[1], 3) or not (100 <= int(parts[1]) <= 699):
            raise SipParseError(0, "malformed status code")  # RFC 4475 bigcode
        return Response(int(parts[1]), parts[2] if len(parts) == 3 else ""), None
    words = line.split()
    method = line.split(" ", 1)[0]
    if not is_token(method) or len(words) < 3 or words[-1][:4].upper() != "SIP/":
        raise SipParseError(0, "no start line")  # garbage, not a SIP request
    parts = line.split(" ")
    request = Request(method, parts[1] if len(parts) > 1 else "")
    if len(parts) != 3 or not parts[1] or not _is_version(parts[2]):
        return request, bad("malformed Request-Line")
    if parts[2].upper() != "SIP/2.0":
        return request, SipParseError(505, "Version Not Supported")
    return request, None


def _read_fields(message, lines):
    """Add the header fields; the first defect found, or None."""
    if len(lines) > MAX_HEADER_FIELDS:
        lines = lines[:MAX_HEADER_FIELDS]
        defect = bad("too many header fields")
    else:
        defect = None
    for line in lines:
        colon = line.find(":")
        name = line[:colon].strip() if colon > 0 else ""
        if not is_token(name):
            if defect is None:
                defect = bad("malformed header field")
            continue
        message.headers.add(name, line[colon + 1 :].strip())
    return defect


def _check_max_forwards(headers):
    value = headers.get("Max-Forwards")
    if value is not None and not (is_digits(value, 10) and int(value) <= 255):
        raise bad("malformed Max-Forwards")


def _check_date(headers):
    # rfc1123-date with "GMT" only (section 20.17; RFC 4475 baddate).
    value = headers.get("Date")
    if value is None:
        return
    words = value.replace(",", " ").split()
    if len(words) != 6 or words[5] != "GMT" or len(words[4].split(":")) != 3:
        raise bad("malformed Date")


def _check_fields(message):
    headers = message.headers
    for key, name in _MANDATORY:
        if key not in headers:
            raise bad("missing " + name)
    for key in _SINGLE_FIELDS:
        if len(headers.get_all(key)) > 1:
            raise bad("repeated " + key)
    call_id = headers.get("Call-ID")
    if not call_id or " " in call_id or "\t" in call_id:
        raise bad("malformed Call-ID")
    number, method = parse_cseq(headers.get("CSeq"))
    if isinstance(message, Request) and method != message.method:
        raise bad("CSeq method does not match the Request-Line")
    parse_name_addr(headers.get("To"))
    parse_name_addr(headers.get("From"))
    vias = headers.get_all("Via")
    contacts = headers.get_all("Contact")
    if not vias:
        raise bad("empty Via")
    if len(vias) > MAX_HEADER_FIELDS or len(contacts) > MAX_HEADER_FIELDS:
        raise bad("too many Via or Contact values")
    for via in vias:
        parse_via(via)
    for contact in contacts:
        if contact != "*":
            parse_name_addr(contact)
    _check_max_forwards(headers)
    if isinstance(message, Request):
        _check_date(headers)  # a response with an odd Date is still usable


def _body(message, body):
    """The body per section 18.3 (message-oriented transport)."""
    lengths = message.headers.get_all("Content-Length")
    if not lengths:
        return body
    if not is_digits(lengths[0], 10):
        raise bad("malformed Content-Length")
    length = int(lengths[0])
    if len(body) < length:
        raise bad("body shorter than Content-Length")
    return body[:length]


def _check_request_uri(request):
    if parse_uri(request.uri).headers:
        raise bad("headers in Request-URI")


def parse_message(data, max_size=65536):
    """A datagram -> Request, Response, or None for a CRLF keep-alive.

    max_size: the largest datagram we accept (4096 suits a Pico W's RAM,
    65536 a Linux board). Raises only SipParseError (see the table at the
    top of this file).
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    start = 0
    total = len(data)
    while start < total and data[start] in (10, 13):
        start += 1
    if start == total:
        return None
    head, body = _split_head(data[start:])
    oversize = total > max_size
    if oversize:
        if start + len(head) + 4 > max_size:
            raise SipParseError(0, "header section larger than max_size")
        body = b""
    lines = _lines(decode_text(head))
    message, defect = _start(lines[0])
    fields_defect = _read_fields(message, lines[1:])
    is_request = isinstance(message, Request)
    try:
        if defect is not None:
            raise defect
        if fields_defect is not None:
            raise fields_defect
        _check_fields(message)
        if oversize:
            raise SipParseError(513, "Message Too Large")
        message.body = _body(message, body)
        if is_request:
            _check_request_uri(message)
    except SipParseError as error:
        error.partial = message
        if not is_request:
            error.status = 0  # section 18.1.2: malformed responses are dropped
        raise error
    return message


def _with_tag(to_value, to_tag):
    try:
        name_addr = parse_name_addr(to_value)
    except SipParseError:
        return to_value
    if name_addr.tag is not None:
        return to_value
    return to_value + ";tag=" + to_tag


def make_response(request, status, reason=None, to_tag=None):
    """A response to request, fields copied per section 8.2.6.2."""
    headers = Headers()
    for name, value in request.headers.items():
        if field_key(name) == "via":
            headers.add("Via", value)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is None:
            continue
        if name == "To" and to_tag is not None:
            value = _with_tag(value, to_tag)
        headers.add(name, value)
    if status == 100:
        timestamp = request.headers.get("Timestamp")  # section 8.2.6.1
        if timestamp is not None:
            headers.add("Timestamp", timestamp)
    return Response(status, reason if reason is not None else reason_phrase(status), headers)


def error_response(error):
    """The response owed for a SipParseError, or None when it must be dropped.

    Needs a partial request (never an ACK, section 17.1.1.3) with a Via to
    send the answer back along. Fields that are missing stay missing: RFC
    4475 section 3.3.1 (insuf) still wants a 400 for a request without
    From, To and Call-ID.
    """
    request = error.partial
    if error.status == 0 or not isinstance(request, Request) or request.method == "ACK":
        return None
    if "Via" not in request.headers:
        return None
    return make_response(request, error.status, error.reason)


def unsupported_requirements(request, supported):
    """Option tags in Require that are not in supported (section 8.2.2.3).

    A UAS answers a non-empty list with 420 Bad Extension and an Unsupported
    field listing them. ACK and CANCEL are never rejected for this.
    """
    if request.method in ("ACK", "CANCEL"):
        return []
    known = [tag.lower() for tag in supported]
    return [tag for tag in request.headers.get_all("Require") if tag.lower() not in known]
