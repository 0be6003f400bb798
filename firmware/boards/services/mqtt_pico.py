# MQTT for the MicroPython boards (pico_w; the sim board under the unix
# port): the topics and Home Assistant discovery of boards.services.mqtt_paho (both
# from boards.services.mqtt_topics), over a minimal MQTT 3.1.1 client of our own on
# a non-blocking socket driven by the one poll loop. umqtt.simple is not
# used: its connect() and wait_msg() block on socket reads.
#
# Use (boards.runtime.runtime, MicroPython only, when config["mqtt"] is set):
#   services = PicoServices(runtime, log)
#   services.attach()          # resolve the broker, start connecting
#   services.on_event(event)   # every event the station emits
#   services.close()           # offline + DISCONNECT, socket closed
# PicoServices publishes the states (call, registered, lockout) every
# STATE_POLL_MS and on each event; command/test_ring rings, command/open
# (only with mqtt.allow_open) calls runtime.remote_open("mqtt") like
# boards.services.hub.Services.open_door.
#
# Connection states of PicoMqtt and what moves them:
#   waiting     backoff timer fires: non-blocking connect -> connecting
#   connecting  socket writable (POLLOUT, probed every CHECK_MS): CONNECT
#               sent, reader added                        -> handshake
#               POLLERR/POLLHUP, OSError, CONNECT_TIMEOUT_MS -> waiting
#   handshake   CONNACK 0: SUBSCRIBE, availability "online", discovery,
#               every state; backoff reset                -> session
#               CONNACK refused, EOF, CONNECT_TIMEOUT_MS  -> waiting
#   session     EOF, read/write error, malformed packet, no PINGRESP within
#               PING_TIMEOUT_MS                            -> waiting
# Backoff: BACKOFF_FIRST_MS doubling to BACKOFF_MAX_MS.
#
# MQTT 3.1.1 (OASIS) packets used: CONNECT with will "offline" (qos 1,
# retained), user and password (3.1); CONNACK (3.2); PUBLISH qos 0 both ways
# (3.3; an incoming qos 1/2 packet id is skipped); SUBSCRIBE qos 0 (3.8);
# SUBACK (3.9); PINGREQ/PINGRESP (3.12, 3.13) when nothing was sent for
# KEEPALIVE_S / 2; DISCONNECT (3.14) at close. Remaining length: 2.2.3.
#
# Memory bound: publishes wait in a list of QUEUE_LIMIT (the oldest is
# dropped and counted); one packet at a time is encoded into the output
# buffer, written as far as the socket takes it (retried every
# WRITE_RETRY_MS). Received bytes wait in a buffer of at most
# RECEIVE_LIMIT; a bigger packet ends the session. While disconnected,
# events are dropped (counted) and the latest states are kept.

import errno
import json
import select
import socket

from intercom import compat

from boards.runtime.addresses import StartError
from boards.services import mqtt_topics

QUEUE_LIMIT = 24
RECEIVE_LIMIT = 1024
RECEIVE_BYTES = 256
BACKOFF_FIRST_MS = 1000
BACKOFF_MAX_MS = 60000
CONNECT_TIMEOUT_MS = 5000
CHECK_MS = 10
MISC_MS = 1000
WRITE_RETRY_MS = 20
KEEPALIVE_S = 30
PING_TIMEOUT_MS = 10000
STATE_POLL_MS = 1000

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
SUBSCRIBE = 0x82
SUBACK = 0x90
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN)


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


def split_packet(buffer):
    """(first byte, body, bytes used) of the first whole packet, or None."""
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
            break
        shift += 7
        if shift > 21:
            raise ValueError("remaining length too long")
    if index + length > len(buffer):
        return None
    return buffer[0], bytes(buffer[index : index + length]), index + length


def parse_publish(first_byte, body):
    """(topic, payload) of an incoming PUBLISH (3.3)."""
    size = int.from_bytes(body[0:2], "big")
    if 2 + size > len(body):
        raise ValueError("topic beyond the packet")
    start = 2 + size + (2 if first_byte & 0x06 else 0)  # qos 1/2: a packet id
    return body[2 : 2 + size].decode(), body[start:]


class PicoMqtt:
    """The connection; on_message(topic, payload) for subscribed topics."""

    def __init__(self, loop, settings, device_name, subscriptions, on_message, log):
        self._loop = loop
        self._log = log
        self._settings = settings
        self._subscriptions = subscriptions
        self._on_message = on_message
        self.prefix = settings["prefix"].rstrip("/")
        self.device_name = device_name
        self.allow_open = settings["allow_open"]
        self._address = None
        self._sock = None
        self._probe = None
        self._state = "waiting"
        self._started_ms = 0
        self._last_sent_ms = 0
        self._ping_sent_ms = None
        self._out = b""
        self._in = bytearray()
        self._queue = []
        self._states = {}
        self._timers = []
        self._check_timer = None
        self._write_timer = None
        self._backoff_ms = BACKOFF_FIRST_MS
        self.connected = False
        self.stats = {"connects": 0, "published": 0, "dropped": 0, "disconnects": 0}

    def topic(self, name):
        return mqtt_topics.topic(self.prefix, name)

    # -- what PicoServices calls --------------------------------------------------------

    def start(self):
        info = socket.getaddrinfo(self._settings["host"], self._settings["port"])
        self._address = info[0][-1]
        self._timers.append(self._loop.call_every(MISC_MS, self._misc))
        self._connect()

    def set_state(self, name, value):
        if self._states.get(name) != value:
            self._states[name] = value
            if self.connected:
                self._enqueue(self.topic("state/" + name), value, True)

    def publish_event(self, event):
        if not self.connected:
            self.stats["dropped"] += 1
            return
        for topic, payload, retain in mqtt_topics.event_messages(self.prefix, event):
            self._enqueue(topic, payload, retain)

    def close(self):
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        if self.connected:  # a clean goodbye: the will is not sent, so say offline
            self._out += publish_packet(self.topic("availability"), "offline", True)
            self._out += _packet(DISCONNECT, b"")
            self._write()
        self._drop_socket()

    # -- connection ------------------------------------------------------------------

    def _now(self):
        return self._loop.clock.now_ms()

    def _connect(self):
        address = self._address
        if address is None:  # start() resolves it before the first connect
            raise ValueError("PicoMqtt.start() was not called")
        self._state = "connecting"
        self._started_ms = self._now()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock = sock
        sock.setblocking(False)
        try:
            sock.connect(address)
        except OSError as error:
            if error.args[0] not in _IN_PROGRESS:
                self._lost("connect: %s" % error)
                return
        self._probe = select.poll()
        self._probe.register(sock, select.POLLOUT)
        self._check_timer = self._loop.call_later(0, self._check_connect)

    def _check_connect(self):
        self._check_timer = None
        probe = self._probe
        if probe is None:  # the socket was dropped meanwhile
            return
        ready = probe.poll(0)
        if ready:
            flags = ready[0][1]
            self._probe = None
            if flags & (select.POLLERR | select.POLLHUP):
                self._lost("connection refused")
                return
            self._state = "handshake"
            self._loop.add_reader(self._sock, self._on_readable)
            settings = self._settings
            self._send_packet(
                connect_packet(
                    "intercom-" + mqtt_topics.node_id(self.prefix),
                    self.topic("availability"),
                    "offline",
                    settings["user"],
                    settings["password"],
                )
            )
            return
        if compat.ticks_diff(self._now(), self._started_ms) >= CONNECT_TIMEOUT_MS:
            self._lost("connect timeout")
            return
        self._check_timer = self._loop.call_later(CHECK_MS, self._check_connect)

    def _on_readable(self, sock, poll_events):
        try:
            data = sock.recv(RECEIVE_BYTES)
        except OSError as error:
            if error.args[0] in _IN_PROGRESS:
                return
            self._lost("read: %s" % error)
            return
        if not data:
            self._lost("closed by the broker")
            return
        self._in.extend(data)
        try:
            self._handle_packets()
        except (ValueError, UnicodeError) as error:
            self._lost("malformed packet: %s" % error)
            return
        if len(self._in) > RECEIVE_LIMIT:
            self._lost("packet over %d bytes" % RECEIVE_LIMIT)

    def _handle_packets(self):
        while self._sock is not None:
            found = split_packet(self._in)
            if found is None:
                return
            first_byte, body, used = found
            self._in = self._in[used:]
            kind = first_byte & 0xF0
            if kind == CONNACK:
                self._on_connack(body)
            elif kind == PUBLISH and self.connected:
                topic, payload = parse_publish(first_byte, body)
                if topic in self._subscriptions:
                    self._on_message(topic, payload)
            elif kind == PINGRESP:
                self._ping_sent_ms = None

    def _on_connack(self, body):
        if len(body) != 2 or body[1] != 0:
            code = body[1] if len(body) == 2 else -1
            self._log("intercom: MQTT broker refused us: code %d" % code)
            self._lost("refused")
            return
        self._state = "session"
        self.connected = True
        self.stats["connects"] += 1
        self._backoff_ms = BACKOFF_FIRST_MS
        self._queue = []
        self._send_packet(subscribe_packet(1, self._subscriptions))
        self._enqueue(self.topic("availability"), "online", True)
        discovery = mqtt_topics.discovery(self.prefix, self.device_name, self.allow_open)
        for topic, config in discovery:
            self._enqueue(topic, config, True)
        for name in sorted(self._states):
            self._enqueue(self.topic("state/" + name), self._states[name], True)

    def _misc(self):
        if self._sock is None:
            return
        now = self._now()
        if self._state != "session":
            if self._probe is None and compat.ticks_diff(now, self._started_ms) >= (
                CONNECT_TIMEOUT_MS
            ):
                self._lost("no CONNACK")
            return
        if self._ping_sent_ms is not None:
            if compat.ticks_diff(now, self._ping_sent_ms) >= PING_TIMEOUT_MS:
                self._lost("keepalive")
            return
        if compat.ticks_diff(now, self._last_sent_ms) >= KEEPALIVE_S * 500:
            self._ping_sent_ms = now
            self._send_packet(_packet(PINGREQ, b""))

    def _lost(self, reason):
        self._drop_socket()
        if self.connected:
            self.stats["disconnects"] += 1
        self.connected = False
        self._state = "waiting"
        self._log(
            "intercom: MQTT %s:%d unavailable (%s); retry in %d ms"
            % (self._settings["host"], self._settings["port"], reason, self._backoff_ms)
        )
        self._timers.append(self._loop.call_later(self._backoff_ms, self._reconnect_due))
        self._backoff_ms = min(self._backoff_ms * 2, BACKOFF_MAX_MS)

    def _drop_socket(self):
        for timer in (self._check_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._check_timer = None
        self._write_timer = None
        self._probe = None
        if self._sock is not None:
            self._loop.remove_reader(self._sock)
            self._sock.close()
            self._sock = None
        self._out = b""
        self._in = bytearray()
        self._ping_sent_ms = None

    def _reconnect_due(self):
        self._timers = [timer for timer in self._timers if not timer.cancelled]
        if self._sock is None:
            self._connect()

    # -- output ----------------------------------------------------------------------

    def _enqueue(self, topic, payload, retain):
        if len(self._queue) >= QUEUE_LIMIT:
            self._queue.pop(0)
            self.stats["dropped"] += 1
        self._queue.append((topic, payload, retain))
        self._pump()

    def _send_packet(self, packet):
        self._out += packet
        self._pump()

    def _pump(self):
        """Encode the next queued publish once the output is drained; write."""
        while self.connected and self._queue and not self._out:
            topic, payload, retain = self._queue.pop(0)
            if not isinstance(payload, str):  # a discovery config: encoded late, one at a time
                payload = json.dumps(payload)
            self._out = publish_packet(topic, payload, retain)
            self.stats["published"] += 1
            if not self._write():
                return
        if self._out and not self._write():
            return
        if (self._out or (self.connected and self._queue)) and self._write_timer is None:
            self._write_timer = self._loop.call_later(WRITE_RETRY_MS, self._write_due)

    def _write(self):
        """Send what the socket takes; False when the connection was lost."""
        if self._sock is None or self._probe is not None or not self._out:
            return self._sock is not None
        try:
            sent = self._sock.send(self._out)
        except OSError as error:
            if error.args[0] in _IN_PROGRESS:
                return True
            self._lost("write: %s" % error)
            return False
        if sent:
            self._out = self._out[sent:]
            self._last_sent_ms = self._now()
        return True

    def _write_due(self):
        self._write_timer = None
        self._pump()


class PicoServices:
    """MQTT state and events for a MicroPython board (the runtime's services)."""

    def __init__(self, runtime, log):
        self.runtime = runtime
        self._log = log
        self._timer = None
        config = runtime.config
        settings = config["mqtt"]
        prefix = settings["prefix"].rstrip("/")
        subscriptions = [mqtt_topics.topic(prefix, "command/test_ring")]
        if settings["allow_open"]:
            subscriptions.append(mqtt_topics.topic(prefix, "command/open"))
        self.mqtt = PicoMqtt(
            runtime.loop, settings, config["device"]["name"], subscriptions, self._command, log
        )

    def attach(self):
        """Start connecting; StartError (all closed) if the broker name does not resolve."""
        self._publish_state()
        try:
            self.mqtt.start()
        except OSError as error:
            self.mqtt.close()
            raise StartError("cannot start MQTT: %s" % error) from None
        self._timer = self.runtime.loop.call_every(STATE_POLL_MS, self._publish_state)

    def close(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.mqtt.close()

    def on_event(self, event):
        self.mqtt.publish_event(event)
        self._publish_state()

    def _command(self, topic, payload):
        if topic == self.mqtt.topic("command/test_ring"):
            self._log("intercom: test ring from mqtt")
            self.runtime.test_ring()
        elif topic == self.mqtt.topic("command/open") and self.mqtt.allow_open:
            opened = self.runtime.remote_open("mqtt")
            self._log(
                "intercom: door open requested over mqtt: %s" % ("opened" if opened else "refused")
            )

    def _publish_state(self):
        runtime = self.runtime
        station = runtime.station
        if not runtime.config["sip"]["register"] or station.doorbell.registered:
            registered = "ON"
        else:
            registered = "OFF"
        self.mqtt.set_state("call", station.state)
        self.mqtt.set_state("registered", registered)
        self.mqtt.set_state("lockout", "ON" if station.policy.is_locked() else "OFF")
