# The runtime's sends (boards/runtime/runtime.py): a datagram that cannot be
# sent is tried once more, the log says why it failed again or that it went
# out on the second try, nothing raises, and the datagrams after it still go.

from boards.runtime import runtime

PEER = ("192.0.2.7", 5004)


class FlakySocket:
    """sendto raises OSError for its first `failures` datagrams."""

    def __init__(self, failures):
        self.failures = failures
        self.sent = []

    def sendto(self, data, address):
        if self.failures:
            self.failures -= 1
            raise OSError(101)  # ENETUNREACH
        self.sent.append((data, address))


def send_logged(sock, datagrams):
    """Runtime._send(sock, datagrams): the lines it logged."""
    lines = []
    logged = runtime.log
    runtime.log = lines.append
    try:
        runtime.Runtime._send(None, sock, datagrams)
    finally:
        runtime.log = logged
    return lines


def test_datagrams_that_send_are_sent_in_order_and_nothing_is_logged():
    sock = FlakySocket(0)
    lines = send_logged(sock, [(b"one", PEER), (b"two", PEER)])
    assert sock.sent == [(b"one", PEER), (b"two", PEER)]
    assert lines == []


def test_a_send_that_fails_once_goes_out_on_the_second_try_and_says_so():
    sock = FlakySocket(1)
    lines = send_logged(sock, [(b"one", PEER), (b"two", PEER)])
    assert sock.sent == [(b"one", PEER), (b"two", PEER)]
    assert lines == ["intercom: send to 192.0.2.7:5004 failed once, sent on the second try"]


def test_a_send_that_fails_twice_is_dropped_with_its_reason_and_the_next_still_goes():
    sock = FlakySocket(2)
    lines = send_logged(sock, [(b"one", PEER), (b"two", PEER)])
    assert sock.sent == [(b"two", PEER)]
    assert len(lines) == 1
    assert lines[0].startswith("intercom: send to 192.0.2.7:5004 failed: ")
    assert "101" in lines[0]
