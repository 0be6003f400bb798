# A test's own UDP peers (support.flat_peer's FlatMedia, fake registrars and
# flats, a test's NTP server): a socket on 127.0.0.1, and the thread that
# reads it until the peer is stopped.

import socket


def local_udp_socket(timeout_s=None):
    """A UDP socket bound to a free port on 127.0.0.1; reads give up with
    TimeoutError after timeout_s (None: they wait)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(timeout_s)
    return sock


def datagrams_while_running(peer, size=2048):
    """Each (data, address) that peer.sock receives while peer.running is
    true; the socket's timeout is how often it looks at peer.running."""
    while peer.running:
        try:
            yield peer.sock.recvfrom(size)
        except TimeoutError:
            continue
