# The MQTT transport of the MicroPython boards (pico_w; the sim board under
# the unix port): a minimal MQTT 3.1.1 client of our own on a non-blocking
# socket driven by the one poll loop; the session, topics, back-off and
# queue are boards.services.mqtt_session's. umqtt.simple is not used: its
# connect() and wait_msg() block on socket reads. Runs on CPython too.
#
#   open(address)   TCP up (boards.services.tcp_client.Connecting): CONNECT
#                   sent, reader added
#   CONNACK 0       session.online(); another code: session.refused()
#   PUBLISH in      session.message(topic, payload, RETAIN flag)
#   a packet over RECEIVE_LIMIT  skipped as it arrives (never held),
#                   session.too_big(size); the connection goes on (a retained
#                   one would otherwise come back at every reconnect)
#   EOF, read/write error, malformed packet,
#   no PINGRESP within PING_TIMEOUT_MS -> session.lost()
#
# MQTT 3.1.1 (OASIS) packets used: CONNECT with will "offline" (qos 1,
# retained), user and password (3.1); CONNACK (3.2); PUBLISH qos 0 both ways
# (3.3; an incoming qos 1/2 packet id is skipped; RETAIN is bit 0 of the
# first byte, 3.3.1.3); SUBSCRIBE qos 0 (3.8); SUBACK (3.9);
# PINGREQ/PINGRESP (3.12, 3.13) when nothing was sent for KEEPALIVE_S / 2;
# DISCONNECT (3.14) at close. Remaining length: 2.2.3.
#
# Memory bound: one packet at a time is encoded into the output buffer and
# written as far as the socket takes it (the session retries). Received
# bytes wait in a buffer holding at most one packet of RECEIVE_LIMIT bytes
# and its fixed header (2.2), plus one read.

import errno

from intercom import compat

from boards.services.tcp_client import Connecting

RECEIVE_LIMIT = 1024
RECEIVE_BYTES = 256
CONNECT_TIMEOUT_MS = 5000
KEEPALIVE_S = 30
PING_TIMEOUT_MS = 10000

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
SUBSCRIBE = 0x82
SUBACK = 0x90
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0
RETAIN = 0x01
_AGAIN = (errno.EAGAIN, errno.EINPROGRESS)


def _text(value):
    data = value.encode() if isinstance(value, str) else value
    return len(data).to_bytes(2, "big") + data


def _packet(first_byte, body):
    """Fixed header (2.2): type/flags byte, remaining length in 7-bit groups."""
    header = bytearray([first_byte])
    length = len(body)
    while True:
        digit = length & 0x7F
        length >>= 7
        header.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(header) + body


def connect_packet(client_id, will_topic, will_payload, user, password):
    flags = 0x02 | 0x04 | 0x08 | 0x20  # clean session, will, will qos 1, will retain
    payload = _text(client_id) + _text(will_topic) + _text(will_payload)
    if user is not None:
        flags |= 0x80
        payload += _text(user)
        if password is not None:
            flags |= 0x40
            payload += _text(password)
    variable = _text("MQTT") + bytes([4, flags]) + KEEPALIVE_S.to_bytes(2, "big")
    return _packet(CONNECT, variable + payload)


def publish_packet(topic, payload, retain):
    data = payload.encode() if isinstance(payload, str) else payload
    return _packet(PUBLISH | (1 if retain else 0), _text(topic) + data)


def subscribe_packet(packet_id, topics):
    body = packet_id.to_bytes(2, "big")
    for name in topics:
        body += _text(name) + b"\x00"
    return _packet(SUBSCRIBE, body)


def packet_extent(buffer):
    """(fixed header bytes, remaining length) of the packet at buffer[0]
    (2.2.3), or None while its fixed header is incomplete."""
    length = 0
    shift = 0
    index = 1
    while True:
        if index >= len(buffer):
            return None
        digit = buffer[index]
        length |= (digit & 0x7F) << shift
        index += 1
        if not digit & 0x80:
            return index, length
        shift += 7
        if shift > 21:
            raise ValueError("remaining length too long")


def parse_publish(first_byte, body):
    """(topic, payload) of an incoming PUBLISH (3.3)."""
    size = int.from_bytes(body[0:2], "big")
    if 2 + size > len(body):
        raise ValueError("topic beyond the packet")
    start = 2 + size + (2 if first_byte & 0x06 else 0)  # qos 1/2: a packet id
    return body[2 : 2 + size].decode(), body[start:]


class PicoTransport:
    def __init__(self, loop, settings, client_id, will_topic, session):
        self._loop = loop
        self._settings = settings
        self._client_id = client_id
        self._will_topic = will_topic
        self._session = session
        self._connecting = None
        self._sock = None
        self._online = False
        self._last_sent_ms = 0
        self._ping_sent_ms = None
        self._out = b""
        self._in = bytearray()
        self._skip = 0  # bytes still to come of a packet too big to hold

    def _now(self):
        return self._loop.clock.now_ms()

    # -- the transport contract (boards.services.mqtt_session) -------------------------

    def open(self, address):
        self._connecting = Connecting(self._loop, address, CONNECT_TIMEOUT_MS, self._on_tcp)

    def subscribe(self, topics):
        self._out += subscribe_packet(1, topics)
        self.write()

    def idle(self):
        return not self._out

    def publish(self, topic, payload, retain):
        self._out += publish_packet(topic, payload, retain)

    def write(self):
        """Send what the socket takes; False when the connection was lost."""
        if self._sock is None:
            return False
        if not self._out:
            return True
        try:
            sent = self._sock.send(self._out)
        except OSError as error:
            if error.args[0] in _AGAIN:
                return True
            self._session.lost("write: %s" % error)
            return False
        if sent:
            self._out = self._out[sent:]
            self._last_sent_ms = self._now()
        return True

    def tick(self):
        if not self._online:
            return
        now = self._now()
        if self._ping_sent_ms is not None:
            if compat.ticks_diff(now, self._ping_sent_ms) >= PING_TIMEOUT_MS:
                self._session.lost("keepalive")
            return
        if compat.ticks_diff(now, self._last_sent_ms) >= KEEPALIVE_S * 500:
            self._ping_sent_ms = now
            self._out += _packet(PINGREQ, b"")
            self.write()

    def close(self, goodbye):
        if goodbye is not None and self._sock is not None:
            self._out += publish_packet(goodbye[0], goodbye[1], True)
            self._out += _packet(DISCONNECT, b"")
            self.write()
        self.drop()

    def drop(self):
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self._sock is not None:
            self._loop.remove_reader(self._sock)
            self._sock.close()
            self._sock = None
        self._online = False
        self._out = b""
        self._in = bytearray()
        self._skip = 0

    # -- the connection --------------------------------------------------------------

    def _on_tcp(self, sock, reason):
        self._connecting = None
        if sock is None:
            self._session.lost(reason)
            return
        self._sock = sock
        self._loop.add_reader(sock, self._on_readable)
        settings = self._settings
        self._out += connect_packet(
            self._client_id, self._will_topic, "offline", settings["user"], settings["password"]
        )
        self.write()

    def _on_readable(self, sock, poll_events):
        try:
            data = sock.recv(RECEIVE_BYTES)
        except OSError as error:
            if error.args[0] in _AGAIN:
                return
            self._session.lost("read: %s" % error)
            return
        if not data:
            self._session.lost("closed by the broker")
            return
        self._in.extend(data)
        self._skip_some()
        try:
            self._handle_packets()
        except (ValueError, UnicodeError) as error:
            self._session.lost("malformed packet: %s" % error)

    def _skip_some(self):
        """Drop what has arrived of the packet being skipped."""
        count = min(self._skip, len(self._in))
        if count:
            self._in = self._in[count:]
            self._skip -= count

    def _handle_packets(self):
        while self._sock is not None and not self._skip:
            extent = packet_extent(self._in)
            if extent is None:
                return
            header, length = extent
            if length > RECEIVE_LIMIT:
                self._skip = header + length
                self._skip_some()
                self._session.too_big(header + length)
                continue
            if header + length > len(self._in):
                return
            first_byte = self._in[0]
            body = bytes(self._in[header : header + length])
            self._in = self._in[header + length :]
            kind = first_byte & 0xF0
            if kind == CONNACK:
                self._on_connack(body)
            elif kind == PUBLISH and self._online:
                topic, payload = parse_publish(first_byte, body)
                self._session.message(topic, payload, bool(first_byte & RETAIN))
            elif kind == PINGRESP:
                self._ping_sent_ms = None

    def _on_connack(self, body):
        if len(body) != 2 or body[1] != 0:
            self._session.refused("code %d" % (body[1] if len(body) == 2 else -1))
            return
        self._online = True
        self._session.online()
