# A non-blocking UDP socket that speaks (host, port) tuples on every
# interpreter. The unix MicroPython port wants resolved sockaddr bytes for
# sendto(), returns raw sockaddr bytes from recvfrom() and has no
# getsockname(); this class hides all three. Both ways it keeps what it
# worked out per address (resolved sockaddrs, the unix port's decoded
# peers; _CACHE_CAP each, then it starts afresh), so a call's steady stream
# costs no lookup and, on MicroPython, no string or tuple per datagram.
# Where recvfrom() gives (host, port) already (CPython and the Pico W: an
# AF_INET socket), its answer is passed on as it is.
#
# receive() gives FOREIGN for a datagram from an address family we do not
# speak (raw sockaddr bytes the unix port cannot decode): it is skipped, the
# drain goes on.

import random
import select
import socket

from intercom.compat import IS_MICROPYTHON, peer_address

# Ports tried when the caller asks for "any free port" and the interpreter
# cannot tell which one the kernel picked (no getsockname on MicroPython).
_EPHEMERAL_FIRST = 20000
_EPHEMERAL_LAST = 59998
_BIND_ATTEMPTS = 64
_CACHE_CAP = 64
# Whether receive() may read without asking first. Not on MicroPython: a
# read that finds nothing allocates its whole buffer there (1 KiB for RTP,
# in one piece: a search through the heap) and an OSError, and bursts are
# common on Wi-Fi, where an ipoll allocates nothing.
_READ_FIRST = not IS_MICROPYTHON
FOREIGN = (b"", ("", 0))  # what receive() gives for a datagram it skips (see the top)


def _resolve(host, port):
    return socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]


class UdpSocket:
    """A bound UDP socket; `local_address` is the (host, port) it listens on.

    `even_port` asks for an even port number when port is 0 (RTP, RFC 3550
    section 11).
    """

    def __init__(self, host, port=0, even_port=False):
        self._resolved = {}  # (host, port) -> what sendto takes
        self._peers = {}  # what recvfrom gives -> (host, port)
        self._likely = False  # the next receive() reads without asking waiting() first
        self._drain_got = False  # the receives since the last None gave a datagram
        if port == 0 and (even_port or not hasattr(socket.socket, "getsockname")):
            self.sock, port = self._bind_free_port(host, even_port)
        else:
            self.sock = self._bind(host, port)
            if port == 0:  # only where sockets have getsockname (tested above)
                port = self.sock.getsockname()[1]  # pyright: ignore[reportAttributeAccessIssue]
        self.sock.setblocking(False)
        self.local_address = (host, port)
        self.poll_object = self.sock  # what Loop.add_reader registers
        self._own_poll = select.poll()  # waiting()'s, apart from the loop's
        self._own_poll.register(self.sock, select.POLLIN)

    def _bind(self, host, port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(_resolve(host, port))
        except OSError:
            sock.close()
            raise
        return sock

    def _bind_free_port(self, host, even_port):
        error = None
        for _ in range(_BIND_ATTEMPTS):
            port = random.randint(_EPHEMERAL_FIRST, _EPHEMERAL_LAST)
            if even_port:
                port &= ~1
            try:
                return self._bind(host, port), port
            except OSError as exc:
                error = exc
        raise OSError("no free UDP port on %s after %d tries: %s" % (host, _BIND_ATTEMPTS, error))

    def waiting(self):
        """Whether a datagram waits to be read, without reading it. On
        MicroPython this allocates nothing (ipoll), where a recvfrom() that
        finds nothing allocates its whole buffer and an OSError."""
        if not IS_MICROPYTHON:
            return bool(self._own_poll.poll(0))
        for _ in self._own_poll.ipoll(0):  # pyright: ignore[reportAttributeAccessIssue]
            return True
        return False

    def receive(self, size):
        """(data, (host, port)) of the next datagram; None when none waits
        (or the read failed, as after an ICMP error): a drain is the
        receives up to a None. A read that finds nothing allocates its whole
        buffer and an OSError on MicroPython, and raises and catches an
        OSError (its message decoded from the locale) on CPython; so receive
        asks waiting() first, always on MicroPython (_READ_FIRST), on CPython
        unless a datagram is the likely answer: it is for the first read of
        a drain after a drain that gave one (a stream runs: the board's next
        audio frame, the loop's next POLLIN), not for the read after a
        datagram (a burst is mostly one datagram). An idle socket costs one
        question per drain, a call's RTP one read and one question per frame
        on CPython. FOREIGN for a datagram from an address family we do not
        speak."""
        if not self._likely and not self.waiting():
            self._likely = self._drain_got and _READ_FIRST
            self._drain_got = False
            return None
        return self._read(size)

    def _read(self, size):
        # apart from receive(): a try costs 3 words of the frame, which
        # MicroPython keeps on the C stack only up to 11 words
        self._likely = False
        self._drain_got = True
        try:
            return self.recvfrom(size)
        except OSError:  # EAGAIN: nothing (the stream paused), or a transient ICMP error
            self._drain_got = False
            return None
        except ValueError:  # an address family we do not speak: skipped
            return FOREIGN

    def recvfrom(self, size):
        """(data, (host, port)); raises OSError (EAGAIN) when nothing waits."""
        received = self.sock.recvfrom(size)
        raw = received[1]
        if isinstance(raw, tuple):  # (host, port) already (see the top)
            return received
        peer = self._peers.get(raw)
        if peer is None:
            peer = self._decode_peer(raw)
        return received[0], peer

    def _decode_peer(self, raw):
        """(host, port) of the unix port's raw sockaddr bytes, kept."""
        peer = peer_address(raw)
        if len(self._peers) >= _CACHE_CAP:
            self._peers.clear()
        self._peers[raw] = peer
        return peer

    def sendto(self, data, address):
        resolved = self._resolved.get(address)
        if resolved is None:
            if len(self._resolved) >= _CACHE_CAP:
                self._resolved.clear()
            resolved = _resolve(address[0], address[1])
            self._resolved[address] = resolved
        return self.sock.sendto(data, resolved)

    def close(self):
        self.sock.close()
