# The MicroPython door's SIP receive limit (boards/runtime/runtime.py,
# SIP_RECEIVE_BYTES: 4 KiB, one piece of a small heap): a longer request
# arrives cut, so its body is shorter than its Content-Length and the door
# answers 400 (RFC 3261 18.3), then goes on answering. The CPython door
# takes the same datagram whole.


from support.config import sim_sections
from support.datagrams import local_udp_socket
from support.door import start_door
from support.ports import free_port

LIMIT = 4096


def options(door_port, client_port, body_bytes, branch):
    body = "x" * body_bytes
    lines = [
        "OPTIONS sip:doora@127.0.0.1:%d SIP/2.0" % door_port,
        "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (client_port, branch),
        "Max-Forwards: 70",
        "From: <sip:probe@127.0.0.1>;tag=%s" % branch,
        "To: <sip:doora@127.0.0.1>",
        "Call-ID: %s@127.0.0.1" % branch,
        "CSeq: 1 OPTIONS",
        "Content-Type: text/plain",
        "Content-Length: %d" % len(body),
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


def reply_to(client, message, timeout):
    client.settimeout(timeout)
    client.sendto(message[0], message[1])
    try:
        return client.recvfrom(65536)[0]
    except TimeoutError:
        return None


def exchange(owned, folder, micropython, body_bytes):
    """(reply to an OPTIONS with a body_bytes body, reply to a small one after it)."""
    sections = sim_sections("Door A", "doora", ["sip:flatx@127.0.0.1:%d" % free_port()])
    door = start_door(owned, folder, sections, micropython=micropython)
    port = door.sip_port
    client = local_udp_socket()
    client_port = client.getsockname()[1]
    try:
        big = reply_to(
            client, (options(port, client_port, body_bytes, "big1"), ("127.0.0.1", port)), 2.0
        )
        small = reply_to(
            client, (options(port, client_port, 10, "small1"), ("127.0.0.1", port)), 5.0
        )
        door.send("quit")
        assert door.wait() == 0
    finally:
        client.close()
    return big, small


def test_micropython_door_refuses_a_request_over_its_limit_and_keeps_answering(tmp_path, owned):
    big, small = exchange(owned, tmp_path, True, LIMIT + 500)
    assert big is not None and big.startswith(b"SIP/2.0 400 body shorter than Content-Length")
    assert b"branch=z9hG4bKbig1" in big
    assert small is not None and small.startswith(b"SIP/2.0 200 ")
    assert b"branch=z9hG4bKsmall1" in small


def test_micropython_door_answers_a_datagram_just_under_its_limit(tmp_path, owned):
    big, small = exchange(owned, tmp_path, True, LIMIT - 600)
    assert big is not None and big.startswith(b"SIP/2.0 200 ")
    assert b"branch=z9hG4bKbig1" in big
    assert small is not None and small.startswith(b"SIP/2.0 200 ")


def test_cpython_door_takes_the_same_datagram_whole(tmp_path, owned):
    big, small = exchange(owned, tmp_path, False, LIMIT + 500)
    assert big is not None and big.startswith(b"SIP/2.0 200 ")
    assert b"branch=z9hG4bKbig1" in big
    assert small is not None and small.startswith(b"SIP/2.0 200 ")
