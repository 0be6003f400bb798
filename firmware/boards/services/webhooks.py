# Webhooks of the CPython boards: each [[webhook]] POSTs the JSON of the
# events it lists to its url (http:// or https://host[:port]/path), as a
# non-blocking HTTP/1.1 client (h11) in the one poll loop. https: TLS 1.2+
# with the server's certificate verified against webhook.tls_ca (else the
# system's trust store) and the url's host (boards.services.tls).
#
#   Webhook(loop, entry, log, emit, label)   entry: one [[webhook]] table;
#       emit(event) puts our `error` events out; label: the url as it may
#       be shown (its path masked)
#
# One delivery at a time per webhook, in event order:
#   idle       an event queued                -> resolving (the host is
#              looked up at each attempt: boards.services.resolver)
#   resolving  an address                     -> connecting
#   connecting TCP (and TLS) up: request sent -> waiting
#   waiting    a response 2xx                 -> idle (delivered)
#              a response 3xx-5xx             -> failed
#   any        no address, refused, reset, a bad certificate, garbage, or
#              webhook.timeout seconds since the attempt began -> failed
#   failed     attempts < MAX_ATTEMPTS: wait BACKOFF_FIRST_MS doubled per
#              attempt, then retry the same event; else drop it (counted)
# The queue holds QUEUE_LIMIT events: when full the oldest is dropped and
# counted (never the one in flight), so a dead or hanging endpoint never grows memory.
# The first failure after start or after a delivery is an `error` event
# {"service": "webhook", "url": label, "reason": ...}; the failures that
# follow it are log lines only.

import collections
import json

import h11
from intercom import events
from intercom.sip.grammar import SipParseError, parse_hostport

from boards.services import resolver, tls
from boards.services.tcp_client import Connecting

QUEUE_LIMIT = 100
MAX_ATTEMPTS = 3
BACKOFF_FIRST_MS = 500
WRITE_RETRY_MS = 20
RECEIVE_BYTES = 4096
MAX_RESPONSE_HEAD = 16384


DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_url(url):
    """(scheme, host, port, target) of an http:// or https:// URL; ValueError otherwise."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS or not separator:
        raise ValueError("webhook url %r: only http:// and https:// are supported" % url)
    authority, slash, path = rest.partition("/")
    try:
        host, port = parse_hostport(authority)
    except SipParseError:
        raise ValueError("webhook url %r: no host or a bad port" % url) from None
    return scheme, host, port or DEFAULT_PORTS[scheme], slash + path if slash else "/"


class Webhook:
    def __init__(self, loop, entry, log, emit, label):
        self._loop = loop
        self._log = log
        self._emit = emit
        self.url = entry["url"]
        self.label = label
        self._scheme, self._host, self._port, self._target = parse_url(self.url)
        self._tls_ca = entry["tls_ca"]
        self._events = set(entry["events"])
        self._timeout_ms = entry["timeout"] * 1000
        self._queue = collections.deque()
        self._attempt = 0
        self._busy = False
        self._lookup = None
        self._connecting = None
        self._reported = False
        self._sock = None
        self._fd = None
        self._client = None
        self._output = bytearray()
        self._timers = []
        self.stats = {"delivered": 0, "failed": 0, "dropped": 0, "attempts": 0}

    @property
    def queued(self):
        return len(self._queue)

    def offer(self, event):
        if event["event"] not in self._events:
            return
        if len(self._queue) >= QUEUE_LIMIT:
            del self._queue[1 if self._busy else 0]  # never the one in flight
            self.stats["dropped"] += 1
        self._queue.append(json.dumps(event).encode())
        if not self._busy:
            self._begin()

    def close(self):
        self._end_attempt()
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    # -- one attempt -----------------------------------------------------------------

    def _begin(self):
        if not self._queue:
            self._busy = False
            return
        self._busy = True
        self.stats["attempts"] += 1
        self._timers = [self._loop.call_later(self._timeout_ms, lambda: self._failed("timeout"))]
        self._lookup = resolver.lookup(self._loop, self._host, self._port, self._on_address)

    def _on_address(self, address, reason):
        self._lookup = None
        if address is None:
            self._failed(reason)
            return
        secure = None
        if self._scheme == "https":
            try:
                secure = tls.client_tls(self._host, self._tls_ca)
            except (OSError, ValueError) as error:  # a tls_ca that cannot be read
                self._failed("TLS: %s" % error)
                return
        self._connecting = Connecting(self._loop, address, self._timeout_ms, self._on_tcp, secure)

    def _on_tcp(self, sock, reason):
        self._connecting = None
        if sock is None:
            self._failed(reason)
            return
        self._sock = sock
        self._fd = sock.fileno()
        self._loop.add_reader(self._fd, self._on_readable)
        body = self._queue[0]
        client = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_RESPONSE_HEAD)
        headers = [
            ("Host", self._host),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("User-Agent", "intercom"),
        ]
        self._output = bytearray(
            client.send(h11.Request(method="POST", target=self._target, headers=headers))
        )
        self._output += client.send(h11.Data(data=body))
        self._output += client.send(h11.EndOfMessage())
        self._client = client
        self._write()

    def _write(self):
        if self._sock is None or not self._output:
            return
        try:
            sent = tls.send_some(self._sock, self._output)
        except OSError as error:
            self._failed(str(error))
            return
        del self._output[:sent]
        if self._output:
            self._timers.append(self._loop.call_later(WRITE_RETRY_MS, self._write))

    def _on_readable(self, fd, poll_events):
        try:
            data = tls.receive_some(self._sock, RECEIVE_BYTES)
        except OSError as error:
            self._failed(str(error))
            return
        if data is None:  # a TLS record not complete yet
            return
        self._client.receive_data(data)
        try:
            event = self._client.next_event()
        except h11.RemoteProtocolError as error:
            self._failed("bad response: %s" % error)
            return
        if isinstance(event, h11.Response):
            if 200 <= event.status_code < 300:
                self._delivered()
            else:
                self._failed("status %d" % event.status_code)
        elif event is not h11.NEED_DATA or not data:
            self._failed("closed without a response")

    def _delivered(self):
        self._end_attempt()
        self._queue.popleft()
        self.stats["delivered"] += 1
        self._attempt = 0
        self._reported = False
        self._begin()

    def _failed(self, reason):
        self._end_attempt()
        self._attempt += 1
        if not self._reported:
            self._reported = True
            fields = {"service": "webhook", "url": self.label, "reason": reason}
            self._emit(events.make_event(self._loop.clock.now_ms(), events.ERROR, fields))
        if self._attempt >= MAX_ATTEMPTS:
            self._log(
                "intercom: webhook %s failed %d times (%s); event dropped"
                % (self.label, self._attempt, reason)
            )
            self._queue.popleft()
            self.stats["failed"] += 1
            self._attempt = 0
            self._begin()
            return
        delay = BACKOFF_FIRST_MS << (self._attempt - 1)
        self._timers = [self._loop.call_later(delay, self._begin)]

    def _end_attempt(self):
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        if self._lookup is not None:
            self._lookup.cancel()
            self._lookup = None
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._output = bytearray()
        self._client = None
