# The whole door with several buttons, the door contact, the exit button,
# the tamper switch, quiet hours and the outputs: a door Station against a
# flat phone Station (station_harness.Pair) or against a bare SIP agent
# that rings and never answers (RingingFlat), bytes on the wire checked.
# Runs under pytest and under the MicroPython runner.

from intercom.app.station import Station
from intercom.config import validate
from intercom.sip.agent import Agent
from intercom.sip.message import parse_message
from sip_harness import agent_settings, udp
from station_harness import (
    DOOR_RTP,
    DOOR_SIP,
    FLAT_SIP,
    Pair,
    counter_random,
    energy,
    flat_config,
)

FLAT1 = "sip:flat1@127.0.0.1:%d" % FLAT_SIP[1]
FLAT2 = "sip:flat2@127.0.0.1:%d" % FLAT_SIP[1]
RING = "<http://127.0.0.1/Bellcore-dr2>"


def door_config(buttons=None, schedule=None, door=None, chime=None, call=None):
    raw = {
        "device": {"name": "Front door", "board": "sim"},
        "sip": {"user": "door", "local_port": DOOR_SIP[1]},
        "call": {"targets": [FLAT1], "ring_timeout": 10, "max_duration": 60},
        "door": {"code": "1234", "pulse": 3, "hangup_after_open": 2},
        "audio": {"input": "silence", "output": "null"},
    }
    for section, table in (("door", door), ("chime", chime), ("call", call)):
        if table:
            raw.setdefault(section, {}).update(table)
    if buttons is not None:
        raw["button"] = buttons
    if schedule is not None:
        raw["schedule"] = schedule
    return validate(raw, "door.toml")


TWO_FLATS = [
    {"id": 1, "targets": [FLAT1], "label": "Flat 1", "code": "1111", "open_from": [FLAT1]},
    {
        "id": 2,
        "targets": [FLAT2],
        "label": "Flat 2",
        "alert_info": RING,
        "code": "2222",
        "open_from": [FLAT2],
    },
]


class RingingFlat:
    """A door Station against a bare SIP agent: it rings (180) and never
    answers; every datagram the door sends is kept, parsed."""

    def __init__(self, config):
        self.now = 1000
        random_bytes = counter_random()
        self.door = Station(config, random_bytes, self.now, "127.0.0.1", DOOR_SIP[1], DOOR_RTP)
        door_uri = "sip:door@%s:%d" % DOOR_SIP
        settings = agent_settings("flat1", FLAT_SIP, trusted=(DOOR_SIP[0],), targets=(door_uri,))
        self.flat = Agent(settings, random_bytes)
        self.sent = []  # messages the door sent
        self.events = []
        self.door.start(self.now)
        self.route()

    def route(self):
        moved = True
        while moved:
            moved = False
            for data, _ in self.door.sip_datagrams(self.now):
                moved = True
                self.sent.append(parse_message(bytes(data)))
                self.flat.receive_datagram(bytes(data), udp(DOOR_SIP), self.now)
            for data, _ in self.flat.datagrams_to_send(self.now):
                moved = True
                self.door.receive_sip(bytes(data), udp(FLAT_SIP), self.now)
            while self.flat.next_event() is not None:
                moved = True
            event = self.door.next_event()
            while event is not None:
                self.events.append(event)
                event = self.door.next_event()

    def later(self, ms):
        self.now += ms
        self.door.handle_timer(self.now, 0)
        self.flat.handle_timer(self.now)
        self.route()

    def requests(self, method):
        return [m for m in self.sent if getattr(m, "method", None) == method]

    def named(self, name):
        return [event for event in self.events if event["event"] == name]


def test_a_second_button_calls_its_flat_as_itself_with_its_alert_info():
    rig = RingingFlat(door_config(TWO_FLATS))
    rig.door.button(True, rig.now, 2)
    rig.route()
    (invite,) = rig.requests("INVITE")
    assert invite.uri == FLAT2
    assert invite.headers.get("From").startswith('"Flat 2" <sip:door@')
    assert invite.headers.get("Alert-Info") == RING
    (pressed,) = rig.named("button")
    assert (pressed["button"], pressed["repeat"], pressed["quiet"]) == (2, 0, False)
    assert rig.named("call_started")[0]["button"] == 2
    rig.door.hangup(rig.now)
    rig.route()
    rig.door.button(True, rig.now, 1)
    rig.route()
    first = rig.requests("INVITE")[-1]
    assert first.headers.get("From").startswith('"Flat 1" <') and first.uri == FLAT1
    assert first.headers.get("Alert-Info") is None


def test_call_alert_info_is_off_by_default_and_else_on_every_button_without_its_own():
    rig = RingingFlat(door_config())
    rig.door.button(True, rig.now)
    rig.route()
    assert rig.requests("INVITE")[0].headers.get("Alert-Info") is None
    rig = RingingFlat(
        door_config(TWO_FLATS, call={"alert_info": "<http://127.0.0.1/Bellcore-dr4>"})
    )
    rig.door.button(True, rig.now, 1)
    rig.route()
    assert rig.requests("INVITE")[0].headers.get("Alert-Info") == "<http://127.0.0.1/Bellcore-dr4>"
    rig.door.hangup(rig.now)
    rig.route()
    rig.door.button(True, rig.now, 2)
    rig.route()
    assert rig.requests("INVITE")[-1].headers.get("Alert-Info") == RING  # its own


def test_a_button_without_a_label_calls_as_the_device():
    rig = RingingFlat(door_config())
    rig.door.button(True, rig.now)
    rig.route()
    assert rig.requests("INVITE")[0].headers.get("From").startswith('"Front door" <')


def test_presses_while_it_rings_are_repeats_and_place_no_second_call():
    rig = RingingFlat(door_config(TWO_FLATS))
    rig.door.button(True, rig.now, 1)
    rig.route()
    for _ in range(3):
        rig.later(100)
        rig.door.button(True, rig.now, 2)
        rig.route()
    assert len(rig.requests("INVITE")) == 1
    assert [(e["button"], e["repeat"]) for e in rig.named("button")] == [
        (1, 0),
        (2, 1),
        (2, 2),
        (2, 3),
    ]
    assert rig.door.stats(rig.now)["ignored_presses"] == 3


def test_the_door_contact_opening_cancels_the_ringing_call():
    rig = RingingFlat(door_config(door={"open_too_long": 60}))
    rig.door.input("door_contact", False, rig.now)  # shut at boot
    rig.door.button(True, rig.now)
    rig.route()
    rig.later(500)
    assert rig.door.state == "calling"
    rig.door.input("door_contact", True, rig.now)  # a resident opened it with a key
    rig.route()
    assert len(rig.requests("CANCEL")) == 1
    assert rig.door.state == "idle"
    assert rig.named("call_ended") == [
        {
            "ts_ms": rig.now,
            "event": "call_ended",
            "reason": "door_opened",
            "duration_ms": 0,
            "detail": None,
            "sip_code": None,
            "media": None,
        }
    ]
    assert [e["event"] for e in rig.events if e["event"].startswith("door_")] == [
        "door_contact",
        "door_forced",
    ]


def test_the_exit_button_opens_locally_and_cancels_the_ringing_call():
    rig = RingingFlat(door_config())
    rig.door.button(True, rig.now)
    rig.route()
    rig.later(500)
    rig.door.input("exit_button", True, rig.now)
    rig.route()
    assert rig.door.relay_on and len(rig.requests("CANCEL")) == 1
    assert rig.named("exit_button") and rig.named("door_opened")[0]["source"] == "exit_button"
    assert rig.named("call_ended")[0]["reason"] == "door_opened"
    # the door opens right after the relay: not forced
    rig.door.input("door_contact", False, rig.now)
    rig.later(100)
    rig.door.input("door_contact", True, rig.now)
    rig.route()
    assert rig.named("door_forced") == []
    assert len(rig.requests("INVITE")) == 1  # no SIP for the exit button itself


def test_a_press_in_quiet_hours_rings_the_quiet_targets_and_no_chime():
    night = [{"days": ["mon"], "start": "22:00", "end": "07:00", "targets": [FLAT2]}]
    config = door_config(TWO_FLATS, schedule=night, chime={"tone": True})
    rig = RingingFlat(config)
    rig.door.set_local_time((0, 23 * 60), rig.now)
    rig.route()
    assert rig.named("quiet_hours")[0]["active"] is True
    rig.door.button(True, rig.now, 1)
    rig.route()
    assert rig.requests("INVITE")[0].uri == FLAT2
    assert rig.named("button")[0]["quiet"] is True
    assert not rig.door.output("chime") and rig.door.doorbell.tone != "chime"


def test_quiet_hours_without_targets_ring_nobody_but_the_press_is_an_event():
    quiet = [{"days": ["mon"], "start": "00:00", "end": "24:00"}]
    rig = RingingFlat(door_config(schedule=quiet))
    rig.door.set_local_time((0, 600), rig.now)
    rig.door.button(True, rig.now)
    rig.route()
    assert rig.requests("INVITE") == [] and rig.door.state == "idle"
    assert rig.named("button")[0]["quiet"] is True


def test_the_quiet_mode_switch_is_saved_in_the_door_state():
    rig = RingingFlat(door_config())
    assert rig.door.door_state_to_save(rig.now) is None
    assert rig.door.set_quiet_mode("on", "mqtt", rig.now)
    rig.route()
    state = rig.door.door_state_to_save(rig.now)
    assert state["quiet_mode"] == "on" and state["version"] == 3
    assert rig.door.door_state_to_save(rig.now) is None
    assert not rig.door.set_quiet_mode("loud", "mqtt", rig.now)
    restarted = Station(
        door_config(), counter_random(), 0, "127.0.0.1", DOOR_SIP[1], DOOR_RTP, state
    )
    assert restarted.quiet_hours.mode == "on"
    restarted.button(True, 0)
    assert restarted.state == "idle"  # quiet, no entry names targets: nobody rings


def test_the_chime_output_pulses_on_a_press_and_the_tone_plays_on_the_speaker():
    rig = RingingFlat(door_config(chime={"tone": True, "pulse_ms": 800}))
    rig.door.button(True, rig.now)
    rig.route()
    assert rig.door.output("chime")
    loud = energy(rig.door.audio_frame(bytearray(320), rig.now))
    assert loud > 1000000
    rig.later(800)
    assert not rig.door.output("chime")


def test_the_call_state_outputs_follow_the_call_and_the_relay():
    pair = Pair(door_cfg=door_config(door={"code": "1234"}))
    door = pair.door
    assert [door.output(name) for name in ("calling", "talking", "door_open")] == [
        False,
        False,
        False,
    ]
    door.button(True, pair.now)
    assert door.output("calling") and not door.output("talking")
    pair.route()
    pair.run(500)
    assert door.output("talking") and not door.output("calling")
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert door.output("door_open") and door.relay_on


def test_each_button_s_code_opens_only_its_own_flat_s_call():
    pair = Pair(door_cfg=door_config(TWO_FLATS), flat_cfg=flat_config())
    pair.door.button(True, pair.now, 2)
    pair.route()
    pair.run(500)
    assert pair.door.state == "talking"
    pair.flat.media.send_digits("1111")  # flat 1's code in flat 2's call
    pair.run(1500)
    assert not pair.door.relay_on
    assert pair.first("door", "code_rejected")["reason"] == "wrong_code"
    pair.flat.media.send_digits("2222")
    pair.run(1500)
    assert pair.door.relay_on


def test_a_tamper_alarm_refuses_the_code_until_reset():
    config = door_config(door={"tamper_blocks_open": True})
    pair = Pair(door_cfg=config)
    pair.door.input("tamper", True, pair.now)
    pair.route()
    assert pair.first("door", "tamper")["state"] == "triggered"
    pair.press(pair.door, 500)
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert not pair.door.relay_on
    assert pair.first("door", "code_rejected")["reason"] == "tamper"
    assert pair.door.reset_tamper("http", pair.now)
    pair.route()
    assert pair.first("door", "tamper_reset")["source"] == "http"
    pair.run(6000)  # the entry timed out
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.relay_on


def test_an_unknown_input_or_button_is_our_error_and_ends_nothing_else():
    rig = RingingFlat(door_config())
    rig.door.input("doorbell", True, rig.now)
    rig.door.button(True, rig.now, 7)
    rig.route()
    assert rig.door.internal_errors == 2 and rig.requests("INVITE") == []


def test_a_label_with_umlauts_goes_out_as_utf_8():
    buttons = [{"id": 1, "targets": [FLAT1], "label": "Müller"}]
    rig = RingingFlat(door_config(buttons))
    rig.door.button(True, rig.now)
    rig.route()
    assert rig.requests("INVITE")[0].headers.get("From").startswith('"Müller" <sip:door@')
    assert rig.door.state == "calling" and rig.door.internal_errors == 0
