# The services and the door's new inputs against real peers: a sim door with
# two buttons publishing to a real Mosquitto (one Home Assistant doorbell
# per button, repeats, the quiet hours switch, the door contact, the tamper
# alarm and its reset, each kept over a restart), and the same door's
# status page and API (quiet hours switch and tamper reset with the token),
# read by headless Chromium.

import json

import pytest
from services_helpers import (
    Door,
    Mosquitto,
    Subscriber,
    door_config,
    free_port,
    free_tcp_port,
    http_json,
    http_request,
    start_door,
    wait_until,
    write_toml,
)
from test_services_http import CHROMIUM, chromium

PREFIX = "intercom/door"
NODE = "homeassistant/%s/intercom_door/%s/config"
TOKEN = "0123456789abcdef-test-token"


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


def two_button_door(folder, **extra):
    """A sim door whose buttons ring flat A (it answers) and flat B (nobody there)."""
    flat_port = free_port()
    flat_a = "sip:flata@127.0.0.1:%d" % flat_port
    flat_b = "sip:flatb@127.0.0.1:%d" % free_port()
    flat = Door(
        folder,
        str(
            write_toml(
                folder / "flat.toml",
                door_config(
                    "Flat A", "flata", flat_port, ["sip:x@127.0.0.1"], ["sip:door@127.0.0.1"]
                ),
            ).name
        ),
    )
    flat.wait_for("started")
    sections = door_config("Door", "door", free_port(), [flat_a, flat_b])
    sections["door"].update({"code": "1234", "tamper_blocks_open": True})
    sections["button"] = [
        {"id": 1, "label": "Flat A", "targets": [flat_a]},
        {"id": 2, "label": "Flat B", "targets": [flat_b]},
    ]
    sections.update(extra)
    return flat, sections, flat_a


def test_mqtt_doorbells_quiet_hours_door_and_tamper_survive_a_restart(tmp_path, running):
    broker = Mosquitto(tmp_path, users={"door": "door-secret", "ha": "ha-secret"})
    broker.start()
    running.append(broker)
    subscriber = Subscriber(broker.port, ["homeassistant/#", PREFIX + "/#"], "ha", "ha-secret")
    running.append(subscriber)
    mqtt = {"host": "127.0.0.1", "port": broker.port, "user": "door", "password": "door-secret"}
    flat, sections, flat_a = two_button_door(tmp_path, mqtt=mqtt)
    running.append(flat)
    door = start_door(tmp_path, sections)
    running.append(door)
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
    door = Door(tmp_path, "door.toml")
    running.append(door)
    door.wait_for("started", timeout=20)
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


def test_mqtt_without_broker_credentials_offers_no_tamper_reset(tmp_path, running):
    broker = Mosquitto(tmp_path)
    broker.start()
    running.append(broker)
    subscriber = Subscriber(broker.port, ["homeassistant/#", PREFIX + "/#"])
    running.append(subscriber)
    flat, sections, _ = two_button_door(tmp_path, mqtt={"host": "127.0.0.1", "port": broker.port})
    running.append(flat)
    door = start_door(tmp_path, sections)
    running.append(door)
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


def test_the_api_switches_quiet_hours_and_resets_the_tamper_alarm_with_the_token(tmp_path, running):
    port = free_tcp_port()
    http = {"listen": "127.0.0.1:%d" % port, "token": TOKEN}
    flat, sections, flat_a = two_button_door(tmp_path, http=http)
    running.append(flat)
    door = start_door(tmp_path, sections)
    running.append(door)
    right = {"Authorization": "Bearer " + TOKEN}
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "X"}
    status = http_json(port, "/api/status")
    assert status["quiet"] == {"active": False, "mode": "auto"}
    assert status["door"] == {"contact": "closed", "tamper_alarm": False}
    assert status["buttons"] == [{"id": 1, "label": "Flat A"}, {"id": 2, "label": "Flat B"}]
    assert http_request(port, "POST", "/api/quiet-mode", wrong, body=b"on")[0] == 401
    assert http_request(port, "POST", "/api/quiet-mode", body=b"on")[0] == 401
    assert http_request(port, "GET", "/api/quiet-mode", right)[0] == 405
    assert http_request(port, "POST", "/api/quiet-mode", right, body=b"loud")[0] == 400
    assert http_json(port, "/api/status")["quiet"]["mode"] == "auto"
    answer = http_request(port, "POST", "/api/quiet-mode", right, body=b"on\n")
    assert answer[0] == 200 and json.loads(answer[2]) == {"mode": "on"}
    door.wait_for("quiet_hours", mode="on", source="http")
    door.send("tamper")
    door.wait_for("tamper", state="triggered")
    assert http_request(port, "POST", "/api/tamper-reset", wrong)[0] == 401
    assert http_json(port, "/api/status")["door"]["tamper_alarm"] is True
    assert json.loads(http_request(port, "POST", "/api/tamper-reset", right)[2]) == {"reset": True}
    assert json.loads(http_request(port, "POST", "/api/tamper-reset", right)[2]) == {"reset": False}
    assert door.wait_for("tamper_reset")["source"] == "http"
    assert http_request(port, "POST", "/api/quiet-mode", right, body=b"off")[0] == 200
    door.send("press 1")
    door.wait_for("answered", target=flat_a)
    call = wait_until(
        lambda: (lambda s: s if s["state"] == "talking" else None)(http_json(port, "/api/status")),
        5,
        "talking",
    )["call"]
    assert call["button"] == {"id": 1, "label": "Flat A"}
    entries = http_json(port, "/api/log")["entries"]
    started = [entry for entry in entries if entry["event"] == "call_started"]
    assert started[-1]["button"] == 1
    door.send("quit")
    assert door.wait() == 0


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_chromium_shows_the_button_quiet_hours_door_and_tamper_states(tmp_path, running):
    port = free_tcp_port()
    http = {"listen": "127.0.0.1:%d" % port, "token": TOKEN}
    flat, sections, flat_a = two_button_door(tmp_path, http=http)
    running.append(flat)
    door = start_door(tmp_path, sections)
    running.append(door)
    url = "http://127.0.0.1:%d/" % port
    dom = chromium(url, tmp_path, "--dump-dom")
    assert '<td id="quiet">off (schedule)</td>' in dom
    assert '<td id="door">closed</td>' in dom
    assert '<td id="tamper">no</td>' in dom
    right = {"Authorization": "Bearer " + TOKEN}
    assert http_request(port, "POST", "/api/quiet-mode", right, body=b"off")[0] == 200
    door.send("sensor open")
    door.send("tamper")
    door.wait_for("tamper", state="triggered")
    door.send("press 1")
    door.wait_for("answered", target=flat_a)
    dom = chromium(url, tmp_path, "--dump-dom")
    assert '<td id="button">1: Flat A</td>' in dom
    assert '<td id="quiet">off (switched off)</td>' in dom
    assert '<td id="door">open</td>' in dom
    assert '<td id="tamper">yes</td>' in dom
    assert "door_forced" in dom and "button=1" in dom
    screenshot = tmp_path / "status-page.png"
    chromium(url, tmp_path, "--screenshot=%s" % screenshot)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    door.send("quit")
    assert door.wait() == 0
