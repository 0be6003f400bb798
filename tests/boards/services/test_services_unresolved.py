# Optional services never keep the doorbell from working: a door whose MQTT
# broker or webhook host name does not resolve at boot starts, rings a
# SIPp flat, opens for the flat's code, reports the service problem as an
# error event, and reaches the service once the name resolves.
#
# Names are resolved by the door's ordinary resolver (getaddrinfo) in a
# private mount namespace whose /etc/hosts the test rewrites
# (services_helpers.PrivateHosts): no DNS query leaves 127.0.0.1.

import time

import pytest
from services_helpers import (
    FastReceiver,
    Mosquitto,
    PrivateHosts,
    Subscriber,
    free_tcp_port,
    start_door,
    start_micropython_door,
)
from tests.interop.flat_rtp import FlatRtp
from tests.interop.interop_peers import DOOR_CODE, free_port, scenario_copy, speech_like
from tests.sip_interop.sip_interop_peers import Sipp

PREFIX = "intercom/door"


@pytest.fixture
def running():
    started = []
    yield started
    for thing in reversed(started):
        if hasattr(thing, "kill"):
            thing.kill()
        elif isinstance(thing, Subscriber):
            thing.close()
        else:
            thing.stop()


def door_calling_a_dtmf_flat(tmp_path, running, interpreter="cpython", webhooks=(), **extra):
    """(door, flat sipp, media port): a peer-to-peer door, names resolved
    through PrivateHosts (returned as door.hosts)."""
    hosts = PrivateHosts(tmp_path)
    media_port = free_port()
    scenario = scenario_copy(tmp_path, "flat_dtmf_pt114.xml", MEDIA_PORT=media_port)
    flat = Sipp(tmp_path, "flat", scenario, options=["-mi", "127.0.0.1"]).start()
    running.append(flat)
    flat.wait_listening()
    sections = {
        "device": {"name": "Door", "board": "sim"},
        "sip": {"user": "door", "local_port": free_port()},
        "call": {"targets": ["sip:flat@127.0.0.1:%d" % flat.port], "ring_timeout": 10},
        "door": {"code": DOOR_CODE, "state_file": "state.json", "hangup_after_open": 1},
        "audio": {"input": "silence", "output": "null", "rtp_port": free_port()},
    }
    sections.update(extra)
    folder = tmp_path / "door"
    folder.mkdir()
    if interpreter == "micropython":
        door = start_micropython_door(folder, sections, wrapper=hosts.wrapper())
        door.wait_for("started", timeout=20)
    else:
        door = start_door(folder, sections, webhooks=webhooks, wrapper=hosts.wrapper())
    running.append(door)
    door.hosts = hosts
    return door, flat, media_port, sections["audio"]["rtp_port"]


def ring_and_open(door, flat, media_port, rtp_port, running):
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10)
    rtp = FlatRtp(media_port, ("127.0.0.1", rtp_port), speech_like(2, 4), 114)
    running.append(rtp)
    time.sleep(0.5)
    rtp.dtmf(DOOR_CODE)
    door.wait_for("door_opened", timeout=10)
    assert door.wait_for("call_ended", timeout=10)["reason"] == "door_opened"
    assert flat.wait() == 0, flat.report()


@pytest.mark.parametrize("interpreter", ("cpython", "micropython"))
def test_a_broker_name_that_does_not_resolve_keeps_nothing_from_working(
    tmp_path, running, interpreter
):
    broker = Mosquitto(tmp_path)
    broker.start()
    running.append(broker)
    mqtt = {"host": "broker.test", "port": broker.port}
    door, flat, media_port, rtp_port = door_calling_a_dtmf_flat(
        tmp_path, running, interpreter, mqtt=mqtt
    )
    problem = door.wait_for("error", service="mqtt")
    assert "broker.test" in problem["reason"]

    ring_and_open(door, flat, media_port, rtp_port, running)

    subscriber = Subscriber(broker.port, [PREFIX + "/#"])
    running.append(subscriber)
    door.hosts.add("broker.test", "127.0.0.1")
    subscriber.wait_for(PREFIX + "/availability", "online", timeout=40)
    subscriber.wait_for(PREFIX + "/state/call", "idle")
    assert door.names().count("error") == 1  # one report per outage, not one per retry
    door.send("quit")
    assert door.wait() == 0


def test_a_webhook_name_that_does_not_resolve_keeps_nothing_from_working(tmp_path, running):
    hook_port = free_tcp_port()
    receiver = FastReceiver(hook_port)
    running.append(receiver)
    webhook = {"url": "http://hook.test:%d/hook" % hook_port, "events": ["button"]}
    door, flat, media_port, rtp_port = door_calling_a_dtmf_flat(
        tmp_path, running, webhooks=[webhook]
    )
    ring_and_open(door, flat, media_port, rtp_port, running)
    problem = door.wait_for("error", service="webhook")
    assert "hook.test" in problem["reason"]
    assert receiver.bodies == []

    door.hosts.add("hook.test", "127.0.0.1")
    door.send("press")
    door.send("release")
    deadline = time.monotonic() + 20
    while len(receiver.bodies) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [body["state"] for body in receiver.bodies[-2:]] == ["pressed", "released"]
    door.send("quit")
    assert door.wait() == 0
