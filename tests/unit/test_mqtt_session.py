# boards/services/mqtt_session.py on both interpreters: the session's own
# rules (back-off, one error event per outage, the bounded queue, states
# again on each connect, retained commands ignored) over a recording
# transport, on a virtual clock. The real transports meet Mosquitto in
# tests/services and tests/mqtt_pico.

import binascii
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

    def __init__(self):
        self.doorbell = self
        self.policy = self

    def is_locked(self):
        return self.locked


class Runtime:
    def __init__(self, folder, allow_open=True):
        self.service_loop = VirtualLoop()
        self.station = Station()
        self.config = {
            "device": {"name": "Door"},
            "sip": {"register": False},
            "door": {"state_file": folder + "/door_state.json"},
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
    assert transport.subscribed == ["intercom/door/command/open", "intercom/door/command/test_ring"]
    topics = [topic for topic, _, retain in transport.published if retain]
    assert topics[0] == "intercom/door/availability"
    assert "homeassistant/button/intercom_door/open_door/config" in topics
    assert topics[-3:] == [
        "intercom/door/state/call",
        "intercom/door/state/lockout",
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
    assert RecordingTransport.made[-1].subscribed == ["intercom/door/command/test_ring"]
    session.message("intercom/door/command/open", b"PRESS", False)
    assert runtime.actions == []
    session.close()
