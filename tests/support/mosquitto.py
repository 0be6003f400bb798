# Mosquitto (package mosquitto) as an MQTT broker on 127.0.0.1, password
# auth when users are given, a TLS listener when tls is, stopped by its
# PID; a paho subscriber (in the test process only) that records what the
# broker delivers; publish_retained() for a message left on the broker.

import getpass
import json
import pathlib
import subprocess
import threading

import paho.mqtt.client as mqtt

from support.peers import ensure_installed
from support.ports import free_port, holds_port, retry_when_taken
from support.processes import PeerProcess
from support.wait import wait_until


class Mosquitto:
    """A broker on 127.0.0.1:port: a free port picked at the first start
    (again when taken), unless `port` is given because a door was told it
    before the broker runs; start() after stop() restarts on that port.
    tls: {"cafile", "certfile", "keyfile"[, "require_certificate"]}, a TLS
    listener (mosquitto's own option names)."""

    def __init__(self, folder, users=None, port=None, tls=None):
        self.folder = pathlib.Path(folder)
        self.users = users
        self.port = port
        self.tls = tls or {}
        self.log_path = self.folder / "mosquitto.log"
        self.peer = None

    def _write_config(self):
        # as root, mosquitto would switch to its own user, who cannot read our files
        lines = ["listener %d 127.0.0.1" % self.port, "persistence false"]
        lines += ["%s %s" % (option, value) for option, value in self.tls.items()]
        lines.append("user %s" % getpass.getuser())
        if self.users:
            password_file = self.folder / "mosquitto.passwd"
            password_file.unlink(missing_ok=True)
            password_file.touch(mode=0o600)
            for user, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(password_file), user, password], check=True
                )
            lines += ["allow_anonymous false", "password_file %s" % password_file]
        else:
            lines.append("allow_anonymous true")
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self):
        ensure_installed(["mosquitto", "mosquitto_passwd"], "mosquitto")
        if self.port is not None:
            return self._start(self.port)
        return retry_when_taken(lambda: self._start(free_port(tcp=True)))

    def _start(self, port):
        self.port = port
        config = self._write_config()
        self.peer = PeerProcess("mosquitto", self.log_path)
        self.peer.launch(["mosquitto", "-c", config])
        self.peer.wait_started(lambda: holds_port(self.peer.pid, port, tcp=True))
        return self

    def stop(self):
        if self.peer is not None:
            self.peer.stop()

    def log_mark(self):
        """Where the broker's log ends now (for wait_for_client)."""
        return self.log_path.stat().st_size

    def wait_for_client(self, user, since=0, timeout=15.0):
        """The client id of the first client that connected as user after since."""

        def found():
            text = self.log_path.read_bytes()[since:].decode(errors="replace")
            for line in text.splitlines():
                if "New client connected" in line and "u'%s'" % user in line:
                    return line.split(" as ", 1)[1].split(" (", 1)[0]
            return None

        return wait_until(found, timeout, "a client connected as %s" % user)


class Subscriber:
    """A paho client (its own thread, in the test only) recording messages."""

    def __init__(self, port, topics, user=None, password=None, client_id="", tls=None):
        """tls: the keyword arguments of paho's tls_set (ca_certs, certfile, keyfile)."""
        self.messages = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if tls is not None:
            self.client.tls_set(**tls)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.topics = topics
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 0.5)
        self.client.connect("127.0.0.1", port, 10)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        for topic in self.topics:
            client.subscribe(topic)

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.messages.append((message.topic, message.payload.decode(), message.retain))

    def seen(self, topic, since=0):
        with self.lock:
            return [payload for name, payload, _ in self.messages[since:] if name == topic]

    def topics_seen(self, since=0):
        with self.lock:
            return {topic for topic, _, _ in self.messages[since:]}

    def mark(self):
        with self.lock:
            return len(self.messages)

    def wait_for(self, topic, payload=None, since=0, timeout=10.0):
        def found():
            for seen in self.seen(topic, since):
                if payload is None or seen == payload:
                    return seen
            return None

        return wait_until(found, timeout, "%s %r" % (topic, payload))

    def events(self, name, since=0, prefix="intercom/door"):
        """The JSON events the door published under prefix/event/name."""
        return [json.loads(payload) for payload in self.seen("%s/event/%s" % (prefix, name), since)]

    def publish(self, topic, payload):
        self.client.publish(topic, payload).wait_for_publish(5)

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def publish_retained(port, topic, payload, user=None, password=None):
    """One retained message, published and acknowledged before this returns."""
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    if user is not None:
        publisher.username_pw_set(user, password)
    publisher.connect("127.0.0.1", port, 10)
    publisher.loop_start()
    try:
        publisher.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
