# A relay between a door and its SIP server, on one port for UDP and TCP
# (like a server), run in a thread by the test that starts it: it passes
# everything on unchanged, frames what crosses each TCP connection with the
# core's StreamFramer (so a test sees the messages, pings and pongs in
# order, per connection) and can break things the way a network does:
#
#   cut()            close every connection, both sides (a broken link: the
#                    door sees the end of its stream, the server too)
#   muted            connection numbers whose bytes from the server to the
#                    door are dropped (a dead path: no pong comes back)
#   refuse           True: new connections are accepted and closed at once
#
# seen: [(connection number, "out"/"back", item)], "out" from the door to
# the server; datagrams: [("out"/"back", bytes)] for UDP. stop() closes all.

import select
import socket
import threading

from intercom.sip.framing import FramingError, StreamFramer

MAX_FRAME = 65536


class _Pipe:
    def __init__(self, number, door_side, server_side):
        self.number = number
        self.sockets = {door_side: ("out", server_side), server_side: ("back", door_side)}
        self.framers = {"out": StreamFramer(MAX_FRAME), "back": StreamFramer(MAX_FRAME)}


class SipRelay:
    def __init__(self, target):
        self.target = target
        self.seen = []
        self.datagrams = []
        self.connections = 0
        self.muted = set()
        self.refuse = False
        self._pipes = []
        self._lock = threading.Lock()
        self._stop = False
        self._udp_peer = None
        for _ in range(50):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            port = listener.getsockname()[1]
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                listener.close()
                udp.close()
                continue
            break
        listener.listen(8)
        self._listener = listener
        self._udp = udp
        self._upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._upstream.bind(("127.0.0.1", 0))
        self.port = port
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        self._thread.join(5)
        self.cut()
        for sock in (self._listener, self._udp, self._upstream):
            sock.close()

    def cut(self):
        with self._lock:
            for pipe in self._pipes:
                for sock in pipe.sockets:
                    sock.close()
            self._pipes = []

    def messages(self, direction, connection=None):
        """The SIP messages (bytes) seen in one direction over TCP."""
        with self._lock:
            return [
                item
                for number, way, item in self.seen
                if way == direction
                and item.strip(b"\r\n")
                and (connection is None or number == connection)
            ]

    def count(self, direction, item):
        with self._lock:
            return len([1 for _, way, seen in self.seen if way == direction and seen == item])

    def _run(self):
        while not self._stop:
            with self._lock:
                watched = [self._listener, self._udp, self._upstream]
                for pipe in self._pipes:
                    watched += list(pipe.sockets)
            try:
                readable, _, _ = select.select(watched, [], [], 0.05)
            except (OSError, ValueError):  # a socket closed by cut()
                continue
            for sock in readable:
                self._readable(sock)

    def _readable(self, sock):
        if sock is self._listener:
            self._accept()
        elif sock is self._udp:
            data, self._udp_peer = sock.recvfrom(MAX_FRAME)
            self.datagrams.append(("out", data))
            self._upstream.sendto(data, self.target)
        elif sock is self._upstream:
            data, _ = sock.recvfrom(MAX_FRAME)
            self.datagrams.append(("back", data))
            if self._udp_peer is not None:
                self._udp.sendto(data, self._udp_peer)
        else:
            self._pass(sock)

    def _accept(self):
        door_side, _ = self._listener.accept()
        if self.refuse:
            door_side.close()
            return
        server_side = socket.create_connection(self.target, timeout=5)
        with self._lock:
            self.connections += 1
            self._pipes.append(_Pipe(self.connections, door_side, server_side))

    def _pass(self, sock):
        with self._lock:
            pipe = None
            for candidate in self._pipes:
                if sock in candidate.sockets:
                    pipe = candidate
            if pipe is None:
                return
            direction, other = pipe.sockets[sock]
        try:
            data = sock.recv(MAX_FRAME)
        except OSError:
            data = b""
        if not data:
            with self._lock:
                if pipe in self._pipes:
                    self._pipes.remove(pipe)
            for end in pipe.sockets:
                end.close()
            return
        try:
            items = pipe.framers[direction].feed(data)
        except FramingError as error:
            items = [b"framing error: %s" % str(error).encode()]
        with self._lock:
            self.seen += [(pipe.number, direction, item) for item in items]
        if direction == "back" and pipe.number in self.muted:
            return
        try:
            other.sendall(data)
        except OSError:
            pass
