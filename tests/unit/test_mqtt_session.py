# boards/services/mqtt_session.py on both interpreters: the session's own
# rules (back-off, one error event per outage, the bounded queue, states
# again on each connect, retained commands ignored) over a recording
# transport, on a virtual clock. The real transports meet Mosquitto in
# tests/integration/mosquitto.

import binascii
import json
import os

from boards.services import mqtt_session
from boards.services.mqtt_session import MqttSession


class VirtualLoop:
    """The timer half of boards.runtime.loop.Loop on a clock the test moves."""

    def __init__(self):
        self.clock = self
        self.now = 0
        self.timers = []  # [deadline, period, callback, cancelled]

    def now_ms(self):
        return self.now

    def call_later(self, delay_ms, callback):
        return self._add(self.now + delay_ms, 0, callback)

    def call_every(self, period_ms, callback):
        return self._add(self.now + period_ms, period_ms, callback)

    def _add(self, deadline, period, callback):
        timer = Timer([deadline, period, callback])
        self.timers.append(timer)
        return timer

    def advance(self, ms):
        end = self.now + ms
        while True:
            due = [t for t in self.timers if not t.cancelled and t.entry[0] <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.entry[0])
            self.now = timer.entry[0]
            if timer.entry[1]:
                timer.entry[0] += timer.entry[1]
            else:
                timer.cancelled = True
            timer.entry[2]()
        self.now = end


class Timer:
    def __init__(self, entry):
        self.entry = entry
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class RecordingTransport:
    """The transport contract, recording; the test plays the broker."""

    made = []

    def __init__(self, loop, settings, client_id, will_topic, session):
        self.session = session
        self.client_id = client_id
        self.will_topic = will_topic
        self.published = []
        self.subscribed = []
        self.closed = None
        self.busy = False
        RecordingTransport.made.append(self)

    def open(self, address):
        self.address = address

    def subscribe(self, topics):
        self.subscribed += topics

    def idle(self):
        return not self.busy

    def publish(self, topic, payload, retain):
        self.published.append((topic, payload, retain))

    def write(self):
        return True

    def tick(self):
        pass

    def close(self, goodbye):
        self.closed = ("close", goodbye)

    def drop(self):
        self.closed = ("drop", None)


class Station:
    state = "idle"
    registered = False
    locked = False
    tamper_alarm = False
    active = False  # quiet hours
    mode = "auto"

    def __init__(self):
        self.doorbell = self
        self.policy = self
        self.quiet_hours = self
        self.door_contact = Contact()

    def is_locked(self):
        return self.locked


class Contact:
    state = "unknown"


class Runtime:
    def __init__(self, folder, allow_open=True):
        self.service_loop = VirtualLoop()
        self.station = Station()
        self.config = {
            "device": {"name": "Door", "board": "pico_w"},
            "sip": {"register": False},
            "door": {"state_file": folder + "/door_state.json"},
            "gpio": {"door_contact": None, "tamper": None},
            "button": [{"id": 1, "label": "Door"}],
            "mqtt": {
                "host": "127.0.0.1",
                "port": 1883,
                "user": None,
                "password": None,
                "prefix": "intercom/door",
                "allow_open": allow_open,
                "tls": False,
            },
        }
        self.events = []
        self.actions = []

    def now_ms(self):
        return self.service_loop.now

    def test_ring(self):
        self.actions.append("test_ring")

    def remote_open(self, source):
        self.actions.append("open " + source)
        return True

    def set_quiet_mode(self, mode, source):
        self.actions.append("quiet %s %s" % (mode, source))
        return mode in ("auto", "on", "off")

    def reset_tamper(self, source):
        self.actions.append("tamper_reset " + source)
        return True


def scratch_folder():
    """A new folder for the door state (the client id file goes there)."""
    folder = "/tmp/intercom-mqtt-" + binascii.hexlify(os.urandom(6)).decode()
    os.mkdir(folder)
    return folder


def started(allow_open=True):
    RecordingTransport.made = []
    folder = scratch_folder()
    runtime = Runtime(folder, allow_open)
    session = MqttSession(runtime, lambda text: None, RecordingTransport, runtime.events.append)
    session.attach()
    return runtime, session


def attempts_at(runtime, until_ms):
    """ms of each connection attempt (a transport made) up to until_ms."""
    times = []
    while runtime.service_loop.now < until_ms:
        count = len(RecordingTransport.made)
        runtime.service_loop.advance(100)
        if len(RecordingTransport.made) > count:
            times.append(runtime.service_loop.now)
            RecordingTransport.made[-1].session.lost("refused")
    return times


def test_attempts_back_off_from_one_second_to_a_minute_with_one_error_event():
    runtime, session = started()
    times = attempts_at(runtime, 400000)
    gaps = [times[index + 1] - times[index] for index in range(len(times) - 1)]
    assert gaps[:7] == [1000, 2000, 4000, 8000, 16000, 32000, 60000]
    assert set(gaps[6:]) == {60000}
    errors = [e for e in runtime.events if e["event"] == "error"]
    assert len(errors) == 1 and errors[0]["service"] == "mqtt"
    assert "127.0.0.1:1883" in errors[0]["reason"]
    session.close()


def test_the_client_id_is_drawn_once_per_device_and_kept():
    first = scratch_folder()
    second = scratch_folder()
    made = mqtt_session.client_id(first + "/door_state.json", print)
    assert made == mqtt_session.client_id(first + "/door_state.json", print)
    assert made != mqtt_session.client_id(second + "/door_state.json", print)
    assert made.startswith("intercom") and len(made) == 20
    with open(first + "/mqtt_client_id") as kept:
        assert kept.read() == made


def test_online_subscribes_publishes_discovery_and_states_and_resets_the_back_off():
    runtime, session = started()
    runtime.service_loop.advance(100)
    transport = RecordingTransport.made[-1]
    transport.session.online()
    assert transport.subscribed == [
        "intercom/door/command/open",
        "intercom/door/command/quiet_mode",
        "intercom/door/command/test_ring",
    ]
    topics = [topic for topic, _, retain in transport.published if retain]
    assert topics[0] == "intercom/door/availability"
    assert "homeassistant/button/intercom_door/open_door/config" in topics
    assert topics[-5:] == [
        "intercom/door/state/call",
        "intercom/door/state/lockout",
        "intercom/door/state/quiet",
        "intercom/door/state/quiet_mode",
        "intercom/door/state/registered",
    ]
    # lost after being online: a new outage, a new error event, 1 s again
    session.lost("closed by the broker")
    assert session.stats["disconnects"] == 1
    count = len(RecordingTransport.made)
    runtime.service_loop.advance(1000)
    assert len(RecordingTransport.made) == count + 1
    assert [e["event"] for e in runtime.events] == ["error"]
    session.close()


def test_no_connack_within_the_timeout_is_a_failed_attempt():
    runtime, session = started()
    runtime.service_loop.advance(100)
    transport = RecordingTransport.made[-1]
    runtime.service_loop.advance(mqtt_session.CONNECT_TIMEOUT_MS)
    assert transport.closed == ("drop", None)
    assert "CONNACK" in runtime.events[0]["reason"]
    session.close()


def test_the_queue_is_bounded_and_events_wait_for_a_drained_transport():
    runtime, session = started()
    runtime.service_loop.advance(100)
    transport = RecordingTransport.made[-1]
    transport.busy = True  # a slow broker: nothing more goes out
    session.online()
    for index in range(mqtt_session.QUEUE_LIMIT + 10):
        session.on_event({"ts_ms": index, "event": "button", "state": "released"})
    assert len(session._queue) == mqtt_session.QUEUE_LIMIT
    assert session.stats["dropped"] >= 10
    transport.busy = False
    runtime.service_loop.advance(mqtt_session.WRITE_RETRY_MS)
    assert session._queue == []
    last = transport.published[-1]
    assert last[0] == "intercom/door/event/button" and '"ts_ms": 33' in last[1]
    session.close()
    assert transport.closed == ("close", ("intercom/door/availability", "offline"))


def test_retained_commands_are_ignored_live_ones_act():
    runtime, session = started()
    runtime.service_loop.advance(100)
    session.online()
    session.message("intercom/door/command/open", b"PRESS", True)
    session.message("intercom/door/command/test_ring", b"PRESS", True)
    assert runtime.actions == []
    assert session.stats["retained_ignored"] == 2
    topics = [e["topic"] for e in runtime.events if e["event"] == "error"]
    assert topics == ["intercom/door/command/open", "intercom/door/command/test_ring"]
    session.message("intercom/door/command/open", b"PRESS", False)
    session.message("intercom/door/command/test_ring", b"PRESS", False)
    session.message("intercom/door/state/call", b"idle", False)  # not a command
    assert runtime.actions == ["open mqtt", "test_ring"]
    session.close()


def test_open_is_no_command_without_allow_open():
    runtime, session = started(allow_open=False)
    runtime.service_loop.advance(100)
    session.online()
    assert RecordingTransport.made[-1].subscribed == [
        "intercom/door/command/quiet_mode",
        "intercom/door/command/test_ring",
    ]
    session.message("intercom/door/command/open", b"PRESS", False)
    assert runtime.actions == []
    session.close()


def discovered(session, transport):
    """{object id: config} of the discovery messages published so far."""
    found = {}
    for topic, payload, retain in transport.published:
        if topic.startswith("homeassistant/") and retain:
            found[topic.split("/")[3]] = json.loads(payload)
    return found


def test_every_button_is_its_own_doorbell_entity_and_topic():
    runtime, session = started()
    runtime.config["button"] = [
        {"id": 1, "label": "Door"},
        {"id": 2, "label": "Flat 2"},
        {"id": 3, "label": "Door"},
    ]
    runtime.service_loop.advance(100)
    transport = RecordingTransport.made[-1]
    session.online()
    runtime.service_loop.advance(100)
    entities = discovered(session, transport)
    assert entities["doorbell"]["state_topic"] == "intercom/door/doorbell"
    assert entities["doorbell"]["name"] == "Doorbell 1"
    assert entities["doorbell_2"]["state_topic"] == "intercom/door/doorbell/2"
    assert entities["doorbell_2"]["name"] == "Flat 2"
    assert entities["doorbell_3"]["name"] == "Doorbell 3"
    assert entities["doorbell_2"]["event_types"] == ["press", "repeat"]
    assert entities["quiet_mode"]["options"] == ["auto", "on", "off"]
    assert "door" not in entities and "tamper" not in entities  # no such inputs
    count = len(transport.published)
    for event in (
        {"ts_ms": 1, "event": "button", "state": "pressed", "button": 2, "repeat": 0},
        {"ts_ms": 2, "event": "button", "state": "pressed", "button": 2, "repeat": 1},
        {"ts_ms": 3, "event": "button", "state": "pressed", "button": 3, "quiet": True},
        {"ts_ms": 4, "event": "button", "state": "released", "button": 2},
    ):
        session.on_event(event)
    runtime.service_loop.advance(100)
    bells = [(t, json.loads(p)) for t, p, _ in transport.published[count:] if "/doorbell" in t]
    assert bells == [
        ("intercom/door/doorbell/2", {"event_type": "press"}),
        ("intercom/door/doorbell/2", {"event_type": "repeat", "repeat": 1}),
        ("intercom/door/doorbell/3", {"event_type": "press", "quiet": True}),
    ]
    session.close()


def test_quiet_mode_and_tamper_reset_commands_and_their_states():
    runtime, session = started()
    runtime.config["gpio"] = {"door_contact": 5, "tamper": 6}
    runtime.config["mqtt"]["user"] = "door"
    runtime.config["mqtt"]["password"] = "secret"
    session.close()
    session = MqttSession(runtime, lambda text: None, RecordingTransport, runtime.events.append)
    session.attach()
    runtime.service_loop.advance(100)
    transport = RecordingTransport.made[-1]
    session.online()
    runtime.service_loop.advance(100)
    assert "intercom/door/command/tamper_reset" in transport.subscribed
    entities = discovered(session, transport)
    assert entities["door"]["device_class"] == "door"
    assert entities["tamper"]["device_class"] == "tamper" and "tamper_reset" in entities
    session.message("intercom/door/command/quiet_mode", b" On\n", False)
    session.message("intercom/door/command/quiet_mode", b"\xff", False)
    session.message("intercom/door/command/quiet_mode", b"sometimes", False)
    session.message("intercom/door/command/tamper_reset", b"", False)
    assert runtime.actions == ["quiet on mqtt", "quiet sometimes mqtt", "tamper_reset mqtt"]
    errors = [e for e in runtime.events if e["event"] == "error"]
    assert [e["topic"] for e in errors] == ["intercom/door/command/quiet_mode"] * 2
    station = runtime.station
    station.active, station.mode, station.tamper_alarm = True, "on", True
    station.door_contact.state = "open"
    count = len(transport.published)
    runtime.service_loop.advance(mqtt_session.STATE_POLL_MS)
    states = {t: p for t, p, retain in transport.published[count:] if retain}
    assert states == {
        "intercom/door/state/quiet": "ON",
        "intercom/door/state/quiet_mode": "on",
        "intercom/door/state/door": "open",
        "intercom/door/state/tamper": "ON",
    }
    session.close()
