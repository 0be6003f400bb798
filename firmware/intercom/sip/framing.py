# Stream framing (RFC 3261 section 18.3, RFC 5626 section 4.4.1): the bytes
# of one connection in, whole messages out, sans-I/O, one StreamFramer per
# connection. The board feeds what its socket read; the agent gets each item
# as it gets a UDP datagram.
#
#   at a message boundary                      item / outcome
#   ------------------------------------------ ----------------------------
#   CRLF CRLF                                  PING (the peer's keep-alive:
#                                              the agent answers PONG)
#   CRLF and then anything but CR, or nothing  PONG (the answer to ours)
#   a lone LF                                  skipped (RFC 3261 7.5: stray
#                                              line ends before a start line)
#   a header section, ended by CRLF CRLF       wait for Content-Length bytes
#                                              of body, then the whole message
#   no blank line within max_size bytes        FramingError
#   no Content-Length (or "l")                 FramingError: on a stream it
#                                              is mandatory (18.3, 20.14),
#                                              nothing after it can be read
#   Content-Length not digits, or repeated      FramingError
#   with another value
#   header section + Content-Length > max_size FramingError (a huge one)
#
# After a FramingError the framer is spent: the board closes the connection
# (and the agent counts it). Memory: at most max_size bytes wait per
# connection.

PING = b"\r\n\r\n"
PONG = b"\r\n"


class FramingError(Exception):
    """The stream cannot be framed any further: close the connection."""


class StreamFramer:
    def __init__(self, max_size):
        self.max_size = max_size
        self._buffer = bytearray()
        self._head_end = -1  # index just past the blank line, once found
        self._total = 0  # bytes the current message needs, once known

    def feed(self, data):
        """The items completed by data (bytes), oldest first; raises
        FramingError (see the table on top)."""
        self._buffer.extend(data)
        items = []
        while True:
            item = self._next()
            if item is None:
                break
            items.append(item)
        if len(self._buffer) > self.max_size:
            raise FramingError("more than %d bytes without a whole message" % self.max_size)
        return items

    def _next(self):
        buffer = self._buffer
        if self._head_end < 0:
            skip = 0
            while buffer[skip : skip + 1] == b"\n":
                skip += 1
            if skip:
                self._take(skip)
                buffer = self._buffer
            if buffer[:4] == PING:
                self._take(4)
                return PING
            if buffer[:2] == PONG and buffer[2:3] != b"\r":
                self._take(2)
                return PONG
            if buffer[:1] == b"\r":
                return None  # a keep-alive still arriving
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return None
            self._head_end = end + 4
            self._total = self._head_end + _content_length(bytes(buffer[:end]))
            if self._total > self.max_size:
                raise FramingError("a message of %d bytes, over the limit" % self._total)
        if len(buffer) < self._total:
            return None
        message = self._take(self._total)
        self._head_end = -1
        self._total = 0
        return message

    def _take(self, count):
        """The first count bytes, gone from the buffer (MicroPython's
        bytearray has no slice deletion)."""
        buffer = self._buffer
        taken = bytes(buffer[:count])
        self._buffer = buffer[count:]
        return taken


def _content_length(head):
    """Content-Length of a header section (bytes); FramingError when it is
    missing, malformed or given twice with different values."""
    found = None
    for line in head.split(b"\r\n")[1:]:
        colon = line.find(b":")
        if colon < 0:
            continue
        name = line[:colon].strip().lower()
        if name != b"content-length" and name != b"l":
            continue
        value = line[colon + 1 :].strip()
        if not value or len(value) > 10 or not value.isdigit():
            raise FramingError("malformed Content-Length")
        length = int(value)
        if found is not None and found != length:
            raise FramingError("two Content-Lengths")
        found = length
    if found is None:
        raise FramingError("no Content-Length on a stream")
    return found
