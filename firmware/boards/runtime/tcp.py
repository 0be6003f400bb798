# SIP over TCP for the runtime (RFC 3261 section 18): a listener beside the
# SIP UDP socket on the same port, the connections it accepts and the ones
# we open, all non-blocking in the one loop: a connection is read when
# readable and written when writable (the loop watches POLLOUT only while
# output waits or a connect is under way), and connects never block. Each
# connection frames its bytes with the core's StreamFramer
# (intercom.sip.framing); the core names connections through flows
# (intercom.sip.flow): ("tcp", host, port, connection id).
#
#   event                                 what happens
#   ------------------------------------- ---------------------------------
#   listener readable                     accept (up to ACCEPT_BURST); the
#                                         sink refuses hosts that may not
#                                         talk to us: closed at once; with
#                                         MAX_CONNECTIONS open, the one idle
#                                         longest is closed first
#   connection readable                   read; every framed item (message,
#                                         ping, pong) to sink.deliver
#   end of stream, reset, read error      close; sink.failed(flow, False)
#   FramingError (no Content-Length, a    close; sink.failed(flow, True)
#   huge one, no header end)
#   send(data, flow), connection N        queue on N (dropped, counted in
#                                         dropped_sends, when N is gone:
#                                         the peer's own timers take over)
#   send(data, flow), connection 0        queue on an open connection to the
#                                         address (reuse), else connect
#   connect done (writable, no error)     write what waits
#   connect refused, failed, or not done  close; sink.failed(flow, False)
#   within CONNECT_TIMEOUT_MS; no socket  (always from the loop, never from
#   to be had                             inside send())
#   output over MAX_OUTPUT bytes waiting  close; sink.failed(flow, False)
#   (a peer that does not read)
#   nothing sent or received for IDLE_MS  close, quietly: nothing was lost
#   close_flow(flow)                      close every connection to its peer
#                                         (the core gave up on it: no pong)
#
# TLS (transport "tls", tls: boards.runtime.sip_tls.SipTls, CPython): the
# same connections, each with a TlsSession between the socket and the
# framer: what the socket reads is fed to the session, whose plaintext is
# framed; SIP is written to the session, whose ciphertext is what the
# socket writes. The handshake runs in the same callbacks: ours starts
# when the connect is done, a peer's when we accept (closed at once when
# we have no certificate to present); SIP sent before it ends waits in the
# session. A handshake not done within CONNECT_TIMEOUT_MS (from the connect
# or the accept) closes the connection; a TLS failure closes it and reports
# its reason: sink.failed(flow, False, reason), reason one of sip_tls's
# tls_* (a bad certificate, a wrong name, an expired one, not the pinned
# one); otherwise the reason is None.

import errno
import select
import socket

from intercom import compat
from intercom.sip.flow import TCP, make_flow
from intercom.sip.framing import FramingError, StreamFramer

MAX_CONNECTIONS = 4 if compat.IS_MICROPYTHON else 16
RECEIVE_BYTES = 1024 if compat.IS_MICROPYTHON else 16384
MAX_OUTPUT = 16384 if compat.IS_MICROPYTHON else 262144
CONNECT_TIMEOUT_MS = 5000
IDLE_MS = 600000  # 10 minutes
IDLE_CHECK_MS = 60000
ACCEPT_BURST = 4
BACKLOG = 4
_AGAIN = (errno.EAGAIN, errno.EINPROGRESS)
_CONNECTING = "connecting"
_OPEN = "open"
_TROUBLE = select.POLLERR | select.POLLHUP


class _Connection:
    def __init__(self, sock, flow, state, max_message_size, now_ms):
        self.sock = sock
        self.flow = flow
        self.state = state
        self.framer = StreamFramer(max_message_size)
        self.tls = None  # a TlsSession on a TLS stream
        self.output = bytearray()  # bytes for the socket (TLS: ciphertext)
        self.active_ms = now_ms
        self.connect_timer = None
        self.watching_output = False  # a writer registered with the loop


class SipStreams:
    """The SIP streams of one runtime, over `transport` (TCP, or TLS with
    tls). sink: deliver(data, flow), failed(flow, framing, reason=None),
    accepts(flow) -> bool (the station's)."""

    def __init__(self, loop, sink, max_message_size, transport=TCP, tls=None):
        self._loop = loop
        self._sink = sink
        self._max_message_size = max_message_size
        self.transport = transport
        self._tls = tls
        self._listener = None
        self._connections = {}  # connection id -> _Connection
        self._next_id = 1
        self._idle_timer = None
        self.dropped_sends = 0

    # -- the listener ----------------------------------------------------------

    def listen(self, host, port):
        """Listen on host:port; raises OSError (EADDRINUSE: the port is taken)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1])
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._listener = sock
        self._loop.add_reader(sock, self._accept)

    def _accept(self, listener, poll_events):
        for _ in range(ACCEPT_BURST):
            try:
                sock, raw = listener.accept()
            except OSError:  # EAGAIN: nothing more waits
                return
            try:
                address = compat.peer_address(raw)
            except ValueError:  # an address family we do not speak
                sock.close()
                continue
            flow = make_flow(self.transport, address, self._new_id())
            session = None
            if self._tls is not None:
                session = self._tls.server()
                if session is None:  # no certificate of ours to present
                    sock.close()
                    continue
            if not self._sink.accepts(flow):
                sock.close()
                continue
            sock.setblocking(False)
            connection = self._add(sock, flow, _OPEN)
            if session is not None:
                connection.tls = session
                connection.connect_timer = self._loop.call_later(
                    CONNECT_TIMEOUT_MS, lambda connection=connection: self._close(connection, True)
                )

    # -- sending ---------------------------------------------------------------

    def send(self, data, flow):
        connection = self._connection_for(flow)
        if connection is None:
            self.dropped_sends = (self.dropped_sends + 1) & 0xFFFFFFFF
            return
        if connection.tls is None:
            connection.output.extend(data)
        else:
            connection.tls.write(data)
            connection.output.extend(connection.tls.take_output())
        if len(connection.output) > MAX_OUTPUT:
            self._close(connection, True)
            return
        if connection.state == _OPEN:
            self._write(connection)

    def close_flow(self, flow):
        for connection in list(self._connections.values()):
            if connection.flow[1] == flow[1] and connection.flow[2] == flow[2]:
                self._close(connection, False)

    def close(self):
        for connection in list(self._connections.values()):
            self._close(connection, False)
        if self._listener is not None:
            self._loop.remove_reader(self._listener)
            self._listener.close()
            self._listener = None

    def _connection_for(self, flow):
        if flow[3]:
            return self._connections.get(flow[3])
        for connection in self._connections.values():
            if connection.flow[1] == flow[1] and connection.flow[2] == flow[2]:
                return connection
        return self._connect(flow)

    def _connect(self, flow):
        """A new connection to flow's address, its connect under way; None
        when no socket can be had (out of descriptors, or of lwIP's PCBs):
        a failed flow, reported from the loop."""
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            self._loop.call_later(0, lambda: self._sink.failed(flow, False))
            return None
        sock.setblocking(False)
        new_flow = make_flow(self.transport, (flow[1], flow[2]), self._new_id())
        connection = self._add(sock, new_flow, None)
        if self._tls is not None:
            connection.tls = self._tls.client(flow[1])  # its hello waits for the connect
        try:
            sock.connect(socket.getaddrinfo(flow[1], flow[2], 0, socket.SOCK_STREAM)[0][-1])
        except OSError as error:
            if error.args[0] not in _AGAIN:
                # refused at once: the failure is reported from the loop, not
                # from inside the caller's send
                connection.connect_timer = self._loop.call_later(
                    0, lambda: self._close(connection, True)
                )
                return connection
        connection.state = _CONNECTING
        self._watch_output(connection, True)
        connection.connect_timer = self._loop.call_later(
            CONNECT_TIMEOUT_MS, lambda: self._close(connection, True)
        )
        return connection

    # -- the loop's callbacks --------------------------------------------------------

    def _readable(self, sock, poll_events):
        connection = self._by_socket(sock)
        if connection is None:
            return
        try:
            data = sock.recv(RECEIVE_BYTES)
        except OSError as error:
            if error.args[0] in _AGAIN:
                return
            data = b""  # reset or another error: the stream is gone
        if not data:
            self._close(connection, True)
            return
        connection.active_ms = self._loop.clock.now_ms()
        if connection.tls is not None:
            data = self._through_tls(connection, data)
            if not data:
                return
        try:
            items = connection.framer.feed(data)
        except FramingError:
            self._close(connection, True, framing=True)
            return
        for item in items:
            self._sink.deliver(item, connection.flow)

    def _through_tls(self, connection, data):
        """The plaintext in data (b"" while the handshake runs); what the
        session has to send is written; None when TLS failed (closed)."""
        session = connection.tls
        plain = session.feed(data)
        if plain is None:
            self._close(connection, True, reason=session.failure)
            return None
        if session.established and connection.connect_timer is not None:
            connection.connect_timer.cancel()
            connection.connect_timer = None
        output = session.take_output()
        if output:
            connection.output.extend(output)
            self._write(connection)
        return plain

    def _writable(self, sock, poll_events):
        connection = self._by_socket(sock)
        if connection is None:
            return
        if connection.state == _CONNECTING:
            if poll_events & _TROUBLE or _connect_error(sock):
                self._close(connection, True)
                return
            connection.state = _OPEN
            if connection.tls is None and connection.connect_timer is not None:
                connection.connect_timer.cancel()  # (TLS: it runs on to the handshake's end)
                connection.connect_timer = None
            self._loop.add_reader(sock, self._readable)
        self._write(connection)

    def _write(self, connection):
        sock = connection.sock
        output = connection.output
        try:
            while output:
                sent = sock.send(output)
                if not sent:
                    break
                output = output[sent:]
        except OSError as error:
            if error.args[0] not in _AGAIN:
                connection.output = output
                self._close(connection, True)
                return
        connection.output = output
        connection.active_ms = self._loop.clock.now_ms()
        self._watch_output(connection, bool(output))

    def _watch_output(self, connection, wanted):
        """POLLOUT only while output waits (or the connect is under way)."""
        if wanted and not connection.watching_output:
            self._loop.add_writer(connection.sock, self._writable)
        elif not wanted and connection.watching_output:
            self._loop.remove_writer(connection.sock)
        connection.watching_output = wanted

    # -- bookkeeping -------------------------------------------------------------------

    def _new_id(self):
        connection_id = self._next_id
        self._next_id = (self._next_id & 0x3FFFFFFF) + 1
        return connection_id

    def _add(self, sock, flow, state):
        if len(self._connections) >= MAX_CONNECTIONS:
            oldest = None
            for connection in self._connections.values():
                if oldest is None or compat.ticks_diff(connection.active_ms, oldest.active_ms) < 0:
                    oldest = connection
            if oldest is not None:
                self._close(oldest, False)
        now = self._loop.clock.now_ms()
        connection = _Connection(sock, flow, state, self._max_message_size, now)
        self._connections[flow[3]] = connection
        if state == _OPEN:
            self._loop.add_reader(sock, self._readable)
        if self._idle_timer is None:
            self._idle_timer = self._loop.call_every(IDLE_CHECK_MS, self._close_idle)
        return connection

    def _by_socket(self, sock):
        for connection in self._connections.values():
            if connection.sock is sock:
                return connection
        return None

    def _close(self, connection, report, framing=False, reason=None):
        if self._connections.get(connection.flow[3]) is not connection:
            return  # closed already
        del self._connections[connection.flow[3]]
        if connection.connect_timer is not None:
            connection.connect_timer.cancel()
            connection.connect_timer = None
        self._loop.remove_reader(connection.sock)
        self._watch_output(connection, False)
        connection.sock.close()
        if not self._connections and self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if report:
            tls = connection.tls
            if reason is None and tls is not None and connection.state == _OPEN:
                if not tls.established and tls.failure is None:
                    reason = "tls_handshake"  # closed or timed out amid the handshake
            self._sink.failed(connection.flow, framing, reason)

    def _close_idle(self):
        now = self._loop.clock.now_ms()
        for connection in list(self._connections.values()):
            if compat.ticks_diff(now, connection.active_ms) >= IDLE_MS:
                self._close(connection, False)


def _connect_error(sock):
    """Whether a finished non-blocking connect failed: SO_ERROR where sockets
    have getsockopt (CPython); MicroPython reports it as POLLERR/POLLHUP."""
    get_option = getattr(sock, "getsockopt", None)
    if get_option is None:
        return False
    return get_option(socket.SOL_SOCKET, socket.SO_ERROR) != 0  # pyright: ignore[reportAttributeAccessIssue]
