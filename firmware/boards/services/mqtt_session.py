# The door's one MQTT session, whichever client carries it: what the door
# says (topics and discovery from boards.services.mqtt_topics), when it
# (re)connects, what waits while it cannot, and which commands it obeys.
# Portable: the Pico W (and the sim board under the MicroPython unix port)
# runs it over boards.services.mqtt_pico.PicoTransport, CPython over
# boards.services.mqtt_paho.PahoTransport.
#
# Use (boards.services.start on MicroPython, boards.services.hub on CPython):
#   session = MqttSession(runtime, log, transport_class, emit)
#   session.attach()           # client id, timers, first connection attempt
#   session.on_event(event)    # every event the station emits
#   session.close()            # availability "offline", DISCONNECT, closed
#   session.connected, session.stats
# emit(event) puts an event of ours (an `error`) out like a station event.
#
# Topics (prefix = mqtt.prefix, e.g. "intercom/door"):
#   <prefix>/availability     "online" after each connect, "offline" as the
#                             last will and at a clean stop (retained)
#   <prefix>/state/call       idle | calling | talking | ending (retained)
#   <prefix>/state/registered ON | OFF (retained; ON peer-to-peer)
#   <prefix>/state/lockout    ON | OFF (retained)
#   <prefix>/state/quiet      ON | OFF: quiet hours now (retained)
#   <prefix>/state/quiet_mode auto | on | off: the owner's switch (retained)
#   <prefix>/state/door       open | closed, once the door contact reported
#                             (retained; with a door contact)
#   <prefix>/state/tamper     ON | OFF: the tamper alarm (retained; with a
#                             tamper switch)
#   <prefix>/event/<name>     every event as JSON (not retained)
#   <prefix>/doorbell         button 1's presses: {"event_type": "press"}
#   <prefix>/doorbell/<id>    button <id>'s (mqtt_topics: repeat, quiet)
#   <prefix>/command/test_ring   any payload: a test ring (= a button press)
#   <prefix>/command/quiet_mode  auto | on | off: the quiet hours switch
#                             (kept in the door state file); anything else
#                             is an error event
#   <prefix>/command/tamper_reset  only subscribed with a tamper switch and
#                             mqtt.user and mqtt.password: clears the tamper
#                             alarm (intercom.app.door "Tamper")
#   <prefix>/command/open     only subscribed when mqtt.allow_open: asks the
#                             door policy to open (rate-limited, not blocked
#                             by a DTMF lockout; intercom.app.door "Remote open")
#   homeassistant/<component>/<node>/<object>/config   Home Assistant MQTT
#                             discovery (retained): one event entity per
#                             button ("doorbell", "doorbell_<id>"; event_types
#                             press and repeat), sensor "call_state",
#                             binary_sensors "registered", "lockout" and
#                             "quiet", select "quiet_mode", button
#                             "test_ring"; binary_sensor "door" with a door
#                             contact, binary_sensor "tamper" (and button
#                             "tamper_reset" with broker credentials) with a
#                             tamper switch, button "open_door" with
#                             mqtt.allow_open.
#
# Connection states and what moves them:
#   waiting     retry timer (at once after attach)   -> resolving: mqtt.host
#               looked up (boards.services.resolver, again at each attempt)
#   resolving   an address                           -> connecting:
#               transport.open(address): TCP (TLS), CONNECT with the will
#               no address                           -> waiting
#   connecting  transport.online() (CONNACK 0): SUBSCRIBE, availability
#               "online", discovery, every state; back-off reset -> online
#               transport.lost()/refused(), or CONNECT_TIMEOUT_MS since
#               the attempt began                    -> waiting
#   online      transport.lost() (EOF, errors, keepalive) -> waiting
# Back-off between attempts: BACKOFF_FIRST_MS doubling to BACKOFF_MAX_MS.
# The first failure after start, and the first after each time online, is
# an `error` event {"service": "mqtt", "reason": ...}; the retries of the
# same outage are log lines only.
#
# Commands (MQTT 3.1.1 3.3.1.3): a PUBLISH that reaches us with RETAIN set
# was stored on the broker before we subscribed (a live one always comes
# with RETAIN 0), so one retained command/open would open the door at each
# connect. Those are ignored: counted in stats["retained_ignored"] and
# reported as an `error` event naming the topic.
#
# Client id (MQTT 3.1.1 3.1.3.1): "intercom" and 12 hex digits drawn from
# os.urandom the first time, kept in mqtt_client_id next to door.state_file:
# the same over restarts, another on every device, and not derivable from
# the config, so a broker user cannot take over (and so disconnect) the
# door's session by reusing its id. 20 characters of 0-9a-z.
#
# Memory bound: publishes wait in a list of QUEUE_LIMIT (the oldest is
# dropped and counted); the transport gets the next one only when its
# output is drained (transport.idle()), so a slow broker holds at most one
# packet there. A discovery config is encoded to JSON only then. While
# disconnected, events are dropped (counted) and states are kept: the
# latest states are published again on the next connect.
#
# Transport contract (PahoTransport, PicoTransport):
#   Transport(loop, settings, client_id, will_topic, session)
#   open(address)      connect (TCP, TLS when mqtt.tls) and send CONNECT
#                      (clean session, will "offline" qos 1 retained)
#   subscribe(topics)  qos 0
#   idle()             nothing waits to be written: a publish may go
#   publish(topic, payload, retain)   qos 0
#   write()            push pending output; False when the connection was
#                      lost (session.lost() has been called)
#   tick()             every MISC_MS: keepalive (PINGREQ, PINGRESP check)
#   close(goodbye)     goodbye (topic, payload) or None: published retained
#                      before DISCONNECT; then closed
#   drop()             closed at once, nothing sent
# and calls on the session: online(), refused(reason) (CONNACK refused),
# lost(reason) (the connection failed or ended), message(topic, payload,
# retained).

import binascii
import json
import os

from intercom import events

from boards.runtime import state_file
from boards.services import mqtt_topics, resolver

QUEUE_LIMIT = 24
BACKOFF_FIRST_MS = 1000
BACKOFF_MAX_MS = 60000
CONNECT_TIMEOUT_MS = 5000
MISC_MS = 1000
WRITE_RETRY_MS = 20
STATE_POLL_MS = 1000  # lockout ends and registration changes without an event
CLIENT_ID_FILE = "mqtt_client_id"
CLIENT_ID_PREFIX = "intercom"
CLIENT_ID_RANDOM_BYTES = 6


def client_id(door_state_path, log):
    """The device's own client id (see "Client id" above)."""
    path = state_file.folder_of(door_state_path) + "/" + CLIENT_ID_FILE
    try:
        with open(path) as handle:
            kept = handle.read().strip()
        if _is_client_id(kept):
            return kept
    except OSError:
        pass
    made = CLIENT_ID_PREFIX + binascii.hexlify(os.urandom(CLIENT_ID_RANDOM_BYTES)).decode()
    try:
        state_file.write_atomic(path, made)
    except OSError as error:
        log("intercom: cannot keep the MQTT client id in %s: %s" % (path, error))
    return made


def _is_client_id(text):
    digits = text[len(CLIENT_ID_PREFIX) :]
    if not text.startswith(CLIENT_ID_PREFIX) or len(digits) != 2 * CLIENT_ID_RANDOM_BYTES:
        return False
    for char in digits:
        if char not in "0123456789abcdef":
            return False
    return True


class MqttSession:
    def __init__(self, runtime, log, transport_class, emit):
        self._runtime = runtime
        self._loop = runtime.service_loop
        self._log = log
        self._emit = emit
        self._transport_class = transport_class
        settings = runtime.config["mqtt"]
        self._settings = settings
        self.prefix = settings["prefix"].rstrip("/")
        self._commands = {
            self.topic("command/test_ring"): self._test_ring,
            self.topic("command/quiet_mode"): self._quiet_mode,
        }
        if mqtt_topics.tamper_reset_allowed(runtime.config):
            self._commands[self.topic("command/tamper_reset")] = self._tamper_reset
        if settings["allow_open"]:
            self._commands[self.topic("command/open")] = self._open
        self._client_id = None
        self._transport = None
        self._lookup = None
        self._queue = []
        self._states = {}
        self._timers = []
        self._retry_timer = None
        self._deadline_timer = None
        self._write_timer = None
        self._backoff_ms = BACKOFF_FIRST_MS
        self._reported = False
        self.connected = False
        self.stats = {
            "connects": 0,
            "published": 0,
            "dropped": 0,
            "disconnects": 0,
            "retained_ignored": 0,
            "too_big": 0,
        }

    def topic(self, name):
        return mqtt_topics.topic(self.prefix, name)

    # -- what the runtime (or the hub) calls ------------------------------------------

    def attach(self):
        self._client_id = client_id(self._runtime.config["door"]["state_file"], self._log)
        self._publish_states()
        loop = self._loop
        self._timers = [
            loop.call_every(MISC_MS, self._tick),
            loop.call_every(STATE_POLL_MS, self._publish_states),
        ]
        self._retry_timer = loop.call_later(0, self._attempt)

    def on_event(self, event):
        if self.connected:
            for topic, payload, retain in mqtt_topics.event_messages(self.prefix, event):
                self._enqueue(topic, payload, retain)
        else:
            self.stats["dropped"] += 1
        self._publish_states()

    def close(self):
        for timer in self._timers + [self._retry_timer, self._deadline_timer, self._write_timer]:
            if timer is not None:
                timer.cancel()
        self._timers = []
        self._retry_timer = self._deadline_timer = self._write_timer = None
        if self._lookup is not None:
            self._lookup.cancel()
            self._lookup = None
        transport = self._transport
        self._transport = None
        if transport is not None:
            # a clean goodbye: the broker sends no will, so say offline
            goodbye = (self.topic("availability"), "offline") if self.connected else None
            transport.close(goodbye)
        self.connected = False

    # -- connection ------------------------------------------------------------------

    def _attempt(self):
        self._retry_timer = None
        settings = self._settings
        self._lookup = resolver.lookup(
            self._loop, settings["host"], settings["port"], self._on_address
        )

    def _on_address(self, address, reason):
        self._lookup = None
        if address is None:
            self._failed(reason)
            return
        self._deadline_timer = self._loop.call_later(CONNECT_TIMEOUT_MS, self._too_slow)
        transport = self._transport_class(
            self._loop, self._settings, self._client_id, self.topic("availability"), self
        )
        self._transport = transport
        try:
            transport.open(address)
        except (OSError, ValueError) as error:  # e.g. a TLS file that cannot be read
            self.lost(str(error))

    def _too_slow(self):
        self._deadline_timer = None
        self.lost("no CONNACK within %d ms" % CONNECT_TIMEOUT_MS)

    def online(self):
        """The transport's CONNACK 0."""
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        self.connected = True
        self.stats["connects"] += 1
        self._backoff_ms = BACKOFF_FIRST_MS
        self._reported = False
        self._queue = []
        self._log("intercom: MQTT connected to %s:%d" % self._host_port())
        transport = self._transport
        if transport is None:
            return
        transport.subscribe(sorted(self._commands))
        self._enqueue(self.topic("availability"), "online", True)
        for topic, config in mqtt_topics.discovery(self.prefix, self._runtime.config):
            self._enqueue(topic, config, True)
        for name in sorted(self._states):
            self._enqueue(self.topic("state/" + name), self._states[name], True)

    def refused(self, reason):
        """The transport's CONNACK with a refusal (bad credentials, ...)."""
        self._log("intercom: MQTT broker refused us: %s" % reason)
        self.lost("refused: %s" % reason)

    def lost(self, reason):
        """The connection failed or ended (the transport may still hold a socket)."""
        transport = self._transport
        self._transport = None
        if transport is not None:
            transport.drop()
        for timer in (self._deadline_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._deadline_timer = self._write_timer = None
        if self.connected:
            self.stats["disconnects"] += 1
        self.connected = False
        self._failed(reason)

    def _failed(self, reason):
        self._log(
            "intercom: MQTT %s:%d unavailable (%s); retry in %d ms"
            % (self._host_port() + (reason, self._backoff_ms))
        )
        if not self._reported:
            self._reported = True
            self._report("MQTT broker %s:%d: %s" % (self._host_port() + (reason,)))
        self._retry_timer = self._loop.call_later(self._backoff_ms, self._attempt)
        self._backoff_ms = min(self._backoff_ms * 2, BACKOFF_MAX_MS)

    def _tick(self):
        transport = self._transport
        if transport is not None:
            transport.tick()
            self._pump()

    def _host_port(self):
        return (self._settings["host"], self._settings["port"])

    def _report(self, reason, topic=None):
        fields = {"service": "mqtt", "reason": reason}
        if topic is not None:
            fields["topic"] = topic
        self._emit(events.make_event(self._runtime.now_ms(), events.ERROR, fields))

    # -- commands in -----------------------------------------------------------------

    def message(self, topic, payload, retained):
        """A PUBLISH from the broker on one of our subscriptions."""
        command = self._commands.get(topic)
        if command is None:
            return
        if retained:
            self.stats["retained_ignored"] += 1
            self._log("intercom: MQTT retained %s ignored" % topic)
            self._report("retained command ignored (MQTT 3.1.1 3.3.1.3)", topic)
            return
        command(payload)

    def too_big(self, size):
        """The transport dropped a packet of size bytes unread (more than it
        holds); the connection goes on."""
        self.stats["too_big"] += 1
        self._log("intercom: MQTT packet of %d bytes dropped" % size)
        self._report("a packet of %d bytes dropped unread (too big for this board)" % size)

    def _quiet_mode(self, payload):
        try:
            mode = bytes(payload).decode().strip().lower()
        except UnicodeError:
            mode = None
        if mode is None or not self._runtime.set_quiet_mode(mode, "mqtt"):
            topic = self.topic("command/quiet_mode")
            self._report("quiet hours mode: the payload is not auto, on or off", topic)

    def _tamper_reset(self, payload):
        reset = self._runtime.reset_tamper("mqtt")
        self._log("intercom: tamper reset over mqtt: %s" % ("done" if reset else "no alarm"))

    def _test_ring(self, payload):
        self._log("intercom: test ring from mqtt")
        self._runtime.test_ring()

    def _open(self, payload):
        opened = self._runtime.remote_open("mqtt")
        self._log(
            "intercom: door open requested over mqtt: %s" % ("opened" if opened else "refused")
        )

    # -- state and output ------------------------------------------------------------

    def _publish_states(self):
        runtime = self._runtime
        station = runtime.station
        if not runtime.config["sip"]["register"] or station.doorbell.registered:
            registered = "ON"
        else:
            registered = "OFF"
        self._set_state("call", station.state)
        self._set_state("registered", registered)
        self._set_state("lockout", "ON" if station.policy.is_locked() else "OFF")
        quiet = station.quiet_hours
        self._set_state("quiet", "ON" if quiet.active else "OFF")
        self._set_state("quiet_mode", quiet.mode)
        config = runtime.config
        if (
            mqtt_topics.has_input(config, "door_contact")
            and station.door_contact.state != "unknown"
        ):
            self._set_state("door", station.door_contact.state)
        if mqtt_topics.has_input(config, "tamper"):
            self._set_state("tamper", "ON" if station.policy.tamper_alarm else "OFF")

    def _set_state(self, name, value):
        if self._states.get(name) != value:
            self._states[name] = value
            if self.connected:
                self._enqueue(self.topic("state/" + name), value, True)

    def _enqueue(self, topic, payload, retain):
        if len(self._queue) >= QUEUE_LIMIT:
            self._queue.pop(0)
            self.stats["dropped"] += 1
        self._queue.append((topic, payload, retain))
        self._pump()

    def _pump(self):
        """Hand queued publishes to the transport while its output is drained."""
        transport = self._transport
        if transport is None:
            return
        while self.connected and self._queue and transport.idle():
            topic, payload, retain = self._queue.pop(0)
            if not isinstance(payload, str):  # a discovery config: encoded late, one at a time
                payload = json.dumps(payload)
            transport.publish(topic, payload, retain)
            self.stats["published"] += 1
            if not transport.write():
                return
        if not transport.write():
            return
        waiting = not transport.idle() or (self.connected and self._queue)
        if waiting and self._write_timer is None:
            self._write_timer = self._loop.call_later(WRITE_RETRY_MS, self._write_due)

    def _write_due(self):
        self._write_timer = None
        self._pump()
