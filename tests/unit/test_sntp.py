# The SNTP client (boards.runtime.sntp) against answers built by hand in
# the RFC 5905 packet layout: the time it takes, the answers it refuses
# (RFC 4330 5), when it asks again. Runs under pytest and under the
# MicroPython runner.

import struct

from boards.runtime.sntp import NTP_TO_UNIX_S, RETRY_MS, SYNC_MS, SntpClient

UNIX_S = 1767225600  # 2026-01-01 00:00:00 UTC


def counting_bytes():
    state = [0]

    def random_bytes(count):
        state[0] += 1
        return bytes((state[0] + index) & 0xFF for index in range(count))

    return random_bytes


def answer(request, receive_s, transmit_s, fraction=0, first=0x24, stratum=2):
    """A server's answer: LI 0, version 4, mode 4 (0x24); originate = the
    request's transmit timestamp; receive and transmit in NTP seconds."""
    packet = bytearray(48)
    packet[0] = first
    packet[1] = stratum
    packet[24:32] = request[40:48]
    struct.pack_into(">II", packet, 32, receive_s + NTP_TO_UNIX_S, 0)
    struct.pack_into(">II", packet, 40, transmit_s + NTP_TO_UNIX_S, fraction)
    return bytes(packet)


def test_the_request_is_a_version_4_client_packet_with_a_random_transmit_time():
    client = SntpClient(counting_bytes())
    assert client.next_request_ms(0) == 0
    request = client.request(0)
    assert len(request) == 48 and request[0] == 0x23 and request[1:40] == bytes(39)
    assert request[40:48] == bytes(range(1, 9))
    assert client.request(10)[40:48] != request[40:48]


def test_an_answer_sets_the_clock_with_half_the_round_trip():
    client = SntpClient(counting_bytes())
    request = client.request(1000)
    assert client.utc_ms(1000) is None
    # sent at tick 1000, answered at tick 1300; the server held it 250 ms
    reply = answer(request, UNIX_S, UNIX_S, fraction=1 << 31)  # transmit at .500
    reply = bytearray(reply)
    struct.pack_into(">II", reply, 32, UNIX_S + NTP_TO_UNIX_S, 1 << 30)  # received at .250
    assert client.receive(bytes(reply), 1300)
    assert client.utc_ms(1300) == UNIX_S * 1000 + 500 + 25  # (300 - 250) / 2
    assert client.utc_ms(61300) == UNIX_S * 1000 + 60525
    assert client.next_request_ms(1300) == SYNC_MS


def test_refused_answers_leave_the_clock_unset_and_are_counted():
    client = SntpClient(counting_bytes())
    request = client.request(0)
    good = answer(request, UNIX_S, UNIX_S)
    wrong_nonce = bytearray(good)
    wrong_nonce[31] ^= 1
    zero_transmit = bytearray(good)
    zero_transmit[40:48] = bytes(8)
    refused = [
        good[:47],  # short
        answer(request, UNIX_S, UNIX_S, first=0x23),  # mode 3: a client
        answer(request, UNIX_S, UNIX_S, first=0x14),  # version 2
        answer(request, UNIX_S, UNIX_S, first=0xE4),  # leap 3: unsynchronised
        answer(request, UNIX_S, UNIX_S, stratum=0),  # kiss-o'-death
        answer(request, UNIX_S, UNIX_S, stratum=16),
        bytes(wrong_nonce),
        bytes(zero_transmit),
    ]
    for data in refused:
        assert not client.receive(data, 100)
    assert client.refused == len(refused) and client.utc_ms(100) is None
    assert client.receive(good, 100)
    assert not client.receive(good, 110)  # one answer per request
    assert client.answers == 1 and client.refused == len(refused) + 1


def test_requests_repeat_until_an_answer_then_hourly():
    client = SntpClient(counting_bytes())
    client.request(0)
    assert client.next_request_ms(RETRY_MS - 1) == 1
    assert client.next_request_ms(RETRY_MS) == 0
    request = client.request(RETRY_MS)
    client.receive(answer(request, UNIX_S, UNIX_S), RETRY_MS + 10)
    assert client.next_request_ms(RETRY_MS + 10) == SYNC_MS
    client.request(RETRY_MS + 10 + SYNC_MS)  # no answer this time
    assert client.next_request_ms(RETRY_MS + 10 + SYNC_MS) == SYNC_MS
    assert client.utc_ms(RETRY_MS + 10 + SYNC_MS) == (UNIX_S + 3600) * 1000 + 5


def test_seconds_past_2036_are_read_in_era_1():
    client = SntpClient(counting_bytes())
    request = client.request(0)
    reply = bytearray(answer(request, UNIX_S, UNIX_S))
    struct.pack_into(">II", reply, 40, 1000, 0)  # 2036-02-07 06:28:16 + 1000 s
    struct.pack_into(">II", reply, 32, 1000, 0)
    assert client.receive(bytes(reply), 0)
    assert client.utc_ms(0) == ((1 << 32) + 1000 - NTP_TO_UNIX_S) * 1000
