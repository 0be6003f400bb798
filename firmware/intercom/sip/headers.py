# Header fields of a SIP message (RFC 3261 section 7.3): names compared
# case-insensitively with compact forms expanded (section 7.3.3), values
# kept as received (folding undone, stripped), lists split on demand
# (section 7.3.1) outside quoted strings and <...>.

from intercom.sip.fields import split_list

# Compact forms (RFC 3261 section 7.3.3 and the IANA SIP header registry).
_COMPACT = {
    "v": "via",
    "i": "call-id",
    "f": "from",
    "t": "to",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
    "x": "session-expires",
    "b": "referred-by",
}

# Spelling used on the wire for names we know; others keep the spelling given.
_CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
}

# Fields whose value is a comma-separated list (section 7.3.1); get_all()
# splits them. The authentication fields are not lists: their commas separate
# parameters.
_LIST_FIELDS = (
    "via",
    "route",
    "record-route",
    "contact",
    "allow",
    "supported",
    "require",
    "unsupported",
    "proxy-require",
    "accept",
    "accept-encoding",
    "accept-language",
    "allow-events",
    "content-encoding",
    "content-language",
    "in-reply-to",
    "warning",
    "call-info",
    "alert-info",
    "error-info",
    "path",
    "service-route",
    "p-asserted-identity",
)


def field_key(name):
    """The lowercase long name a header field is stored under."""
    lowered = name.lower()
    return _COMPACT.get(lowered, lowered)


def _spelling(key, given):
    if key in _CANONICAL:
        return _CANONICAL[key]
    if len(given) == 1 or given.islower() or given.isupper():
        return "-".join([word[:1].upper() + word[1:] for word in key.split("-")])
    return given


class Headers:
    """Header fields in wire order; names case-insensitive, compact forms expanded."""

    def __init__(self):
        self._fields = []  # [key, spelling, value]

    def add(self, name, value):
        key = field_key(name)
        self._fields.append([key, _spelling(key, name), value])

    def set(self, name, value):
        """Replace every field of that name by one, where the first one was."""
        key = field_key(name)
        for index in range(len(self._fields)):
            if self._fields[index][0] == key:
                self._fields[index][2] = value
                self._fields = self._fields[: index + 1] + [
                    field for field in self._fields[index + 1 :] if field[0] != key
                ]
                return
        self.add(name, value)

    def get(self, name, default=None):
        """The first value; for list fields, the first element of the list."""
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name):
        key = field_key(name)
        values = []
        for field in self._fields:
            if field[0] == key:
                if key in _LIST_FIELDS:
                    values.extend(split_list(field[2]))
                else:
                    values.append(field[2])
        return values

    def remove(self, name):
        key = field_key(name)
        self._fields = [field for field in self._fields if field[0] != key]

    def count(self, name):
        """How many fields (lines) of that name there are."""
        key = field_key(name)
        return len([field for field in self._fields if field[0] == key])

    def __contains__(self, name):
        return self.count(name) > 0

    def items(self):
        return [(field[1], field[2]) for field in self._fields]

    def to_text(self):
        # A loop, not a comprehension: on MicroPython a comprehension is a
        # function call, one level more of C stack, and this sits at the
        # bottom of a Pico W's deepest path (the INVITE sent again with
        # credentials from the 407's receive; make bench, section pico).
        lines = []
        for field in self._fields:
            lines.append("%s: %s\r\n" % (field[1], field[2]))
        return "".join(lines)
