# The MQTT transport of the CPython boards (boards.services.mqtt_session
# has the session, topics, back-off and queue): paho-mqtt 2.x driven by the
# one poll loop through its external-loop interface (loop_read on
# readable, loop_write while it wants to write, loop_misc every second),
# never a thread, never a wait.
#
# paho gets a socket we connected without blocking
# (boards.services.tcp_client.Connecting; paho 2.1's own connect is a
# blocking socket.create_connection). With mqtt.tls the socket is a TLS
# socket whose handshake we did in the loop (boards.services.tls: the
# broker's certificate checked against mqtt.tls_ca or the system store and
# against mqtt.host; mqtt.tls_cert/tls_key as our client certificate).
#
#   open(address)   TCP (TLS) up -> paho sends CONNECT on it
#   CONNACK         paho's on_connect: session.online() or session.refused()
#   PUBLISH in      paho's on_message: session.message(topic, payload, retain)
#   read error, EOF, keepalive (loop_misc), write error -> session.lost()

import paho.mqtt.client as mqtt

from boards.services import tls
from boards.services.tcp_client import Connecting

KEEPALIVE_S = 30
CONNECT_TIMEOUT_MS = 5000
READ_PACKETS = 10  # per loop_read call


class _HandedSocketClient(mqtt.Client):
    """paho's client, given the socket we connected without blocking."""

    handed_socket = None

    def _create_socket_connection(self):
        sock, self.handed_socket = self.handed_socket, None
        return sock


class PahoTransport:
    def __init__(self, loop, settings, client_id, will_topic, session):
        self._loop = loop
        self._settings = settings
        self._session = session
        client = _HandedSocketClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if settings["user"] is not None:
            client.username_pw_set(settings["user"], settings["password"])
        client.will_set(will_topic, "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        # only records host, port and keepalive for reconnect(): no I/O
        client.connect_async(settings["host"], settings["port"], KEEPALIVE_S)
        self._client = client
        self._connecting = None
        self._fd = None

    # -- the transport contract (boards.services.mqtt_session) -------------------------

    def open(self, address):
        settings = self._settings
        secure = None
        if settings["tls"]:
            secure = tls.client_tls(
                settings["host"], settings["tls_ca"], settings["tls_cert"], settings["tls_key"]
            )
        self._connecting = Connecting(self._loop, address, CONNECT_TIMEOUT_MS, self._on_tcp, secure)

    def subscribe(self, topics):
        for topic in topics:
            self._client.subscribe(topic, qos=0)
        self.write()

    def idle(self):
        return not self._client.want_write()

    def publish(self, topic, payload, retain):
        self._client.publish(topic, payload, qos=0, retain=retain)

    def write(self):
        client = self._client
        if self._fd is None:
            return False
        if client.want_write() and client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
            self._session.lost("write failed")
            return False
        return True

    def tick(self):
        if self._fd is not None and self._client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
            self._session.lost("keepalive")

    def close(self, goodbye):
        if goodbye is not None and self._fd is not None:
            self._client.publish(goodbye[0], goodbye[1], qos=0, retain=True)
            self._client.loop_write()
            self._client.disconnect()
            self._client.loop_write()
        self.drop()

    def drop(self):
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    # -- paho ------------------------------------------------------------------------

    def _on_tcp(self, sock, reason):
        self._connecting = None
        if sock is None:
            self._session.lost(reason)
            return
        self._client.handed_socket = sock
        self._fd = sock.fileno()
        self._loop.add_reader(self._fd, self._on_readable)
        try:
            self._client.reconnect()  # sends CONNECT on the socket we made
        except OSError as error:  # reset right away
            self._session.lost(str(error))
            return
        self.write()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._session.refused(str(reason_code))
        else:
            self._session.online()

    def _on_message(self, client, userdata, message):
        self._session.message(message.topic, message.payload, bool(message.retain))

    def _on_readable(self, fd, poll_events):
        client = self._client
        while True:
            if client.loop_read(READ_PACKETS) != mqtt.MQTT_ERR_SUCCESS:
                if self._fd is not None:  # not already dropped by a callback
                    self._session.lost("connection closed")
                return
            sock = client.socket()
            pending = getattr(sock, "pending", None)  # TLS: records poll() cannot see
            if self._fd is None or pending is None or not pending():
                break
        self.write()
