# MQTT commands and the door's MQTT identity against a real Mosquitto, on
# both transports: paho (the CPython sim door) and our small MQTT client
# (the same sim door under the MicroPython unix port).
#
# A retained command/open or command/test_ring (left on the broker by
# anyone, once) reaches the door again at every connect; MQTT 3.1.1
# 3.3.1.3 marks it with the RETAIN flag. The door ignores those, says so
# with an error event, and still obeys a live command.

import pytest
from support.config import service_door_sections
from support.door import start_door
from support.mosquitto import Mosquitto, Subscriber, publish_retained

pytestmark = pytest.mark.integration

PREFIX = "intercom/door"
USERS = {"door": "door-secret", "ha": "ha-secret"}
INTERPRETERS = ("cpython", "micropython")


def door_sections(broker_port, **mqtt):
    """A door that logs in to the broker as user door, with these MQTT settings."""
    login = {"host": "127.0.0.1", "port": broker_port, "user": "door", "password": "door-secret"}
    return service_door_sections(mqtt=dict(login, **mqtt))


def start(owned, interpreter, folder, sections):
    folder.mkdir(exist_ok=True)
    return start_door(owned, folder, sections, micropython=interpreter == "micropython")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_retained_commands_are_ignored_and_a_live_open_still_opens(tmp_path, owned, interpreter):
    broker = owned(Mosquitto(tmp_path, users=USERS)).start()
    publish_retained(broker.port, PREFIX + "/command/open", "PRESS", "ha", "ha-secret")
    publish_retained(broker.port, PREFIX + "/command/test_ring", "PRESS", "ha", "ha-secret")
    subscriber = owned(Subscriber(broker.port, [PREFIX + "/#"], "ha", "ha-secret"))

    sections = door_sections(broker.port, allow_open=True)
    door = start(owned, interpreter, tmp_path / "door", sections)
    subscriber.wait_for(PREFIX + "/availability", "online", timeout=15)
    for command in ("command/open", "command/test_ring"):
        refused = door.wait_for("error", service="mqtt", topic=PREFIX + "/" + command)
        assert "retained" in refused["reason"]
    assert "door_opened" not in door.names()
    assert "button" not in door.names()

    # a live command (the broker clears RETAIN on it) is obeyed
    subscriber.publish(PREFIX + "/command/open", "PRESS")
    opened = door.wait_for("door_opened")
    assert opened["caller"] == "remote" and opened["source"] == "mqtt"
    subscriber.publish(PREFIX + "/command/test_ring", "PRESS")
    door.wait_for("button", state="pressed")
    assert door.names().count("door_opened") == 1
    door.send("quit")
    assert door.wait() == 0


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_client_id_is_the_devices_own_and_cannot_be_guessed_from_the_config(
    tmp_path, owned, interpreter
):
    """Same config in two folders (two devices): two client ids, each kept
    over a restart; connecting with the old fixed id kicks nobody off."""
    broker = owned(Mosquitto(tmp_path, users=USERS)).start()
    sections = door_sections(broker.port)
    ids = {}
    for device in ("first", "second", "first"):
        mark = broker.log_mark()
        door = start(owned, interpreter, tmp_path / device, sections)
        client_id = broker.wait_for_client("door", since=mark)
        ids.setdefault(device, client_id)
        assert ids[device] == client_id  # stable over a restart
        door.send("quit")
        assert door.wait() == 0
    assert ids["first"] != ids["second"]
    for client_id in ids.values():
        assert "intercom_door" not in client_id and len(client_id) <= 23

    # someone connecting with the id the door used to have kicks nobody off
    door = start(owned, interpreter, tmp_path / "first", sections)
    subscriber = owned(Subscriber(broker.port, [PREFIX + "/#"], "ha", "ha-secret"))
    subscriber.wait_for(PREFIX + "/availability", "online", timeout=15)
    intruder = owned(
        Subscriber(broker.port, [], "ha", "ha-secret", client_id="intercom-intercom_door")
    )
    mark = subscriber.mark()
    intruder.stop()
    door.send("quit")
    assert door.wait() == 0
    # the door was online until its own goodbye: no will, no reconnect
    assert subscriber.seen(PREFIX + "/availability", since=mark) == ["offline"]
    assert "unavailable" not in door.stderr()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_an_oversized_retained_message_keeps_nobody_offline(tmp_path, owned, interpreter):
    """A broker user leaves 4 KB on a command topic, retained: it reaches
    the door at every connect. The door drops it (the Pico client holds at
    most 1 KiB of a packet), says so, stays connected and obeys the next
    live command; it must not drop the connection and fetch it again for
    ever."""
    broker = owned(Mosquitto(tmp_path, users=USERS)).start()
    publish_retained(broker.port, PREFIX + "/command/quiet_mode", "x" * 4096, "ha", "ha-secret")
    subscriber = owned(Subscriber(broker.port, [PREFIX + "/#"], "ha", "ha-secret"))

    door = start(owned, interpreter, tmp_path / "door", door_sections(broker.port))
    subscriber.wait_for(PREFIX + "/availability", "online", timeout=15)
    door.wait_for("error", service="mqtt")
    subscriber.wait_for(PREFIX + "/state/quiet_mode", "auto")
    subscriber.publish(PREFIX + "/command/quiet_mode", "on")
    subscriber.wait_for(PREFIX + "/state/quiet_mode", "on")
    door.send("quit")
    assert door.wait() == 0
    # one session from start to the door's own goodbye: no reconnect
    assert subscriber.seen(PREFIX + "/availability") == ["online", "offline"]
    assert "unavailable" not in door.stderr()
