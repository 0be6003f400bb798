# MQTT for the CPython boards: paho-mqtt 2.x driven by the one poll loop
# (its external-loop interface: loop_read on readable, loop_write while it
# wants to write, loop_misc every second), never a thread, never a wait.
#
# Topics (prefix = mqtt.prefix, e.g. "intercom/door"):
#   <prefix>/availability     "online" after each connect, "offline" as the
#                             last will (retained)
#   <prefix>/state/call       idle | calling | talking | ending (retained)
#   <prefix>/state/registered ON | OFF (retained; ON peer-to-peer)
#   <prefix>/state/lockout    ON | OFF (retained)
#   <prefix>/event/<name>     every event as JSON (not retained)
#   <prefix>/doorbell         {"event_type": "press"} on each button press
#   <prefix>/command/test_ring   any payload: a test ring (= a button press)
#   homeassistant/<component>/<node>/<object>/config   Home Assistant MQTT
#                             discovery (retained): event "doorbell"
#                             (event_types ["press"]), sensor "call_state",
#                             binary_sensors "registered" and "lockout",
#                             button "test_ring" (and button "open_door"
#                             when mqtt.allow_open).
#   <prefix>/command/open     only subscribed when mqtt.allow_open: asks the
#                             door policy to open (rate-limited, refused in a
#                             lockout; see intercom.app.door "Remote open")
#
# Connection states and what moves them:
#   waiting     backoff timer fires            -> connecting (non-blocking TCP)
#   connecting  TCP up: paho sends CONNECT     -> session
#               refused / CONNECT_TIMEOUT_MS   -> waiting (backoff doubles)
#   session     CONNACK ok: subscribe, publish availability, discovery and
#               every state; backoff reset
#               read error, ping timeout, CONNACK refused -> waiting
# Backoff: BACKOFF_FIRST_MS doubling to BACKOFF_MAX_MS.
#
# Memory bound: publishes wait in a deque of QUEUE_LIMIT (the oldest is
# dropped and counted); paho gets the next one only when its own output is
# drained, so a slow broker holds at most one packet there. While
# disconnected, events are dropped (counted) and states are kept: the
# latest state is published again on the next connect.

import collections
import json
import socket

import paho.mqtt.client as mqtt

from boards.services import mqtt_topics
from boards.services.tcp_client import Connecting

QUEUE_LIMIT = 100
BACKOFF_FIRST_MS = 1000
BACKOFF_MAX_MS = 60000
CONNECT_TIMEOUT_MS = 5000
MISC_MS = 1000
WRITE_RETRY_MS = 20
KEEPALIVE_S = 30


class _HandedSocketClient(mqtt.Client):
    """paho's client, given the socket we connected without blocking
    (paho 2.1's own connect is a blocking socket.create_connection)."""

    handed_socket = None

    def _create_socket_connection(self):
        sock, self.handed_socket = self.handed_socket, None
        return sock


class MqttLink:
    def __init__(self, loop, settings, device_name, on_test_ring, log, on_open):
        self._loop = loop
        self._log = log
        self._on_test_ring = on_test_ring
        self._on_open = on_open if settings["allow_open"] else None
        self.prefix = settings["prefix"].rstrip("/")
        self.device_name = device_name
        self._address = (socket.gethostbyname(settings["host"]), settings["port"])
        client = _HandedSocketClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id="intercom-" + mqtt_topics.node_id(self.prefix),
        )
        if settings["user"] is not None:
            client.username_pw_set(settings["user"], settings["password"])
        client.will_set(self.topic("availability"), "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.connect_async(settings["host"], settings["port"], KEEPALIVE_S)
        self._client = client
        self._queue = collections.deque()
        self._states = {}
        self._fd = None
        self._connecting = None
        self._timers = []
        self._write_timer = None
        self._backoff_ms = BACKOFF_FIRST_MS
        self.connected = False
        self.stats = {"connects": 0, "published": 0, "dropped": 0, "disconnects": 0}

    def topic(self, name):
        return mqtt_topics.topic(self.prefix, name)

    # -- what services call ----------------------------------------------------------

    def start(self):
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
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self.connected:  # a clean goodbye: the will is not sent, so say offline
            self._client.publish(self.topic("availability"), "offline", qos=0, retain=True)
            self._client.loop_write()
            self._client.disconnect()
            self._client.loop_write()
        self._drop_socket()

    # -- connection ------------------------------------------------------------------

    def _connect(self):
        self._connecting = Connecting(self._loop, self._address, CONNECT_TIMEOUT_MS, self._on_tcp)

    def _on_tcp(self, sock, reason):
        self._connecting = None
        if sock is None:
            self._retry_later(reason)
            return
        self._client.handed_socket = sock
        self._fd = sock.fileno()
        self._loop.add_reader(self._fd, self._on_readable)
        try:
            self._client.reconnect()  # sends CONNECT on the socket we made
        except OSError as error:  # reset right away
            self._lost(str(error))
            return
        self._pump()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._log("intercom: MQTT broker refused us: %s" % reason_code)
            return  # the broker closes the socket: _lost follows
        self.connected = True
        self.stats["connects"] += 1
        self._backoff_ms = BACKOFF_FIRST_MS
        self._queue.clear()
        client.subscribe(self.topic("command/test_ring"), qos=0)
        if self._on_open is not None:
            client.subscribe(self.topic("command/open"), qos=0)
        self._enqueue(self.topic("availability"), "online", True)
        discovery = mqtt_topics.discovery(self.prefix, self.device_name, self._on_open is not None)
        for topic, config in discovery:
            self._enqueue(topic, json.dumps(config), True)
        for name in sorted(self._states):
            self._enqueue(self.topic("state/" + name), self._states[name], True)

    def _on_message(self, client, userdata, message):
        if message.topic == self.topic("command/test_ring"):
            self._on_test_ring()
        elif self._on_open is not None and message.topic == self.topic("command/open"):
            self._on_open()

    def _on_readable(self, fd, poll_events):
        code = self._client.loop_read(10)
        if code != mqtt.MQTT_ERR_SUCCESS:
            self._lost(mqtt.error_string(code))
            return
        self._pump()

    def _misc(self):
        if self._fd is None:
            return
        if self._client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
            self._lost("keepalive")
            return
        self._pump()

    def _lost(self, reason):
        self._drop_socket()
        if self.connected:
            self.stats["disconnects"] += 1
        self.connected = False
        self._retry_later(reason)

    def _drop_socket(self):
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    def _retry_later(self, reason):
        self._log(
            "intercom: MQTT %s:%d unavailable (%s); retry in %d ms"
            % (self._address[0], self._address[1], reason, self._backoff_ms)
        )
        self._timers.append(self._loop.call_later(self._backoff_ms, self._reconnect_due))
        self._backoff_ms = min(self._backoff_ms * 2, BACKOFF_MAX_MS)

    def _reconnect_due(self):
        self._timers = [timer for timer in self._timers if not timer.cancelled]
        if self._fd is None and self._connecting is None:
            self._connect()

    # -- output ----------------------------------------------------------------------

    def _enqueue(self, topic, payload, retain):
        if len(self._queue) >= QUEUE_LIMIT:
            self._queue.popleft()
            self.stats["dropped"] += 1
        self._queue.append((topic, payload, retain))
        self._pump()

    def _pump(self):
        """Hand queued publishes to paho while its output is drained; write."""
        if self._fd is None:
            return
        client = self._client
        while self.connected and self._queue and not client.want_write():
            topic, payload, retain = self._queue.popleft()
            client.publish(topic, payload, qos=0, retain=retain)
            self.stats["published"] += 1
        if client.want_write():
            if client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
                self._lost("write failed")
                return
        if (client.want_write() or self._queue) and self._write_timer is None:
            self._write_timer = self._loop.call_later(WRITE_RETRY_MS, self._write_due)

    def _write_due(self):
        self._write_timer = None
        self._pump()
