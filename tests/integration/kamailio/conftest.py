# Fixtures for the Kamailio tests of the SIP agent: one Kamailio per test
# module, SIPp runs and doors (AgentDriver) per test. Every process and
# socket a test opened is stopped or closed in the finalizer, also when the
# test fails.

import pathlib

import pytest
from agent_driver import AgentDriver
from support.kamailio import DOOR_PASSWORD, FLAT_PASSWORD, Kamailio
from support.sipp import Sipp

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory):
    server = Kamailio(tmp_path_factory.mktemp("kamailio"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def sipp(tmp_path, owned):
    """sipp(name, scenario, port=None, remote=None, options=(), host="127.0.0.1")
    -> a started Sipp; scenario is a file in this folder's scenarios/ or in
    support/scenarios/ (those other folders use too)."""

    def run(name, scenario, port=None, remote=None, options=(), host="127.0.0.1"):
        if (SCENARIOS / scenario).exists():
            scenario = SCENARIOS / scenario
        return owned(Sipp(tmp_path, name, scenario, port, remote, options, host)).start()

    return run


@pytest.fixture
def register_flat(sipp, kamailio):
    """register_flat(user) -> port: SIPp registers user's contact at a free
    port with Kamailio (digest), ready for a UAS scenario on that port."""

    def register(user):
        peer = sipp(
            "register_" + user,
            "flat_register.xml",
            remote=kamailio.address,
            options=["-s", user, "-au", user, "-ap", FLAT_PASSWORD],
        )
        assert peer.wait() == 0, peer.report()
        assert [status for _, status in peer.flow() if isinstance(status, int)] == [401, 200]
        contact = "sip:%s@127.0.0.1:%d" % (user, peer.port)
        assert kamailio.bindings().get(user) == [contact]
        return peer.port

    return register


@pytest.fixture
def registered_flat(register_flat, sipp):
    """registered_flat(name, scenario) -> a started Sipp: flat1 registered
    with Kamailio (register_flat), scenario's UAS on its contact's port."""

    def start(name, scenario):
        return sipp(name, scenario, port=register_flat("flat1"))

    return start


@pytest.fixture
def door_factory():
    """door(**settings) -> AgentDriver on a free port, closed after the test."""
    doors = []

    def make(**settings):
        door = AgentDriver(**settings)
        doors.append(door)
        return door

    yield make
    for door in doors:
        door.close()
    # An exception inside the agent is counted and kept, never raised: a
    # peer's message that hit one is an agent bug, whatever the test saw.
    for door in doors:
        stats = door.agent.stats
        assert stats.get("internal_errors", 0) == 0, repr(door.agent.last_error)


@pytest.fixture
def registered_door(door_factory, kamailio):
    """door(**settings): a door registered with Kamailio as user "door"."""

    def make(**settings):
        values = {
            "user": "door",
            "server": "127.0.0.1:%d" % kamailio.port,
            "password": DOOR_PASSWORD,
            "realm": "127.0.0.1",
            "expires_s": 60,
        }
        values.update(settings)
        door = door_factory(**values)
        door.start()
        door.wait_for("registered")
        return door

    return make
