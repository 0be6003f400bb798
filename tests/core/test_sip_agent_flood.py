# CPython-only checks of the agent under hostile input: a flood of INVITEs
# from many sources and Call-IDs, random garbage, and a lossy link.

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from intercom.sip.agent import Agent
from intercom.sip.context import MAX_EVENTS
from unit.sip_harness import DOOR, FLAT, FLAT_URI, CountingRandom, door_settings, pair, udp

SDP = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 0\r\n"
)


def invite(call_id, branch, host):
    return (
        "INVITE sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%s\r\n"
        "From: <sip:x@%s>;tag=t%s\r\nTo: <sip:door@192.0.2.5>\r\n"
        "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:x@%s>\r\n"
        "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
        % (host, branch, host, branch, call_id, host, len(SDP), SDP)
    ).encode()


def test_ten_thousand_invites_keep_live_objects_under_the_caps():
    trusted = ["192.0.2.%d" % n for n in range(20, 30)]
    door = Agent(
        door_settings(trusted=trusted, max_transactions=32, max_calls=2, rate_per_s=200),
        CountingRandom(4),
    )
    peak_transactions = 0
    peak_calls = 0
    for index in range(10000):
        if index % 3 == 0:
            host = trusted[index % len(trusted)]
        else:
            host = "198.51.%d.%d" % (index // 250 % 250, index % 250)
        now = index * 2
        door.receive_datagram(invite("c%d" % index, "b%d" % index, host), udp((host, 5060)), now)
        door.datagrams_to_send(now)
        if index % 97 == 0:
            door.handle_timer(now)
        peak_transactions = max(peak_transactions, len(door.transactions))
        peak_calls = max(peak_calls, len(door.calls))
    stats = door.stats
    assert peak_transactions <= 32
    assert peak_calls <= 2
    assert len(door.guard.buckets) <= door.settings.max_sources
    assert stats["untrusted_dropped"] == 6666
    assert stats["datagrams_in"] == 10000
    handled = stats.get("requests_in", 0) + stats.get("rate_limited", 0)
    assert handled == 3334
    assert stats["responses_486"] >= 3000
    assert stats.get("internal_errors", 0) == 0
    events = []
    while True:
        item = door.next_event()
        if item is None:
            break
        events.append(item)
    assert len(events) <= MAX_EVENTS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_never_raises_nor_hits_an_internal_error(data):
    door = Agent(door_settings(), CountingRandom(6))
    door.receive_datagram(data, udp(FLAT), 0)
    door.datagrams_to_send(0)
    assert door.stats.get("internal_errors", 0) == 0, door.last_error


HEADER_LINES = [
    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKf1;rport",
    "Via: SIP/2.0/UDP 192.0.2.20",
    "From: <sip:flat1@192.0.2.20>;tag=a",
    "From: sip:flat1@192.0.2.20",
    "To: <sip:door@192.0.2.5>",
    "To: <sip:door@192.0.2.5>;tag=zz",
    "Call-ID: fuzz",
    "CSeq: 1 INVITE",
    "CSeq: 2 BYE",
    "Contact: <sip:flat1@192.0.2.20:5062>",
    "Contact: *",
    "Record-Route: <sip:p1;lr>",
    "Require: 100rel",
    "Content-Type: application/sdp",
    "Content-Type: application/dtmf-relay",
    "Content-Encoding: gzip",
    "Max-Forwards: 0",
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "INFO", "OPTIONS", "REFER", "X"]),
    st.lists(st.sampled_from(HEADER_LINES), max_size=10),
    st.sampled_from(["", SDP, "Signal=5\r\n", "m=audio 0 RTP/AVP 0\r\n"]),
)
def test_plausible_requests_never_hit_an_internal_error(method, lines, body):
    door = Agent(door_settings(), CountingRandom(7))
    text = "%s sip:door@192.0.2.5 SIP/2.0\r\n%s\r\nContent-Length: %d\r\n\r\n%s" % (
        method,
        "\r\n".join(lines),
        len(body),
        body,
    )
    door.receive_datagram(text.encode(), udp(FLAT), 0)
    door.handle_timer(100000)
    door.datagrams_to_send(100000)
    assert door.stats.get("internal_errors", 0) == 0, door.last_error


def test_calls_complete_over_a_lossy_reordering_link():
    completed = 0
    for seed in range(40):
        chooser = random.Random(seed)
        network, door, flat = pair()
        held = []

        def lossy(data, source, dest, chooser=chooser, held=held, network=network):
            roll = chooser.random()
            if roll < 0.2:
                return True  # lost
            if roll < 0.3:
                held.append((data, source, dest))  # delivered late
                return True
            if roll < 0.4:
                network.agents[dest].receive_datagram(data, udp(source), network.now)  # duplicate
            return False

        network.drop = lossy
        call_id = door.call(FLAT_URI, 40000, 0)
        answered = False
        for step in range(1, 400):
            network.run_until(step * 100)
            for data, source, dest in held:
                network.agents[dest].receive_datagram(data, udp(source), network.now)
            del held[:]
            if not answered and "incoming_call" in network.names(FLAT):
                flat.answer(call_id, 50000, network.now)
                answered = True
            if "answered" in network.names(DOOR) and "answered" in network.names(FLAT):
                break
        door_events = network.names(DOOR)
        if "call_failed" in door_events:  # every INVITE lost for 32 s
            continue
        assert door_events.count("answered") == 1, (seed, door_events)
        assert network.names(FLAT).count("incoming_call") == 1
        assert network.names(FLAT).count("answered") == 1
        assert door.stats.get("internal_errors", 0) == 0
        assert flat.stats.get("internal_errors", 0) == 0
        completed += 1
    assert completed >= 38
