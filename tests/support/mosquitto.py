# Helpers for the services tests: a real Mosquitto on 127.0.0.1, a paho
# subscriber, sim doors with services, plain HTTP requests.

import getpass
import json
import os
import pathlib
import queue
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import paho.mqtt.client as mqtt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "board_sim"))

from board_sim_door import (  # noqa: E402, F401
    Door,
    door_config,
    free_port,
    read_wav,
    start_micropython_door,
    toml_value,
    write_toml,
)

FLAT_USER = "flatx"


def free_tcp_port():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def wait_until(check, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %.1f s" % (what, timeout))
        time.sleep(0.05)


def count_events(door, name, at_least, timeout=10.0):
    """Read the door's event lines until it printed at_least events called name."""
    deadline = time.monotonic() + timeout
    while door.names().count(name) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError("only %d %s events" % (door.names().count(name), name))
        try:
            door._take(0.1)
        except queue.Empty:
            pass


class Mosquitto:
    """A broker on 127.0.0.1:port (password auth when users is given)."""

    def __init__(self, folder, users=None, tls=None):
        """tls: {"cafile", "certfile", "keyfile"[, "require_certificate"]}: a
        TLS listener (mosquitto's own option names)."""
        self.folder = pathlib.Path(folder)
        self.port = free_tcp_port()
        # as root, mosquitto would switch to its own user, who cannot read our files
        lines = ["listener %d 127.0.0.1" % self.port, "persistence false"]
        for option, value in (tls or {}).items():
            lines.append("%s %s" % (option, value))
        lines.append("user %s" % getpass.getuser())
        if users:
            password_file = self.folder / "mosquitto.passwd"
            password_file.touch(mode=0o600)
            for user, password in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(password_file), user, password], check=True
                )
            lines += ["allow_anonymous false", "password_file %s" % password_file]
        else:
            lines.append("allow_anonymous true")
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process = None
        self.log = open(self.folder / "mosquitto.log", "ab")

    def start(self):
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)], stdout=self.log, stderr=self.log
        )

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_until(listening, 10, "mosquitto listening")

    def log_mark(self):
        """Where the broker's log ends now (for wait_for_client)."""
        self.log.flush()
        return (self.folder / "mosquitto.log").stat().st_size

    def wait_for_client(self, user, since=0, timeout=15.0):
        """The client id of the first client that connected as user after since."""

        def found():
            text = (self.folder / "mosquitto.log").read_bytes()[since:].decode(errors="replace")
            for line in text.splitlines():
                if "New client connected" in line and "u'%s'" % user in line:
                    return line.split(" as ", 1)[1].split(" (", 1)[0]
            return None

        return wait_until(found, timeout, "a client connected as %s" % user)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class FastReceiver:
    """Webhook receiver: records each POSTed JSON body; HTTPS with context."""

    def __init__(self, port, context=None):
        bodies = self.bodies = []
        paths = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


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

    def events(self, name, since=0):
        return [json.loads(payload) for payload in self.seen("intercom/door/event/" + name, since)]

    def publish(self, topic, payload):
        self.client.publish(topic, payload).wait_for_publish(5)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def start_pair(folder, door_input="tone", webhooks=(), **door_sections):
    """(door, flat, flat_target): the flat (a second sim door) answers the door."""
    door_port = free_port()
    flat_port = free_port()
    flat_target = "sip:%s@127.0.0.1:%d" % (FLAT_USER, flat_port)
    flat_sections = door_config(
        "Flat X",
        FLAT_USER,
        flat_port,
        ["sip:doora@127.0.0.1:%d" % door_port],
        answer_from=["sip:doora@127.0.0.1"],
    )
    write_toml(folder / "flat.toml", flat_sections)
    flat = Door(folder, "flat.toml")
    flat.wait_for("started")
    sections = door_config("Door", "doora", door_port, [flat_target], audio_input=door_input)
    sections["door"]["code"] = "1234"
    for section, table in door_sections.items():
        sections.setdefault(section, {}).update(table)
    door = start_door(folder, sections, webhooks=webhooks)
    return door, flat, flat_target


def start_door(folder, sections, name="door.toml", webhooks=(), **door_options):
    path = write_toml(folder / name, sections)
    for webhook in webhooks:
        lines = ["[[webhook]]"] + ["%s = %s" % (k, toml_value(v)) for k, v in webhook.items()]
        path.write_text(path.read_text() + "\n".join(lines) + "\n")
    door = Door(folder, name, **door_options)
    door.wait_for("started", timeout=20)
    return door


def http_request(port, method, path, headers=None, timeout=5.0, body=None):
    """(status, headers dict, body bytes) over a fresh connection."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def http_json(port, path):
    status, _, body = http_request(port, "GET", path)
    assert status == 200, (status, body)
    return json.loads(body)


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


class PrivateHosts:
    """Name resolution the test controls, for a door started with wrapper():
    the door runs in its own mount namespace where /etc/hosts is this
    folder's hosts file (rewritten in place by add(), so the door sees each
    change) and /etc/resolv.conf names only 127.0.0.1, where no DNS server
    listens: a name missing from the file fails at once, and no query
    leaves the loopback interface."""

    def __init__(self, folder):
        self.hosts = pathlib.Path(folder) / "hosts"
        self.resolv = pathlib.Path(folder) / "resolv.conf"
        self.hosts.write_text("127.0.0.1 localhost\n")
        self.resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")

    def add(self, name, address):
        with open(self.hosts, "a") as hosts:  # in place: the bind mount keeps the inode
            hosts.write("%s %s\n" % (address, name))

    def wrapper(self):
        namespace = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            namespace[1:1] = ["--user", "--map-root-user"]
        script = 'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf'
        script += ' && shift && exec "$@"'
        return namespace + ["sh", "-c", script, str(self.hosts), str(self.resolv)]
