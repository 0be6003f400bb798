# The MQTT service against a real Mosquitto on 127.0.0.1: Home Assistant
# discovery, retained state, every event of a whole simulated call, a test
# ring from the button entity, and a broker that goes away mid-call while
# the door's audio keeps flowing to the flat.

import json
import time

import numpy
import pytest
from support.audio import read_wav
from support.config import service_door_sections
from support.door import start_door, start_pair
from support.mosquitto import Mosquitto, Subscriber
from support.ports import free_port
from support.wait import wait_until

pytestmark = pytest.mark.integration

PREFIX = "intercom/door"
DISCOVERY = {
    "homeassistant/event/intercom_door/doorbell/config",
    "homeassistant/sensor/intercom_door/call_state/config",
    "homeassistant/binary_sensor/intercom_door/registered/config",
    "homeassistant/binary_sensor/intercom_door/lockout/config",
    "homeassistant/button/intercom_door/test_ring/config",
}


def frame_rms(samples):
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    return numpy.sqrt((frames**2).mean(axis=1))


def longest_quiet_run(loud):
    """The longest run of quiet 20 ms frames between the first and last loud one."""
    indexes = numpy.flatnonzero(loud)
    gaps = numpy.diff(indexes) - 1
    return int(gaps.max()) if len(gaps) else 0


def broker_with_home_assistant(owned, tmp_path):
    """(broker, subscriber, the door's MQTT section): Mosquitto with users
    door and ha, Home Assistant (ha) subscribed to discovery and the door's
    topics, the door logging in as door."""
    broker = owned(Mosquitto(tmp_path, users={"door": "door-secret", "ha": "ha-secret"})).start()
    subscriber = owned(
        Subscriber(broker.port, ["homeassistant/#", PREFIX + "/#"], "ha", "ha-secret")
    )
    mqtt_section = {"host": "127.0.0.1", "port": broker.port, "user": "door"}
    mqtt_section["password"] = "door-secret"
    return broker, subscriber, mqtt_section


def test_a_call_over_mqtt_with_auth_survives_a_broker_restart(tmp_path, owned):
    broker, subscriber, mqtt_section = broker_with_home_assistant(owned, tmp_path)
    door, flat, flat_target = start_pair(owned, tmp_path, mqtt=mqtt_section)

    subscriber.wait_for(PREFIX + "/availability", "online")
    wait_until(lambda: DISCOVERY <= {topic for topic, _, _ in subscriber.messages}, 10, "discovery")
    doorbell = json.loads(subscriber.seen("homeassistant/event/intercom_door/doorbell/config")[-1])
    assert doorbell["event_types"] == ["press", "repeat"]
    assert doorbell["state_topic"] == PREFIX + "/doorbell"
    assert doorbell["availability_topic"] == PREFIX + "/availability"
    assert doorbell["device"]["name"] == "Door"
    button = json.loads(subscriber.seen("homeassistant/button/intercom_door/test_ring/config")[-1])
    subscriber.wait_for(PREFIX + "/state/call", "idle")
    subscriber.wait_for(PREFIX + "/state/registered", "ON")  # peer-to-peer
    subscriber.wait_for(PREFIX + "/state/lockout", "OFF")

    # the Home Assistant button rings the door (a test ring = a press)
    subscriber.publish(button["command_topic"], "PRESS")
    door.wait_for("button", state="pressed")
    door.wait_for("answered", target=flat_target)
    assert json.loads(subscriber.wait_for(PREFIX + "/doorbell")) == {"event_type": "press"}
    subscriber.wait_for(PREFIX + "/state/call", "talking")
    # the state is polled, the events are queued: the state can come first
    subscriber.wait_for(PREFIX + "/event/answered")
    assert subscriber.events("call_started")[0]["target"] == flat_target
    assert subscriber.events("answered")[0]["target"] == flat_target
    time.sleep(1.0)

    # the broker goes away for a while in the middle of the call
    broker.stop()
    outage_started = time.monotonic()
    time.sleep(3.0)
    broker.start()  # on the same port: the door's config names it
    outage_s = time.monotonic() - outage_started
    mark = subscriber.mark()
    # no persistence: the retained state comes back only because the door republishes it
    subscriber.wait_for(PREFIX + "/availability", "online", since=mark, timeout=15)
    subscriber.wait_for(PREFIX + "/state/call", "talking", since=mark)
    wait_until(
        lambda: DISCOVERY <= {topic for topic, _, _ in subscriber.messages[mark:]}, 10, "discovery"
    )
    assert flat.names().count("call_ended") == 0

    door.send("hangup")
    door.wait_for("call_ended")
    subscriber.wait_for(PREFIX + "/event/call_ended", since=mark)
    subscriber.wait_for(PREFIX + "/state/call", "idle", since=mark)
    ended = subscriber.events("call_ended", mark)[0]
    assert ended["reason"] == "local_hangup"
    assert ended["duration_ms"] >= (1.0 + outage_s) * 1000
    door.send("quit")
    flat.send("quit")
    assert door.wait() == 0 and flat.wait() == 0
    subscriber.stop()

    # the flat heard the door's test tone without a break through the outage
    loud = frame_rms(read_wav(tmp_path / "flatx_heard.wav")) > 500
    heard_s = (numpy.flatnonzero(loud)[-1] - numpy.flatnonzero(loud)[0]) * 0.02
    assert heard_s >= 1.0 + outage_s
    assert longest_quiet_run(loud) <= 12  # the tone's own 150 ms pauses, nothing longer


def test_a_door_started_before_its_broker_connects_when_it_comes(tmp_path, owned):
    # The door is told the broker's port before the broker runs.
    broker = owned(Mosquitto(tmp_path, port=free_port(tcp=True)))
    sections = service_door_sections(mqtt={"host": "127.0.0.1", "port": broker.port})
    door = start_door(owned, tmp_path, sections)
    time.sleep(1.5)  # refused at least once: the door keeps running meanwhile
    door.send("press")
    door.wait_for("button", state="pressed")
    broker.start()
    subscriber = owned(Subscriber(broker.port, [PREFIX + "/#"]))
    subscriber.wait_for(PREFIX + "/availability", "online", timeout=15)
    subscriber.wait_for(PREFIX + "/state/call", timeout=5)
    door.send("quit")
    assert door.wait() == 0
    # a clean stop says offline (the will covers a crash)
    subscriber.wait_for(PREFIX + "/availability", "offline")
    subscriber.stop()
    assert "MQTT 127.0.0.1:%d unavailable" % broker.port in door.stderr()


def test_wrong_mqtt_credentials_are_refused_and_the_door_keeps_ringing(tmp_path, owned):
    broker = owned(Mosquitto(tmp_path, users={"door": "door-secret"})).start()
    mqtt_section = {"host": "127.0.0.1", "port": broker.port, "user": "door"}
    mqtt_section["password"] = "not-the-secret"
    door, flat, flat_target = start_pair(owned, tmp_path, mqtt=mqtt_section)
    wait_until(lambda: "MQTT broker refused us" in door.stderr(), 10, "a refusal")
    door.send("press")
    door.wait_for("answered", target=flat_target)
    wait_until(lambda: door.stderr().count("MQTT broker refused us") >= 2, 10, "a retry")
    assert "not-the-secret" not in door.stderr()
    door.send("quit")
    assert door.wait() == 0


def test_mqtt_open_only_with_allow_open_and_through_the_door_policy(tmp_path, owned):
    _, subscriber, mqtt_section = broker_with_home_assistant(owned, tmp_path)
    open_button = "homeassistant/button/intercom_door/open_door/config"

    # allow_open off: no open button, and the command topic does nothing.
    (tmp_path / "off").mkdir()
    door, flat, _ = start_pair(owned, tmp_path / "off", mqtt=mqtt_section)
    subscriber.wait_for(PREFIX + "/availability", "online")
    wait_until(lambda: DISCOVERY <= {topic for topic, _, _ in subscriber.messages}, 10, "discovery")
    subscriber.publish(PREFIX + "/command/open", "OPEN")
    subscriber.publish(PREFIX + "/command/test_ring", "PRESS")
    door.wait_for("call_started")  # handled after the open command: nothing opened
    assert "door_opened" not in door.names()
    assert subscriber.seen(open_button) == []
    door.stop()
    flat.stop()

    # allow_open on: the button appears and an open goes through the policy.
    mark = subscriber.mark()
    (tmp_path / "on").mkdir()
    door, flat, _ = start_pair(owned, tmp_path / "on", mqtt=dict(mqtt_section, allow_open=True))
    subscriber.wait_for(PREFIX + "/availability", "online", since=mark)
    config = json.loads(subscriber.wait_for(open_button, since=mark))
    assert config["command_topic"] == PREFIX + "/command/open"
    subscriber.publish(config["command_topic"], "PRESS")
    opened = door.wait_for("door_opened")
    assert opened["caller"] == "remote" and opened["source"] == "mqtt"
    door.wait_for("door_closed")
