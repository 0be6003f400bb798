# What the door says over MQTT, for boards.services.mqtt_session (whichever
# transport carries it): topic names, Home Assistant discovery configs and
# the messages of an event. Portable (CPython and MicroPython),
# no I/O. The topic list is in boards/services/mqtt_session.py's header.
#
#   node_id(prefix)                         "intercom/door" -> "intercom_door"
#   topic(prefix, name)                     "<prefix>/<name>"
#   discovery(prefix, device_name, allow_open) -> [(topic, config dict)]
#   event_messages(prefix, event) -> [(topic, payload text, retain)]
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


def event_messages(prefix, event):
    messages = [(topic(prefix, "event/" + event["event"]), json.dumps(event), False)]
    if event["event"] == "button" and event.get("state") == "pressed":
        messages.append((topic(prefix, "doorbell"), json.dumps({"event_type": "press"}), False))
    return messages


def discovery(prefix, device_name, allow_open):
    node = node_id(prefix)
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

    entities = [
        entity(
            "event",
            "doorbell",
            "Doorbell",
            {
                "state_topic": topic(prefix, "doorbell"),
                "event_types": ["press"],
                "device_class": "doorbell",
            },
        ),
        entity("sensor", "call_state", "Call state", {"state_topic": topic(prefix, "state/call")}),
        entity(
            "binary_sensor",
            "registered",
            "SIP registration",
            {"state_topic": topic(prefix, "state/registered"), "device_class": "connectivity"},
        ),
        entity(
            "binary_sensor",
            "lockout",
            "Code lockout",
            {"state_topic": topic(prefix, "state/lockout"), "device_class": "problem"},
        ),
        entity(
            "button",
            "test_ring",
            "Test ring",
            {"command_topic": topic(prefix, "command/test_ring")},
        ),
    ]
    if allow_open:
        entities.append(
            entity(
                "button",
                "open_door",
                "Open door",
                {"command_topic": topic(prefix, "command/open")},
            )
        )
    return entities
