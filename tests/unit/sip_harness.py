# Shared by the SIP call/agent tests: two (or more) agents wired together in
# memory on a virtual clock, deterministic randomness, message helpers.

from intercom.config import validate
from intercom.sip.agent import Agent
from intercom.sip.agent_settings import AgentSettings
from intercom.sip.flow import UDP, flow_address, is_stream, make_flow
from intercom.sip.message import parse_message
from intercom.sip.timers import earliest

DOOR = ("192.0.2.5", 5060)
FLAT = ("192.0.2.20", 5062)
FLAT_URI = "sip:flat1@192.0.2.20:5062"


class CountingRandom:
    """random_bytes(n) that never repeats and is the same on every run."""

    def __init__(self, seed):
        self.counter = seed * 1000003

    def __call__(self, count):
        out = bytearray(count)
        for index in range(count):
            self.counter = (self.counter * 1103515245 + 12345) & 0x7FFFFFFF
            out[index] = (self.counter >> 16) & 0xFF
        return bytes(out)


# Where each option of agent_settings() goes in a door config.
CONFIG_KEYS = {
    "server": "sip",
    "domain": "sip",
    "password": "sip",
    "realm": "sip",
    "register": "sip",
    "expires": "sip",
    "keepalive": "sip",
    "trusted": "sip",
    "transport": "sip",
    "peer_media_same_host": "sip",
    "asserted_identity": "sip",
    "session_expires": "sip",
    "targets": "call",
    "answer_from": "call",
    "transfer_to": "call",
    "ring_timeout": "call",
    "codecs": "audio",
}


def agent_settings(user, address, max_calls=4, **options):
    """AgentSettings built the way the station builds them: from a door
    config (intercom.config validates it, its defaults apply). options:
    config keys of CONFIG_KEYS (tuples as lists), else AgentSettings limits
    (rate_per_s, max_transactions, ...); max_calls replaces the one the
    config derives (2 * targets + 1)."""
    raw = {"sip": {"user": user}, "call": {}, "audio": {}}
    limits = {}
    for name, value in options.items():
        section = CONFIG_KEYS.get(name)
        if section is None:
            limits[name] = value
        else:
            raw[section][name] = list(value) if isinstance(value, tuple) else value
    settings = AgentSettings(validate(raw, "test"), address[0], address[1], **limits)
    settings.max_calls = max_calls
    return settings


def door_settings(**overrides):
    options = {"targets": (FLAT_URI,), "answer_from": (FLAT_URI,)}
    options.update(overrides)
    return agent_settings("door", DOOR, **options)


def flat_settings(**overrides):
    options = {"trusted": (DOOR[0],), "targets": ("sip:door@%s:%d" % DOOR,)}
    options.update(overrides)
    return agent_settings("flat1", FLAT, **options)


def udp(address):
    """The flow of a datagram from (or to) address."""
    return make_flow(UDP, address)


class Network:
    """Agents by address; every datagram passes filter(data, source, dest).
    What goes out on a stream arrives on that transport too (connection 1:
    no framing here, every message arrives whole)."""

    def __init__(self):
        self.now = 0
        self.agents = {}
        self.wire = []  # (time, source, dest, bytes) for every datagram sent
        self.events = {}
        self.drop = None  # drop(data, source, dest) -> True to lose it

    def add(self, address, agent):
        self.agents[address] = agent
        self.events[address] = []
        return agent

    def pump(self):
        """Deliver datagrams until nobody has anything more to send."""
        moved = True
        while moved:
            moved = False
            for source, agent in self.agents.items():
                for data, flow in agent.datagrams_to_send(self.now):
                    moved = True
                    dest = flow_address(flow)
                    self.wire.append((self.now, source, dest, data))
                    if self.drop is not None and self.drop(data, source, dest):
                        continue
                    target = self.agents.get(dest)
                    if target is not None:
                        arrival = make_flow(flow[0], source, 1 if is_stream(flow) else 0)
                        target.receive_datagram(data, arrival, self.now)
            self._collect()

    def _collect(self):
        for address, agent in self.agents.items():
            while True:
                event = agent.next_event()
                if event is None:
                    break
                self.events[address].append(event)

    def next_deadline(self):
        deadline = None
        for agent in self.agents.values():
            deadline = earliest(deadline, agent.get_timer())
        return deadline

    def run_until(self, end_ms):
        """Fire every timer up to end_ms, delivering traffic after each."""
        self.pump()
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > end_ms:
                break
            self.now = max(self.now, deadline)
            for agent in self.agents.values():
                agent.handle_timer(self.now)
            self.pump()
        self.now = max(self.now, end_ms)

    def names(self, address):
        return [event["event"] for event in self.events[address]]

    def sent(self, source=None, dest=None):
        """Parsed messages sent, as (time, message), optionally filtered."""
        out = []
        for when, src, dst, data in self.wire:
            if source is not None and src != source:
                continue
            if dest is not None and dst != dest:
                continue
            if data.strip(b"\r\n"):
                out.append((when, parse_message(data)))
        return out


def pair(door_overrides=None, flat_overrides=None):
    network = Network()
    door = network.add(DOOR, Agent(door_settings(**(door_overrides or {})), CountingRandom(1)))
    flat = network.add(FLAT, Agent(flat_settings(**(flat_overrides or {})), CountingRandom(2)))
    return network, door, flat


def summary(message):
    """ "INVITE" / "180" style label of a message."""
    if hasattr(message, "method"):
        return message.method
    return str(message.status)


def labels(network, source=None, dest=None):
    return [summary(message) for _, message in network.sent(source, dest)]


def event(network, address, name):
    for item in network.events[address]:
        if item["event"] == name:
            return item
    raise AssertionError("no %s event in %r" % (name, network.names(address)))
