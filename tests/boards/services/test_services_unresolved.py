# Optional services never keep the doorbell from working: a door whose MQTT
# broker or webhook host name does not resolve at boot starts, rings a
# SIPp flat, opens for the flat's code, reports the service problem as an
# error event, and reaches the service once the name resolves.
#
# Names are resolved by the door's ordinary resolver (getaddrinfo) in a
# private mount namespace whose /etc/hosts the test rewrites
# (private_hosts.PrivateHosts): no DNS query leaves 127.0.0.1.

import time

import pytest
from private_hosts import PrivateHosts
from support.audio import noise_syllables
from support.door import DOOR_CODE, start_door
from support.flat_rtp import FlatRtp
from support.mosquitto import Mosquitto, Subscriber
from support.sipp import Sipp
from webhook_receiver import FastReceiver

pytestmark = pytest.mark.integration  # SIPp is the flat; Mosquitto the broker
PREFIX = "intercom/door"


def door_calling_a_dtmf_flat(tmp_path, owned, interpreter="cpython", webhooks=(), **extra):
    """(door, flat sipp, flat RTP): a peer-to-peer door, names resolved
    through PrivateHosts (returned as door.hosts)."""
    hosts = PrivateHosts(tmp_path)
    rtp = owned(FlatRtp(noise_syllables(2, 4), 114))
    fill = {"MEDIA_PORT": rtp.port}
    scenario = "flat_dtmf_pt114.xml"
    flat = owned(Sipp(tmp_path, "flat", scenario, options=["-mi", "127.0.0.1"], fill=fill))
    flat.start()
    sections = {
        "device": {"name": "Door", "board": "sim"},
        "sip": {"user": "door", "local_port": 0},
        "call": {"targets": ["sip:flat@127.0.0.1:%d" % flat.port], "ring_timeout": 10},
        "door": {"code": DOOR_CODE, "state_file": "state.json", "hangup_after_open": 1},
        "audio": {"input": "silence", "output": "null"},
    }
    sections.update(extra)
    folder = tmp_path / "door"
    folder.mkdir()
    door = start_door(
        owned,
        folder,
        sections,
        micropython=interpreter == "micropython",
        webhooks=webhooks,
        wrapper=hosts.wrapper(),
    )
    door.hosts = hosts
    return door, flat, rtp


def ring_and_open(door, flat, rtp):
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10)
    rtp.start(("127.0.0.1", door.rtp_port))
    time.sleep(0.5)
    rtp.dtmf(DOOR_CODE)
    door.wait_for("door_opened", timeout=10)
    assert door.wait_for("call_ended", timeout=10)["reason"] == "door_opened"
    assert flat.wait() == 0, flat.report()


@pytest.mark.parametrize("interpreter", ("cpython", "micropython"))
def test_a_broker_name_that_does_not_resolve_keeps_nothing_from_working(
    tmp_path, owned, interpreter
):
    broker = owned(Mosquitto(tmp_path)).start()
    mqtt = {"host": "broker.test", "port": broker.port}
    door, flat, rtp = door_calling_a_dtmf_flat(tmp_path, owned, interpreter, mqtt=mqtt)
    problem = door.wait_for("error", service="mqtt")
    assert "broker.test" in problem["reason"]

    ring_and_open(door, flat, rtp)

    subscriber = owned(Subscriber(broker.port, [PREFIX + "/#"]))
    door.hosts.add("broker.test", "127.0.0.1")
    subscriber.wait_for(PREFIX + "/availability", "online", timeout=40)
    subscriber.wait_for(PREFIX + "/state/call", "idle")
    assert door.names().count("error") == 1  # one report per outage, not one per retry
    door.send("quit")
    assert door.wait() == 0


def test_a_webhook_name_that_does_not_resolve_keeps_nothing_from_working(tmp_path, owned):
    receiver = owned(FastReceiver())
    webhook = {"url": "http://hook.test:%d/hook" % receiver.port, "events": ["button"]}
    door, flat, rtp = door_calling_a_dtmf_flat(tmp_path, owned, webhooks=[webhook])
    ring_and_open(door, flat, rtp)
    problem = door.wait_for("error", service="webhook")
    assert "hook.test" in problem["reason"]
    assert receiver.bodies == []

    door.hosts.add("hook.test", "127.0.0.1")
    mark = len(door.seen)
    door.send("press")
    door.send("release")
    pressed = door.wait_for("button", after=mark, state="pressed")
    released = door.wait_for("button", after=mark, state="released")
    expected = [("pressed", pressed["ts_ms"]), ("released", released["ts_ms"])]

    # One delivery at a time, in event order: a button event of the first
    # ring may still be on its last retry and arrive first (a busy machine),
    # never after the new press and release.
    def delivered():
        return [(body["state"], body["ts_ms"]) for body in receiver.bodies]

    deadline = time.monotonic() + 20
    while delivered()[-2:] != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert delivered()[-2:] == expected, delivered()
    door.send("quit")
    assert door.wait() == 0
