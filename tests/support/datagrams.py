# The receiving side of a test's UDP peer (support.flat_peer's FlatMedia,
# support.flat_rtp's FlatRtp, a test's NTP server): a thread that reads its
# socket until the peer is stopped.


def datagrams_while_running(peer, size=2048):
    """Each (data, address) that peer.sock receives while peer.running is
    true; the socket's timeout is how often it looks at peer.running."""
    while peer.running:
        try:
            yield peer.sock.recvfrom(size)
        except TimeoutError:
            continue
