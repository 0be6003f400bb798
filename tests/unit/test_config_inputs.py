# Config of the door's inputs and outputs: [[button]], [[schedule]], [time],
# [chime] and the optional [gpio] pins; each problem names the key. Runs
# under pytest and under the MicroPython runner.

from intercom import config
from intercom.pins import DEFAULT_PINS, INPUTS, OUTPUTS
from test_config import has_problem, problems_of, with_sections

NIGHT = {"days": ["fri", "sat"], "start": "22:00", "end": "07:00"}


def test_without_buttons_button_1_is_gpio_button_calling_call_targets():
    effective = config.validate(with_sections(call={"targets": ["flat1", "flat2"]}))
    (button,) = effective["button"]
    assert button["id"] == 1 and button["pin"] == effective["gpio"]["button"]
    assert button["targets"] == ["flat1", "flat2"] and button["mode"] == "sequential"
    assert button["label"] == "Door" and button["alert_info"] is None
    assert button["code"] is None and button["open_from"] == ["flat1", "flat2"]
    assert effective["schedule"] == [] and effective["time"]["zone"] is None
    assert effective["chime"] == {"tone": False, "pulse_ms": 1000, "on_repeat": False}
    assert effective["call"]["cooldown"] == 0
    assert effective["door"]["open_too_long"] == 120
    for name in INPUTS + OUTPUTS:
        assert effective["gpio"][name] is None


def test_buttons_take_the_pin_map_s_pins_and_their_own_targets():
    effective = config.validate(
        with_sections(
            device={"board": "rpi", "name": "House"},
            door={"code": "4711"},
            button=[
                {"id": 1, "label": "Flat 1"},
                {"id": 2, "targets": ["flat2"], "mode": "parallel", "code": "2a2a"},
                {"id": 3, "bell": "**9", "alert_info": "<http://127.0.0.1/Bellcore-dr3>"},
            ],
        )
    )
    first, second, third = effective["button"]
    assert first["pin"] == DEFAULT_PINS["rpi"]["button"] and first["targets"] == ["flat1"]
    assert second["pin"] == DEFAULT_PINS["rpi"]["button2"] and second["mode"] == "parallel"
    assert second["code"] == "2A2A" and second["label"] == "House"
    assert third["pin"] == DEFAULT_PINS["rpi"]["button3"] and third["targets"] == ["**9"]
    assert first["code"] == third["code"] == "4711"
    assert config.validate(effective) == effective  # the effective config validates to itself


def test_call_targets_may_come_from_the_buttons_alone():
    effective = config.validate(
        {
            "sip": {"server": "192.168.178.1"},
            "button": [{"id": 1, "bell": "11"}, {"id": 2, "targets": ["flat2", "11"]}],
        }
    )
    assert effective["call"]["targets"] == ["11", "flat2"]
    problems = problems_of({"sip": {"server": "192.168.178.1"}, "button": [{"id": 1}]})
    assert has_problem(problems, "door.toml: call.targets: ", "required", "[[button]]")
    assert has_problem(problems_of({"sip": {"server": "pbx"}}), "door.toml: call.targets: ")


def test_button_problems_name_the_entry_and_the_key():
    problems = problems_of(
        with_sections(
            device={"board": "pico_w"},
            wifi={"ssid": "home"},
            button=[
                {"id": 1, "pin": 5},
                {"id": 1, "targets": [], "label": 'Say "hi"'},
                {"id": 4, "bell": "12x", "targets": ["flat1"], "code": "12"},
                {"id": 9, "alert_info": "Bellcore-dr2", "open_from": ["a b"]},
                {"id": 5, "pin": 4},
            ],
            gpio={"button": 2},
        )
    )
    assert has_problem(problems, "door.toml: button[0].pin: ", "differs from gpio.button")
    assert has_problem(problems, "door.toml: button[1].id: ", "already")
    assert has_problem(problems, "door.toml: button[1].targets: ", "at least one")
    assert has_problem(problems, "door.toml: button[1].label: ", "'\"'")
    assert has_problem(problems, "door.toml: button[2].bell: ", "FRITZ!Box bell number")
    assert has_problem(problems, "door.toml: button[2].bell: ", "not both")
    assert has_problem(problems, "door.toml: button[2].pin: ", "required")
    assert has_problem(problems, "door.toml: button[2].code: ", "4 to 16")
    assert has_problem(problems, "door.toml: button[3].id: ", "out of range 1-8")
    assert has_problem(problems, "door.toml: button[3].alert_info: ", "RFC 3261 20.4")
    assert has_problem(problems, "door.toml: button[3].open_from[0]: ", "'a b'")
    assert has_problem(problems, "door.toml: button[4].pin: ", "pin 4 is already gpio.led")
    assert not has_problem(problems, "door.toml: gpio.led: ")


def test_device_name_may_be_any_name_but_not_break_the_from_header():
    # device.name is the display name of REGISTER's From and of every button
    # without a label: the same rule as a label (RFC 3261 25.1 quoted-string)
    good = with_sections(device={"name": "Haus Müller (Tor 2)"})
    assert config.validate(good)["button"][0]["label"] == "Haus Müller (Tor 2)"
    for bad in ("Door\\", "Door\r\nX-Evil: 1", "Tab\there", 'Say "hi"', "Bell\x00"):
        problems = problems_of(with_sections(device={"name": bad}))
        assert has_problem(problems, "door.toml: device.name: ", "display name"), bad
        assert not has_problem(problems, "door.toml: button[0].label: "), bad


def test_labels_may_be_any_name_but_not_break_the_from_header():
    good = with_sections(button=[{"id": 1, "label": "Müller & Söhne (2. OG)"}])
    assert config.validate(good)["button"][0]["label"] == "Müller & Söhne (2. OG)"
    for bad in ("Flat\\", "Flat\r\nX-Evil: 1", "Tab\there", 'Say "hi"'):
        problems = problems_of(with_sections(button=[{"id": 1, "label": bad}]))
        assert has_problem(problems, "door.toml: button[0].label: ", "display name"), bad
    alert = with_sections(button=[{"id": 1, "alert_info": "<http://x/ä>"}])
    assert has_problem(problems_of(alert), "door.toml: button[0].alert_info: ")

    for bad in ("http://127.0.0.1/ring", "<http://127.0.0.1/a>\r\nX-Evil: 1"):
        problems = problems_of(with_sections(call={"alert_info": bad}))
        assert has_problem(problems, "door.toml: call.alert_info: ", "RFC 3261 20.4"), bad
    ring = "<http://127.0.0.1/Bellcore-dr2>"
    effective = config.validate(with_sections(call={"alert_info": ring}))
    assert [button["alert_info"] for button in effective["button"]] == [ring]
    assert config.validate(with_sections())["call"]["alert_info"] is None


def test_a_bell_number_needs_the_fritzbox_as_server():
    problems = problems_of(
        {"call": {"targets": ["sip:f@192.0.2.1"]}, "button": [{"id": 1, "bell": "11"}]}
    )
    assert has_problem(problems, "door.toml: button[0].bell: ", "sip.server")


def test_buttons_must_be_a_list_of_tables_of_at_most_eight():
    assert has_problem(problems_of(with_sections(button={"id": 1})), "door.toml: button: ")
    assert has_problem(problems_of(with_sections(button=[])), "door.toml: button: ")
    many = [{"id": number, "pin": number} for number in range(1, 10)]
    assert has_problem(problems_of(with_sections(button=many)), "door.toml: button: ", "at most 8")


def test_optional_pins_are_checked_against_every_other_pin():
    problems = problems_of(
        with_sections(
            device={"board": "pico_w"},
            wifi={"ssid": "home"},
            gpio={"door_contact": 3, "tamper": 10, "chime": 29, "calling": 14, "talking": 14},
        )
    )
    assert has_problem(problems, "door.toml: gpio.door_contact: ", "already gpio.relay")
    assert has_problem(problems, "door.toml: gpio.tamper: ", "I2S mic sck")
    assert has_problem(problems, "door.toml: gpio.chime: ", "does not exist on board pico_w")
    assert has_problem(problems, "door.toml: gpio.talking: ", "already gpio.calling")
    good = config.validate(with_sections(gpio={"door_contact": 5, "exit_button": 6}))
    assert good["gpio"]["door_contact_active_low"] is False
    assert good["gpio"]["exit_button_active_low"] is True


def test_schedules_fill_days_and_buttons_and_check_times_and_targets():
    effective = config.validate(with_sections(schedule=[{"start": "22:00", "end": "6:30"}]))
    (entry,) = effective["schedule"]
    assert entry["days"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert entry["buttons"] == [1] and entry["targets"] == []
    problems = problems_of(
        with_sections(
            schedule=[
                {"days": ["fri", "Sun"], "start": "25:00", "end": "07:60"},
                {"start": "08:00", "end": "08:00", "buttons": [2], "targets": ["a b"]},
                {"end": "07:00", "buttons": [True]},
            ]
        )
    )
    assert has_problem(problems, "door.toml: schedule[0].days[1]: ", "'Sun'", "mon")
    assert has_problem(problems, "door.toml: schedule[0].start: ", "HH:MM")
    assert has_problem(problems, "door.toml: schedule[0].end: ", "'07:60'")
    assert has_problem(problems, "door.toml: schedule[1].end: ", "equals start")
    assert has_problem(problems, "door.toml: schedule[1].buttons[0]: ", "no [[button]] has id 2")
    assert has_problem(problems, "door.toml: schedule[2].buttons[0]: ", "whole number")
    assert has_problem(problems, "door.toml: schedule[1].targets[0]: ", "'a b'")
    assert has_problem(problems, "door.toml: schedule[2].start: ", "required")


def test_time_zone_is_a_posix_rule_and_a_pico_with_quiet_hours_needs_it():
    assert has_problem(
        problems_of(with_sections(time={"zone": "Europe/Berlin"})),
        "door.toml: time.zone: ",
        "POSIX rule",
    )
    assert has_problem(
        problems_of(with_sections(time={"ntp_server": "pool ntp org"})),
        "door.toml: time.ntp_server: ",
    )
    pico = with_sections(device={"board": "pico_w"}, wifi={"ssid": "home"}, schedule=[NIGHT])
    assert has_problem(problems_of(pico), "door.toml: time.zone: ", "POSIX TZ")
    pico["time"] = {"zone": "CET-1CEST,M3.5.0,M10.5.0/3"}
    assert config.validate(pico)["time"]["ntp_server"] == "pool.ntp.org"


def test_chime_and_cooldown_limits():
    problems = problems_of(
        with_sections(chime={"pulse_ms": 20, "tone": "yes"}, call={"cooldown": 601})
    )
    assert has_problem(problems, "door.toml: chime.pulse_ms: ", "50-10000")
    assert has_problem(problems, "door.toml: chime.tone: ", "true or false")
    assert has_problem(problems, "door.toml: call.cooldown: ", "0-600")


def test_button_codes_are_masked_like_the_door_code():
    effective = config.validate(
        with_sections(door={"code": "4711"}, button=[{"id": 1, "code": "9999"}])
    )
    shown = config.masked(effective)
    assert shown["button"][0]["code"] == "****" and shown["door"]["code"] == "****"
    assert effective["button"][0]["code"] == "9999"
