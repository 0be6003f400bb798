# What the door says over MQTT, for boards.services.mqtt_session (whichever
# transport carries it): topic names, Home Assistant discovery configs and
# the messages of an event. Portable (CPython and MicroPython),
# no I/O. The topic list is in boards/services/mqtt_session.py's header.
#
#   node_id(prefix)                         "intercom/door" -> "intercom_door"
#   topic(prefix, name)                     "<prefix>/<name>"
#   doorbell_topic(button_id)               "doorbell" for button 1, else
#                                           "doorbell/<id>"
#   has_input(config, name)                 the door has that input (its
#                                           [gpio] pin is set; the sim board
#                                           has them all)
#   discovery(prefix, config) -> [(topic, config dict)]
#   event_messages(prefix, event) -> [(topic, payload text, retain)]
#
# A pressed `button` event becomes a Home Assistant event of its button's
# entity: {"event_type": "press"} for a press that rings ("quiet": true
# added in quiet hours), {"event_type": "repeat", "repeat": n} for a press
# during a call or its cooldown.
#
# Events come masked from the station (intercom.events: no DTMF digits).

import json

DISCOVERY_PREFIX = "homeassistant"
NODE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def node_id(prefix):
    """a-z 0-9 and "_" only (MicroPython's str has no isalnum; Home Assistant
    ids allow no more)."""
    return "".join(char if char in NODE_CHARS else "_" for char in prefix.strip("/").lower())


def topic(prefix, name):
    return "%s/%s" % (prefix, name)


def doorbell_topic(button_id):
    return "doorbell" if button_id == 1 else "doorbell/%d" % button_id


def has_input(config, name):
    return config["gpio"][name] is not None or config["device"]["board"] == "sim"


def event_messages(prefix, event):
    messages = [(topic(prefix, "event/" + event["event"]), json.dumps(event), False)]
    if event["event"] == "button" and event.get("state") == "pressed":
        if event.get("repeat"):
            payload = {"event_type": "repeat", "repeat": event["repeat"]}
        else:
            payload = {"event_type": "press", "quiet": True}
            if not event.get("quiet"):
                del payload["quiet"]
        name = doorbell_topic(event.get("button", 1))
        messages.append((topic(prefix, name), json.dumps(payload), False))
    return messages


def _doorbell_title(button, device_name, several):
    if button["label"] != device_name:
        return button["label"]
    return "Doorbell %d" % button["id"] if several else "Doorbell"


def tamper_reset_allowed(config):
    """A tamper switch, and broker credentials: a reset re-enables the code."""
    mqtt = config["mqtt"]
    return has_input(config, "tamper") and bool(mqtt["user"] and mqtt["password"])


def discovery(prefix, config):
    node = node_id(prefix)
    device_name = config["device"]["name"]
    device = {
        "identifiers": [node],
        "name": device_name,
        "manufacturer": "intercom",
        "model": "SIP door station",
    }
    availability = topic(prefix, "availability")

    def entity(component, name, title, fields):
        config = {
            "name": title,
            "unique_id": "%s_%s" % (node, name),
            "object_id": "%s_%s" % (node, name),
            "availability_topic": availability,
            "device": device,
        }
        config.update(fields)
        return ("%s/%s/%s/%s/config" % (DISCOVERY_PREFIX, component, node, name), config)

    def state(name, **fields):
        fields["state_topic"] = topic(prefix, "state/" + name)
        return fields

    def command(name):
        return {"command_topic": topic(prefix, "command/" + name)}

    buttons = config["button"]
    entities = []
    for button in buttons:
        name = doorbell_topic(button["id"])
        fields = {
            "state_topic": topic(prefix, name),
            "event_types": ["press", "repeat"],
            "device_class": "doorbell",
        }
        title = _doorbell_title(button, device_name, len(buttons) > 1)
        entities.append(entity("event", name.replace("/", "_"), title, fields))
    mode = state("quiet_mode", options=["auto", "on", "off"])
    mode.update(command("quiet_mode"))
    entities += [
        entity("sensor", "call_state", "Call state", state("call")),
        entity(
            "binary_sensor",
            "registered",
            "SIP registration",
            state("registered", device_class="connectivity"),
        ),
        entity(
            "binary_sensor", "lockout", "Code lockout", state("lockout", device_class="problem")
        ),
        entity("button", "test_ring", "Test ring", command("test_ring")),
        entity("binary_sensor", "quiet", "Quiet hours", state("quiet")),
        entity("select", "quiet_mode", "Quiet hours mode", mode),
    ]
    if has_input(config, "door_contact"):
        door = state("door", device_class="door", payload_on="open", payload_off="closed")
        entities.append(entity("binary_sensor", "door", "Door", door))
    if has_input(config, "tamper"):
        tamper = state("tamper", device_class="tamper")
        entities.append(entity("binary_sensor", "tamper", "Tamper alarm", tamper))
    if tamper_reset_allowed(config):
        reset = command("tamper_reset")
        entities.append(entity("button", "tamper_reset", "Reset tamper alarm", reset))
    if config["mqtt"]["allow_open"]:
        entities.append(entity("button", "open_door", "Open door", command("open")))
    return entities
