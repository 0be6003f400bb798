# boards/runtime/tcp.py (SipStreams) with real TCP sockets on 127.0.0.1, on
# both interpreters: connections opened without blocking and reused,
# messages framed, answers on the connection a request came on, and every
# way a connection ends reported to the sink. The sink stands in for the
# station.

import random
import select
import socket

from boards.runtime.loop import Loop
from boards.runtime.tcp import MAX_CONNECTIONS, SipStreams
from intercom.sip.flow import TCP, make_flow
from intercom.sip.framing import PING, PONG
from test_loop import run_until

MESSAGE = (
    b"OPTIONS sip:door@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKst1\r\n"
    b"Call-ID: s1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody"
)


class Sink:
    def __init__(self, trusted=True):
        self.delivered = []
        self.failures = []
        self.trusted = trusted

    def deliver(self, data, flow):
        self.delivered.append((data, flow))

    def failed(self, flow, framing, reason=None):
        assert reason is None  # only TLS has reasons
        self.failures.append((flow, framing))

    def accepts(self, flow):
        return self.trusted


def listening(loop, sink, max_size=4096):
    """SipStreams listening on a free port (MicroPython cannot ask which)."""
    for _ in range(50):
        streams = SipStreams(loop, sink, max_size)
        port = random.randint(30000, 59999)
        try:
            streams.listen("127.0.0.1", port)
        except OSError:
            continue
        return streams, port
    raise AssertionError("no free TCP port")


def server_and_client(server_sink=None):
    """A loop, a server listening on a free port and a client (4096-byte
    messages), each reporting to its sink (the server's default: a Sink())."""
    loop = Loop()
    server_sink = Sink() if server_sink is None else server_sink
    client_sink = Sink()
    server, port = listening(loop, server_sink)
    return loop, server, port, server_sink, SipStreams(loop, client_sink, 4096), client_sink


def test_a_message_goes_over_a_new_connection_and_the_answer_comes_back_on_it():
    loop, server, port, server_sink, client, client_sink = server_and_client()
    client.send(MESSAGE, make_flow(TCP, ("127.0.0.1", port)))
    assert run_until(loop, lambda: server_sink.delivered)
    [(data, accepted)] = server_sink.delivered
    assert data == MESSAGE
    assert accepted[0] == TCP and accepted[1] == "127.0.0.1" and accepted[3] > 0
    server.send(PONG, accepted)  # on that very connection
    assert run_until(loop, lambda: client_sink.delivered)
    [(data, flow)] = client_sink.delivered
    assert data == PONG and flow[2] == port and flow[3] > 0
    # the next message to the address reuses the open connection
    client.send(PING + MESSAGE, make_flow(TCP, ("127.0.0.1", port)))
    assert run_until(loop, lambda: len(server_sink.delivered) == 3)
    assert [flow for _, flow in server_sink.delivered] == [accepted] * 3
    assert [data for data, _ in server_sink.delivered[1:]] == [PING, MESSAGE]
    assert client_sink.failures == [] and server_sink.failures == []
    client.close()
    server.close()


def test_a_big_message_crosses_in_pieces_and_comes_out_whole():
    loop = Loop()
    server_sink = Sink()
    server, port = listening(loop, server_sink, max_size=8192)
    client = SipStreams(loop, Sink(), 8192)
    body = b"x" * 3000  # over the 1300 bytes UDP would carry (RFC 3261 18.1.1)
    big = MESSAGE.replace(b"Content-Length: 4\r\n\r\nbody", b"Content-Length: 3000\r\n\r\n") + body
    client.send(big, make_flow(TCP, ("127.0.0.1", port)))
    assert run_until(loop, lambda: server_sink.delivered)
    assert server_sink.delivered[0][0] == big
    client.close()
    server.close()


def test_a_refused_connect_is_reported_from_the_loop():
    loop = Loop()
    sink = Sink()
    probe, port = listening(loop, Sink())
    probe.close()  # nobody listens there any more
    client = SipStreams(loop, sink, 4096)
    client.send(MESSAGE, make_flow(TCP, ("127.0.0.1", port)))
    assert sink.failures == []  # never from inside send()
    assert run_until(loop, lambda: sink.failures)
    [(flow, framing)] = sink.failures
    assert flow[:3] == (TCP, "127.0.0.1", port) and framing is False
    client.close()


def test_a_stream_that_cannot_be_framed_is_closed_and_reported_as_framing():
    loop, server, port, server_sink, client, client_sink = server_and_client()
    no_length = MESSAGE.replace(b"Content-Length: 4\r\n", b"")
    client.send(no_length, make_flow(TCP, ("127.0.0.1", port)))
    assert run_until(loop, lambda: server_sink.failures)
    assert server_sink.failures[0][1] is True
    assert server_sink.delivered == []
    # the server closed it: the client's side hears the end of the stream
    assert run_until(loop, lambda: client_sink.failures)
    assert client_sink.failures[0][1] is False
    client.close()
    server.close()


def test_a_host_that_may_not_talk_to_us_is_closed_at_once():
    loop, server, port, server_sink, client, client_sink = server_and_client(Sink(trusted=False))
    client.send(MESSAGE, make_flow(TCP, ("127.0.0.1", port)))
    assert run_until(loop, lambda: client_sink.failures)
    assert server_sink.delivered == [] and server_sink.failures == []
    client.close()
    server.close()


def test_close_flow_closes_quietly_and_the_next_send_connects_again():
    loop, server, port, server_sink, client, client_sink = server_and_client()
    to_server = make_flow(TCP, ("127.0.0.1", port))
    client.send(MESSAGE, to_server)
    assert run_until(loop, lambda: server_sink.delivered)
    client.close_flow(to_server)
    assert run_until(loop, lambda: server_sink.failures)  # the server sees it end
    assert client_sink.failures == []  # we closed it: nothing to report
    client.send(MESSAGE, to_server)
    assert run_until(loop, lambda: len(server_sink.delivered) == 2)
    first, second = [flow for _, flow in server_sink.delivered]
    assert first[3] != second[3]  # a new connection
    client.close()
    server.close()


def test_an_answer_for_a_connection_that_is_gone_is_dropped_and_counted():
    loop = Loop()
    server, _ = listening(loop, Sink())
    server.send(PONG, make_flow(TCP, ("127.0.0.1", 40000), 99))
    assert server.dropped_sends == 1
    server.close()


def connected_socket(port):
    """A plain TCP socket connected to 127.0.0.1:port (a LAN host's)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(socket.getaddrinfo("127.0.0.1", port, 0, socket.SOCK_STREAM)[0][-1])
    return sock


def closed_by_peer(sock):
    """Whether the other end closed sock: readable within 2 s and at its end."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(2000)) and sock.recv(64) == b""


def test_a_host_opening_connection_after_connection_keeps_the_table_at_its_limit():
    # Each connection sends a message (it passes the sink's trust check);
    # the table never holds more than MAX_CONNECTIONS: each new one closes
    # the one idle longest, quietly (no failure: nothing of ours was lost).
    loop = Loop()
    sink = Sink()
    server, port = listening(loop, sink)
    hosts = []
    for number in range(MAX_CONNECTIONS + 2):
        start = loop.clock.now_ms()
        while loop.clock.now_ms() == start:  # each one active in its own ms
            pass
        sock = connected_socket(port)
        hosts.append(sock)
        sock.send(MESSAGE)
        assert run_until(loop, lambda count=number + 1: len(sink.delivered) == count)
    flows = [flow for _, flow in sink.delivered]
    assert closed_by_peer(hosts[0]) and closed_by_peer(hosts[1])
    for sock in hosts[2:]:
        sock.send(MESSAGE)
    assert run_until(loop, lambda: len(sink.delivered) == len(hosts) + MAX_CONNECTIONS)
    assert sorted(flow[3] for _, flow in sink.delivered[len(hosts) :]) == sorted(
        flow[3] for flow in flows[2:]
    )
    assert sink.failures == []
    for sock in hosts:
        sock.close()
    server.close()


def test_a_host_that_never_reads_is_closed_once_its_output_passes_the_limit():
    # What waits for a peer is bounded by MAX_OUTPUT: a LAN host that sends
    # requests and never reads the answers costs no more heap than that.
    loop = Loop()
    sink = Sink()
    server, port = listening(loop, sink)
    host = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    host.connect(socket.getaddrinfo("127.0.0.1", port, 0, socket.SOCK_STREAM)[0][-1])
    host.send(MESSAGE)
    assert run_until(loop, lambda: sink.delivered)
    flow = sink.delivered[0][1]
    answer = MESSAGE.replace(b"body", b"x" * 996).replace(b"Length: 4", b"Length: 1000")
    sent = 0
    while not sink.failures and sent < 20000:  # up to 20 MB: the kernel's buffers and ours
        server.send(answer, flow)
        sent += 1
    assert sink.failures == [(flow, False)]
    server.send(answer, flow)  # the connection is gone: dropped, counted
    assert server.dropped_sends == 1
    host.close()
    server.close()
