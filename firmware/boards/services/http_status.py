# The status page and JSON API of the CPython boards: an HTTP/1.1 server
# (h11) in the one poll loop, on http.listen; HTTPS (TLS 1.2+, the
# certificate chain in http.tls_cert, its key in http.tls_key) when both
# are set, the handshake stepped on readable events (boards.services.tls).
#
#   GET  /                 the status page (boards.services.status_page)
#   GET  /api/status       registration, state, current call (its button),
#                          lockout, quiet hours, door contact, tamper, stats
#   GET  /api/log          the call log (oldest first)
#   GET  /api/messages     the visitors' messages on the door (newest first:
#                          name, path, time, duration_ms); the recordings
#                          themselves stay on the door (scp them)
#   GET  /api/config       the effective config, secrets masked
#   POST /api/test-ring    a test ring (= a button press); needs
#                          "Authorization: Bearer <http.token>" (compared in
#                          constant time); 403 when no token is configured
#   POST /api/open         only when http.allow_open: the same token, then the
#                          door policy decides (200 opened, 429 refused: rate
#                          limit; 403 while allow_open is off)
#   POST /api/quiet-mode   the same token; body auto, on or off: the quiet
#                          hours switch (200 {"mode"}, 400 for another body),
#                          kept in the door state file
#   POST /api/tamper-reset the same token: clears a tamper alarm (200
#                          {"reset": true}, or false when there was none)
# Nothing here changes the config.
#
# Per connection: one request, then the answer with "Connection: close" and
# the socket is closed once it is sent. Bounds: MAX_CONNECTIONS (more are
# closed at accept), MAX_HEAD_BYTES for the request head (431), MAX_BODY_BYTES
# for a body (413), IDLE_TIMEOUT_MS from accept to the last byte sent (the
# TLS handshake included). A failed handshake closes the connection
# (counted in stats["tls_failures"]).
# Garbage gets 400 (h11's RemoteProtocolError), other paths 404, other
# methods 405.

import hmac
import json
import socket

import h11
from intercom.sip.grammar import parse_hostport

from boards.runtime.tls_contexts import server_context
from boards.services import status_page, tls

MAX_CONNECTIONS = 8
MAX_HEAD_BYTES = 8192
MAX_BODY_BYTES = 1024
IDLE_TIMEOUT_MS = 10000
WRITE_RETRY_MS = 20
RECEIVE_BYTES = 4096
BACKLOG = 8
ACTIONS = ("/api/test-ring", "/api/open", "/api/quiet-mode", "/api/tamper-reset")


def parse_listen(text):
    """(host, port) of http.listen, which the config check accepted."""
    return parse_hostport(text)


class _Connection:
    def __init__(self, server, sock, handshaking):
        self.server = server
        self.sock = sock
        self.handshaking = handshaking
        self.fd = sock.fileno()
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.request = None
        self.body = bytearray()
        self.output = bytearray()
        self.answered = False
        self.write_timer = None
        self.idle_timer = server.loop.call_later(IDLE_TIMEOUT_MS, self.close)

    def on_readable(self, fd, poll_events):
        if self.handshaking:
            try:
                self.handshaking = not tls.handshake(self.sock)
            except OSError as error:
                self.server.tls_failed(error)
                self.close()
                return
            if self.handshaking:  # waits for the client's next flight
                return
        try:
            data = tls.receive_some(self.sock, RECEIVE_BYTES)
        except OSError:
            self.close()
            return
        if data is None:
            return
        if self.answered:
            if not data:
                self.close()
            return  # ignore anything after the request
        self.h11.receive_data(data)
        self._read_events()

    def _read_events(self):
        while not self.answered:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                status = error.error_status_hint
                if status == 400 and len(self.h11.trailing_data[0]) > MAX_HEAD_BYTES:
                    status = 431
                self.respond(status, "text/plain", b"bad request\n")
                return
            if event is h11.NEED_DATA:
                if self.h11.their_state is h11.DONE:
                    return
                if self.h11.trailing_data[1]:  # closed before a whole request
                    self.close()
                return
            if isinstance(event, h11.Request):
                self.request = event
            elif isinstance(event, h11.Data):
                self.body += event.data
                if len(self.body) > MAX_BODY_BYTES:
                    self.respond(413, "text/plain", b"request too large\n")
                    return
            elif isinstance(event, h11.EndOfMessage):
                self.server.handle(self)
                return
            elif isinstance(event, h11.ConnectionClosed):
                self.close()
                return

    def respond(self, status, content_type, body):
        self.answered = True
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("Cache-Control", "no-store"),
        ]
        try:
            self.output += self.h11.send(h11.Response(status_code=status, headers=headers))
            self.output += self.h11.send(h11.Data(data=body))
            self.output += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError:  # too early or too late to answer: just go
            self.close()
            return
        self.write()

    def write(self):
        self.write_timer = None
        if self.sock is None:
            return
        try:
            sent = tls.send_some(self.sock, self.output)
        except OSError:
            self.close()
            return
        del self.output[:sent]
        if self.output:
            self.write_timer = self.server.loop.call_later(WRITE_RETRY_MS, self.write)
        else:
            self.close()

    def close(self):
        if self.sock is None:
            return
        self.server.forget(self)
        for timer in (self.idle_timer, self.write_timer):
            if timer is not None:
                timer.cancel()
        self.sock.close()
        self.sock = None


class HttpStatus:
    """services gives status(), log_entries(), config_summary(), test_ring()."""

    def __init__(self, loop, settings, services, log):
        self.loop = loop
        self.services = services
        self._log = log
        self._token = settings["token"]
        self._allow_open = settings["allow_open"]
        self._tls_files = (settings["tls_cert"], settings["tls_key"])
        self._tls_context = None
        self.scheme = "https" if settings["tls_cert"] is not None else "http"
        self.address = parse_listen(settings["listen"])
        self._listener = None
        self._connections = {}
        self.stats = {
            "requests": 0,
            "refused_connections": 0,
            "unauthorized": 0,
            "tls_failures": 0,
        }

    def start(self):
        """Listen; OSError/ValueError when the port or the certificate will not do."""
        if self.scheme == "https":
            self._tls_context = server_context(*self._tls_files)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(self.address)
            listener.listen(BACKLOG)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self.address = listener.getsockname()
        self._listener = listener
        self.loop.add_reader(listener, self._on_accept)

    def close(self):
        for connection in list(self._connections.values()):
            connection.close()
        if self._listener is not None:
            self.loop.remove_reader(self._listener)
            self._listener.close()
            self._listener = None

    def _on_accept(self, listener, poll_events):
        for _ in range(BACKLOG):
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors: try on the next wakeup
                self._log("intercom: HTTP accept failed: %s" % error)
                return
            if len(self._connections) >= MAX_CONNECTIONS:
                self.stats["refused_connections"] += 1
                sock.close()
                continue
            sock.setblocking(False)
            if self._tls_context is not None:
                sock = self._tls_context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
            connection = _Connection(self, sock, self._tls_context is not None)
            self._connections[connection.fd] = connection
            self.loop.add_reader(connection.fd, connection.on_readable)

    def tls_failed(self, error):
        self.stats["tls_failures"] += 1
        self._log("intercom: status page: TLS handshake failed: %s" % error)

    def forget(self, connection):
        self.loop.remove_reader(connection.fd)
        self._connections.pop(connection.fd, None)

    # -- the API ---------------------------------------------------------------------

    def handle(self, connection):
        self.stats["requests"] += 1
        request = connection.request
        method = request.method.decode("ascii", "replace")
        path = request.target.decode("ascii", "replace").split("?", 1)[0]
        pages = {
            "/": lambda: ("text/html; charset=utf-8", self._page()),
            "/api/status": lambda: _json(self.services.status()),
            "/api/log": lambda: _json({"entries": self.services.log_entries()}),
            "/api/messages": lambda: _json({"messages": self.services.messages()}),
            "/api/config": lambda: _json(self.services.config_summary()),
        }
        if path in pages:
            if method != "GET":
                connection.respond(405, "text/plain", b"method not allowed\n")
                return
            content_type, body = pages[path]()
            connection.respond(200, content_type, body)
        elif path in ACTIONS:
            if method != "POST":
                connection.respond(405, "text/plain", b"method not allowed\n")
            elif self._token is None:
                connection.respond(403, "text/plain", b"no http.token configured\n")
            elif not self._authorized(request):
                self.stats["unauthorized"] += 1
                connection.respond(401, "text/plain", b"unauthorized\n")
            elif path == "/api/test-ring":
                self.services.test_ring("http")
                connection.respond(202, *_json({"ok": True}))
            elif path == "/api/quiet-mode":
                mode = bytes(connection.body).decode("ascii", "replace").strip().lower()
                if self.services.set_quiet_mode(mode, "http"):
                    connection.respond(200, *_json({"mode": mode}))
                else:
                    connection.respond(400, "text/plain", b"the body is auto, on or off\n")
            elif path == "/api/tamper-reset":
                connection.respond(200, *_json({"reset": self.services.reset_tamper("http")}))
            elif not self._allow_open:
                connection.respond(403, "text/plain", b"http.allow_open is off\n")
            else:
                opened = self.services.open_door("http")
                connection.respond(200 if opened else 429, *_json({"opened": opened}))
        else:
            connection.respond(404, "text/plain", b"not found\n")

    def _authorized(self, request):
        expected = ("Bearer " + self._token).encode()
        for name, value in request.headers:
            if name == b"authorization":
                return hmac.compare_digest(value, expected)
        return False

    def _page(self):
        services = self.services
        text = status_page.render(
            services.status(), services.log_entries(), services.config_summary()
        )
        return text.encode()


def _json(value):
    return ("application/json", json.dumps(value, sort_keys=True).encode())
