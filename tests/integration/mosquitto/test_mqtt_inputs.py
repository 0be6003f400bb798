# The door's new inputs over MQTT against a real Mosquitto: a sim door with
# two buttons (one Home Assistant doorbell per button, repeats, the quiet
# hours switch, the door contact, the tamper alarm and its reset, each kept
# over a restart), and a broker without credentials that offers no tamper
# reset.

import json

import pytest
from support.door import start_door, two_button_door
from support.mosquitto import Mosquitto, Subscriber

pytestmark = pytest.mark.integration
PREFIX = "intercom/door"
NODE = "homeassistant/%s/intercom_door/%s/config"


def test_mqtt_doorbells_quiet_hours_door_and_tamper_survive_a_restart(tmp_path, owned):
    broker = owned(Mosquitto(tmp_path, users={"door": "door-secret", "ha": "ha-secret"})).start()
    subscriber = owned(
        Subscriber(broker.port, ["homeassistant/#", PREFIX + "/#"], "ha", "ha-secret")
    )
    mqtt = {"host": "127.0.0.1", "port": broker.port, "user": "door", "password": "door-secret"}
    flat, sections, flat_a = two_button_door(owned, tmp_path, mqtt=mqtt)
    door = start_door(owned, tmp_path, sections)
    subscriber.wait_for(PREFIX + "/availability", "online")
    for component, name in (
        ("event", "doorbell"),
        ("event", "doorbell_2"),
        ("select", "quiet_mode"),
        ("binary_sensor", "quiet"),
        ("binary_sensor", "door"),
        ("binary_sensor", "tamper"),
        ("button", "tamper_reset"),
    ):
        subscriber.wait_for(NODE % (component, name))
    second = json.loads(subscriber.seen(NODE % ("event", "doorbell_2"))[-1])
    assert (second["name"], second["state_topic"]) == ("Flat B", PREFIX + "/doorbell/2")
    subscriber.wait_for(PREFIX + "/state/door", "closed")
    subscriber.wait_for(PREFIX + "/state/quiet_mode", "auto")

    # button 2 rings flat B (nobody answers); button 1 meanwhile is a repeat
    door.send("press 2")
    door.wait_for("call_started", button=2)
    door.send("press 1")
    door.wait_for("button", button=1, repeat=1)
    assert json.loads(subscriber.wait_for(PREFIX + "/doorbell/2")) == {"event_type": "press"}
    repeat = json.loads(subscriber.wait_for(PREFIX + "/doorbell"))
    assert repeat == {"event_type": "repeat", "repeat": 1}
    door.send("sensor open")  # the visitor is let in with a key: flat B stops ringing
    assert door.wait_for("call_ended")["reason"] == "door_opened"
    subscriber.wait_for(PREFIX + "/state/door", "open")
    door.send("sensor close")

    mark = subscriber.mark()
    subscriber.publish(PREFIX + "/command/quiet_mode", "on")
    door.wait_for("quiet_hours", active=True, mode="on", source="mqtt")
    subscriber.wait_for(PREFIX + "/state/quiet", "ON", since=mark)
    door.send("press 1")  # quiet, and no entry names targets: nobody rings
    door.wait_for("button", button=1, quiet=True, repeat=0)
    assert json.loads(subscriber.wait_for(PREFIX + "/doorbell", since=mark)) == {
        "event_type": "press",
        "quiet": True,
    }
    door.send("tamper")
    subscriber.wait_for(PREFIX + "/state/tamper", "ON", since=mark)
    door.send("tamper off")
    door.wait_for("tamper", state="restored")

    door.send("quit")
    assert door.wait() == 0, door.stderr()
    state = json.loads((tmp_path / "door_state.json").read_text())
    assert (state["version"], state["quiet_mode"], state["tamper"]) == (3, "on", True)

    # stored on the broker while the door was away: ignored when it comes back
    retained = subscriber.client.publish(PREFIX + "/command/quiet_mode", "off", retain=True)
    retained.wait_for_publish(5)
    mark = subscriber.mark()
    door = start_door(owned, tmp_path, sections)
    door.wait_for("error", topic=PREFIX + "/command/quiet_mode")
    subscriber.client.publish(PREFIX + "/command/quiet_mode", "", retain=True).wait_for_publish(5)
    subscriber.wait_for(PREFIX + "/state/quiet_mode", "on", since=mark)
    subscriber.wait_for(PREFIX + "/state/tamper", "ON", since=mark)
    subscriber.publish(PREFIX + "/command/tamper_reset", "PRESS")
    assert door.wait_for("tamper_reset")["source"] == "mqtt"
    subscriber.wait_for(PREFIX + "/state/tamper", "OFF", since=mark)
    subscriber.publish(PREFIX + "/command/quiet_mode", "auto")
    door.wait_for("quiet_hours", mode="auto", source="mqtt")
    door.send("press 1")
    assert door.wait_for("call_started", button=1)["target"] == flat_a
    door.send("quit")
    assert door.wait() == 0, door.stderr()


def test_mqtt_without_broker_credentials_offers_no_tamper_reset(tmp_path, owned):
    broker = owned(Mosquitto(tmp_path)).start()
    subscriber = owned(Subscriber(broker.port, ["homeassistant/#", PREFIX + "/#"]))
    mqtt = {"host": "127.0.0.1", "port": broker.port}
    flat, sections, _ = two_button_door(owned, tmp_path, mqtt=mqtt)
    door = start_door(owned, tmp_path, sections)
    subscriber.wait_for(NODE % ("binary_sensor", "tamper"))
    door.send("tamper")
    subscriber.wait_for(PREFIX + "/state/tamper", "ON")
    subscriber.publish(PREFIX + "/command/tamper_reset", "PRESS")
    subscriber.publish(PREFIX + "/command/test_ring", "PRESS")  # a command it does take
    door.wait_for("call_started")
    assert "tamper_reset" not in door.names()
    assert NODE % ("button", "tamper_reset") not in [t for t, _, _ in subscriber.messages]
    door.send("quit")
    assert door.wait() == 0
