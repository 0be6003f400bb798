# boards/runtime/udp.py (UdpSocket) on both interpreters: what it keeps per
# address stays bounded whatever a LAN host sends from and whatever
# addresses the door must answer (a request's Via names where its response
# goes), and the peers it reports stay right across the cache's restarts.

from boards.runtime import udp
from boards.runtime.udp import UdpSocket


def test_datagrams_from_ever_new_ports_are_reported_right_and_the_cache_stays_bounded():
    receiver = UdpSocket("127.0.0.1")
    for number in range(udp._CACHE_CAP * 2 + 3):
        sender = UdpSocket("127.0.0.1")
        sender.sendto(b"%d" % number, receiver.local_address)
        data, peer = receiver.recvfrom(64)
        assert data == b"%d" % number
        assert peer == sender.local_address
        sender.close()
        assert len(receiver._peers) <= udp._CACHE_CAP
    receiver.close()


def test_answers_to_ever_new_addresses_arrive_and_the_cache_stays_bounded():
    sender = UdpSocket("127.0.0.1")
    for number in range(udp._CACHE_CAP * 2 + 3):
        receiver = UdpSocket("127.0.0.1")
        sender.sendto(b"%d" % number, receiver.local_address)
        data, peer = receiver.recvfrom(64)
        assert data == b"%d" % number and peer == sender.local_address
        receiver.close()
        assert len(sender._resolved) <= udp._CACHE_CAP
    sender.close()


class _FirstFromAnotherFamily:
    """A socket whose first datagram comes from an AF_UNIX address (raw
    sockaddr bytes, family 1, as the unix port gives them); the others as
    they came."""

    def __init__(self, sock):
        self.sock = sock
        self.first = True

    def recvfrom(self, size):
        data, raw = self.sock.recvfrom(size)
        if self.first:
            self.first = False
            return data, b"\x01\x00/tmp/peer"
        return data, raw


def test_a_datagram_from_a_family_we_do_not_speak_is_skipped_and_the_drain_goes_on():
    receiver = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    real = receiver.sock
    receiver.sock = _FirstFromAnotherFamily(real)
    sender.sendto(b"first", receiver.local_address)
    sender.sendto(b"second", receiver.local_address)
    assert receiver.receive(64) is udp.FOREIGN
    assert receiver.receive(64) == (b"second", sender.local_address)
    assert receiver.receive(64) is None
    receiver.sock = real
    receiver.close()
    sender.close()
