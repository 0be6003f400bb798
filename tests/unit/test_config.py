# Config validation: defaults, every problem at once with file and key,
# secrets masked. Runs under pytest and under the MicroPython runner.

import json

from intercom import config
from intercom.errors import ConfigError
from intercom.pins import DEFAULT_PINS

MINIMAL = {"call": {"targets": ["sip:flat1@192.0.2.20"]}}


def with_sections(**sections):
    raw = {"call": {"targets": ["flat1"]}, "sip": {"server": "192.0.2.10"}}
    for name in sections:
        if isinstance(sections[name], dict) and isinstance(raw.get(name), dict):
            merged = dict(raw[name])
            merged.update(sections[name])
            raw[name] = merged
        else:
            raw[name] = sections[name]
    return raw


def problems_of(raw, filename="door.toml"):
    try:
        config.validate(raw, filename)
    except ConfigError as error:
        return error.problems
    return []


def has_problem(problems, start, *words):
    for line in problems:
        if line.startswith(start) and all(word in line for word in words):
            return True
    return False


def test_minimal_config_gets_the_documented_defaults():
    effective = config.validate(MINIMAL, "door.toml")
    assert effective["device"] == {"name": "Door", "board": "sim", "show_dtmf_digits": False}
    sip = effective["sip"]
    assert (sip["server"], sip["domain"], sip["register"]) == (None, None, False)
    assert (sip["local_port"], sip["expires"], sip["transport"]) == (5060, 300, "udp")
    call = effective["call"]
    assert (call["mode"], call["ring_timeout"], call["max_duration"]) == ("sequential", 30, 120)
    assert call["answer_from"] == []
    door = effective["door"]
    assert (door["pulse"], door["hangup_after_open"], door["max_attempts"]) == (3, 5, 3)
    assert (door["lockout"], door["code"]) == (300, None)
    assert door["open_from"] == ["sip:flat1@192.0.2.20"]
    audio = effective["audio"]
    assert (audio["codecs"], audio["ptime"], audio["rtp_port"]) == (["PCMU", "PCMA"], 20, 0)
    assert audio["symmetric_rtp"] is False
    assert effective["gpio"]["debounce_ms"] == 30
    assert effective["gpio"]["button_active_low"] is True
    assert (effective["wifi"], effective["mqtt"], effective["http"]) == (None, None, None)
    assert effective["webhook"] == []


def test_effective_config_survives_json():
    effective = config.validate(
        with_sections(webhook=[{"url": "http://127.0.0.1:8123/hook"}], http={}), "door.toml"
    )
    assert json.loads(json.dumps(effective)) == effective


def test_validate_does_not_change_its_input():
    raw = with_sections(door={"code": "12ab"})
    snapshot = json.dumps(raw)
    config.validate(raw, "door.toml")
    assert json.dumps(raw) == snapshot


def test_server_gives_domain_and_registration():
    sip = config.validate(with_sections(sip={"server": "PBX.example.org:5080"}))["sip"]
    assert sip["domain"] == "pbx.example.org"
    assert sip["register"] is True


def test_gpio_defaults_follow_the_board():
    for board, pins in (("rpi", DEFAULT_PINS["rpi"]), ("sim", DEFAULT_PINS["rpi"])):
        gpio = config.validate(with_sections(device={"board": board}))["gpio"]
        assert (gpio["button"], gpio["relay"], gpio["led"]) == (
            pins["button"],
            pins["relay"],
            pins["led"],
        )
    pico = config.validate(with_sections(device={"board": "pico_w"}, wifi={"ssid": "home"}))
    expected = DEFAULT_PINS["pico_w"]
    assert pico["gpio"]["relay"] == expected["relay"]
    assert pico["gpio"]["button"] == expected["button"]


def test_mqtt_prefix_defaults_from_the_device_name():
    effective = config.validate(
        with_sections(device={"name": "Front door!"}, mqtt={"host": "127.0.0.1"})
    )
    assert effective["mqtt"]["prefix"] == "intercom/front-door"
    assert effective["mqtt"]["port"] == 1883


def test_webhook_without_events_gets_every_event():
    hook = config.validate(with_sections(webhook=[{"url": "https://h.example/x"}]))["webhook"][0]
    assert "door_opened" in hook["events"] and "button" in hook["events"]


def test_code_letters_are_upper_cased():
    assert config.validate(with_sections(door={"code": "12ab"}))["door"]["code"] == "12AB"


def test_every_problem_is_reported_at_once_with_file_and_key():
    problems = problems_of(
        {
            "sip": {"expires": "300", "local_port": 70000},
            "call": {"targets": ["flat1", "sip:"]},
            "door": {"code": "12x"},
        },
        "/etc/intercom/door.toml",
    )
    assert has_problem(problems, "/etc/intercom/door.toml: sip.expires: ", "whole number")
    assert has_problem(problems, "/etc/intercom/door.toml: sip.local_port: ", "70000", "range")
    assert has_problem(problems, "/etc/intercom/door.toml: call.targets[0]: ", "bare user")
    assert has_problem(problems, "/etc/intercom/door.toml: call.targets[1]: ", "SIP URI")
    assert has_problem(problems, "/etc/intercom/door.toml: door.code: ", "0-9")
    assert has_problem(problems, "/etc/intercom/door.toml: door.code: ", "4 to 16")
    assert len(problems) == 6


def test_unknown_names_get_a_suggestion():
    problems = problems_of(with_sections(devcie={}, door={"pluse": 3}, call={"mdoe": "parallel"}))
    assert has_problem(problems, "door.toml: devcie: ", "unknown section", "'device'")
    assert has_problem(problems, "door.toml: door.pluse: ", "unknown key", "'pulse'")
    assert has_problem(problems, "door.toml: call.mdoe: ", "'mode'")
    far = problems_of(with_sections(gpio={"xyzzy": 1}))
    assert has_problem(far, "door.toml: gpio.xyzzy: ", "unknown key")
    assert not has_problem(far, "door.toml: gpio.xyzzy: ", "did you mean")


def test_a_boolean_is_not_a_number_and_a_number_not_a_boolean():
    problems = problems_of(with_sections(door={"pulse": True}, sip={"register": 1}))
    assert has_problem(problems, "door.toml: door.pulse: ", "whole number", "boolean")
    assert has_problem(problems, "door.toml: sip.register: ", "true or false")


def test_wrong_types_are_named():
    problems = problems_of(
        with_sections(
            call={"targets": "flat1", "answer_from": ["flat1", 7]},
            door={"pulse": 2.5},
            audio="loud",
        )
    )
    assert has_problem(problems, "door.toml: call.targets: ", "list of strings", "a string")
    assert has_problem(problems, "door.toml: call.answer_from[1]: ", "must be a string")
    assert has_problem(problems, "door.toml: door.pulse: ", "decimal")
    assert has_problem(problems, "door.toml: audio: ", "must be a table")


def test_ranges():
    problems = problems_of(
        with_sections(
            door={"pulse": 61, "max_attempts": 0},
            audio={"ptime": 25, "rtp_port": 5001},
            call={"ring_timeout": 0},
        )
    )
    assert has_problem(problems, "door.toml: door.pulse: ", "61", "1-60")
    assert has_problem(problems, "door.toml: door.max_attempts: ", "out of range")
    assert has_problem(problems, "door.toml: audio.ptime: ", "multiple of 10")
    assert has_problem(problems, "door.toml: audio.rtp_port: ", "even")
    assert has_problem(problems, "door.toml: call.ring_timeout: ", "out of range")
    assert problems_of(with_sections(audio={"ptime": 70})) != []
    assert problems_of(with_sections(audio={"ptime": 10, "rtp_port": 40000})) == []


def test_pins_used_twice_or_missing_on_the_board():
    problems = problems_of(with_sections(device={"board": "rpi"}, gpio={"button": 5, "relay": 5}))
    assert has_problem(problems, "door.toml: gpio.relay: ", "pin 5", "gpio.button")
    led = problems_of(with_sections(device={"board": "rpi"}, gpio={"led": 17}))
    assert has_problem(led, "door.toml: gpio.led: ", "already gpio.button")
    pico = problems_of(
        with_sections(device={"board": "pico_w"}, wifi={"ssid": "x"}, gpio={"led": 25})
    )
    assert has_problem(pico, "door.toml: gpio.led: ", "does not exist", "pico_w")
    i2s = problems_of(with_sections(device={"board": "rpi"}, gpio={"relay": 18}))
    assert has_problem(i2s, "door.toml: gpio.relay: ", "I2S")


def test_targets_and_allow_lists():
    problems = problems_of(
        with_sections(
            call={
                "targets": ["flat 1", "sip:flat2@", "http://x", "sip:flat3@h;transport=udp"],
                "answer_from": ["sip:flat1@h;user=phone"],
            },
            door={"open_from": ["sip:flat1@h?x=1", "<flat1>"]},
        )
    )
    assert has_problem(problems, "door.toml: call.targets[0]: ", "neither")
    assert has_problem(problems, "door.toml: call.targets[1]: ", "not a valid SIP URI")
    assert has_problem(problems, "door.toml: call.targets[2]: ", "neither")
    assert not has_problem(problems, "door.toml: call.targets[3]")
    assert has_problem(problems, "door.toml: call.answer_from[0]: ", "no URI parameters")
    assert has_problem(problems, "door.toml: door.open_from[0]: ", "no URI parameters")
    assert has_problem(problems, "door.toml: door.open_from[1]: ", "neither")
    empty = problems_of(with_sections(call={"targets": []}))
    assert has_problem(empty, "door.toml: call.targets: ", "at least one")
    missing = problems_of({})
    assert has_problem(missing, "door.toml: call.targets: ", "required")


def test_targets_are_bounded_with_a_clear_error():
    nine = ["sip:flat%d@192.0.2.%d" % (index, index) for index in range(1, 10)]
    problems = problems_of({"call": {"targets": nine}})
    assert has_problem(problems, "door.toml: call.targets: ", "9 targets; at most 8")
    assert problems_of({"call": {"targets": nine[:8]}}) == []


def test_peer_to_peer_callers_are_named_by_address():
    problems = problems_of(
        {"call": {"targets": ["sip:a@192.0.2.1"], "answer_from": ["sip:flat1@flat1.lan"]}}
    )
    assert has_problem(problems, "door.toml: call.answer_from[0]: ", "must be an IP address")
    good = {"targets": ["sip:a@192.0.2.1"], "answer_from": ["sip:flat1@192.0.2.7"]}
    assert problems_of({"call": good}) == []
    assert problems_of(with_sections(call={"answer_from": ["sip:flat1@flat1.lan"]})) == []


def test_asserted_identity_needs_a_server():
    lonely = {"sip": {"asserted_identity": True}, "call": {"targets": ["sip:a@192.0.2.1"]}}
    assert has_problem(problems_of(lonely), "door.toml: sip.asserted_identity: ", "sip.server")
    assert problems_of(with_sections(sip={"asserted_identity": True})) == []


def test_bare_users_need_a_domain():
    problems = problems_of({"call": {"targets": ["sip:a@192.0.2.1"], "answer_from": ["flat1"]}})
    assert has_problem(problems, "door.toml: call.answer_from[0]: ", "bare user")
    assert problems_of({"sip": {"domain": "example.org"}, "call": {"targets": ["flat1"]}}) == []


def test_a_bare_target_may_end_dialling_with_a_hash():
    # FRITZ!Box internal numbers like **610# ('#' goes out as %23).
    fritz = {"sip": {"server": "192.0.2.1"}, "call": {"targets": ["**610#", "**9", "11"]}}
    assert problems_of(fritz) == []
    broken = {"sip": {"server": "192.0.2.1"}, "call": {"targets": ["**6 10"]}}
    assert has_problem(problems_of(broken), "door.toml: call.targets[0]: ", "user name")


def test_door_code_rules():
    assert has_problem(problems_of(with_sections(door={"code": "12#4"})), "door.toml: door.code: ")
    assert has_problem(problems_of(with_sections(door={"code": "123"})), "door.toml: door.code: ")
    assert problems_of(with_sections(door={"code": "1" * 17})) != []
    assert problems_of(with_sections(door={"code": "1234567890ABCD"})) == []
    assert problems_of(with_sections(door={"code": 1234})) != []


def test_sip_rules():
    problems = problems_of(
        with_sections(
            sip={
                "password": "a",
                "password_file": "/etc/x",
                "server": "bad host",
                "user": "a b",
                "trusted": ["192.0.2.1", "h:5060"],
            }
        )
    )
    assert has_problem(problems, "door.toml: sip.password_file: ", "not both")
    assert has_problem(problems, "door.toml: sip.server: ", "host")
    assert has_problem(problems, "door.toml: sip.user: ")
    assert has_problem(problems, "door.toml: sip.trusted[1]: ")
    assert not has_problem(problems, "door.toml: sip.trusted[0]")
    lonely = problems_of({"sip": {"register": True}, "call": {"targets": ["sip:a@b"]}})
    assert has_problem(lonely, "door.toml: sip.register: ", "sip.server")
    for server in ("h:0", "h:x", ":5060", "[::1]x"):
        problems = problems_of(with_sections(sip={"server": server}))
        assert has_problem(problems, "door.toml: sip.server: ", "host"), server


def test_sip_transport_and_its_keepalive_default():
    assert config.validate(with_sections(), "door.toml")["sip"]["keepalive"] == 0
    tcp = config.validate(with_sections(sip={"transport": "tcp"}), "door.toml")["sip"]
    assert (tcp["transport"], tcp["keepalive"]) == ("tcp", 120)  # RFC 5626 4.4.1
    quiet = with_sections(sip={"transport": "tcp", "keepalive": 0})
    assert config.validate(quiet, "door.toml")["sip"]["keepalive"] == 0
    problems = problems_of(with_sections(sip={"transport": "sctp"}))
    assert has_problem(problems, "door.toml: sip.transport: ", "'sctp'", "udp, tcp, tls")


def test_sip_session_expires_is_off_or_at_least_min_se():
    assert config.validate(with_sections(), "door.toml")["sip"]["session_expires"] == 1800
    off = with_sections(sip={"session_expires": 0})
    assert config.validate(off, "door.toml")["sip"]["session_expires"] == 0
    problems = problems_of(with_sections(sip={"session_expires": 60}))
    assert has_problem(problems, "door.toml: sip.session_expires: ", "at least 90")


def test_choices():
    problems = problems_of(
        with_sections(
            device={"board": "esp32"}, call={"mode": "random"}, audio={"codecs": ["PCMU", "G722"]}
        )
    )
    assert has_problem(problems, "door.toml: device.board: ", "sim, rpi, pico_w")
    assert has_problem(problems, "door.toml: call.mode: ", "sequential, parallel")
    assert has_problem(problems, "door.toml: audio.codecs[1]: ", "G722")
    assert has_problem(problems_of(with_sections(audio={"codecs": []})), "door.toml: audio.codecs")


def test_services_that_act_need_credentials():
    problems = problems_of(
        with_sections(
            device={"board": "pico_w"},
            mqtt={"host": "127.0.0.1", "allow_open": True},
            http={"listen": "localhost", "allow_open": True},
            webhook=[{"url": "ftp://x/y", "events": ["buton"]}, {"url": "http://"}],
        )
    )
    assert has_problem(problems, "door.toml: wifi: ", "pico_w")
    assert has_problem(problems, "door.toml: mqtt.allow_open: ", "mqtt.user")
    assert has_problem(problems, "door.toml: http.allow_open: ", "http.token")
    assert has_problem(problems, "door.toml: http.listen: ", "host:port")
    assert has_problem(problems, "door.toml: webhook[0].url: ", "http")
    assert has_problem(problems, "door.toml: webhook[0].events[0]: ", "'button'")
    assert has_problem(problems, "door.toml: webhook[1].url: ", "host")
    good = with_sections(
        mqtt={"host": "h", "user": "u", "password": "p", "allow_open": True},
        http={"listen": "[::1]:8080", "token": "t" * 16, "allow_open": True},
    )
    assert problems_of(good) == []
    short_token = problems_of(with_sections(http={"token": "short"}))
    assert has_problem(short_token, "door.toml: http.token: ", "16")


def test_jitter_bounds_are_ordered():
    problems = problems_of(with_sections(audio={"jitter_min_ms": 300, "jitter_max_ms": 100}))
    assert has_problem(problems, "door.toml: audio.jitter_min_ms: ", "jitter_max_ms")


def test_a_file_that_is_not_a_table():
    assert has_problem(problems_of([1, 2]), "door.toml: (file): ")


def test_masked_hides_every_secret_and_keeps_the_original():
    effective = config.validate(
        with_sections(
            sip={"password": "sip-secret"},
            door={"code": "4711"},
            device={"board": "rpi"},
            wifi={"ssid": "home", "password": "wifi-secret"},
            mqtt={"host": "h", "password": "mqtt-secret"},
            http={"token": "http-secret-token-123"},
        )
    )
    shown = config.masked(effective)
    text = json.dumps(shown)
    for secret in ("sip-secret", "4711", "wifi-secret", "mqtt-secret", "http-secret-token-123"):
        assert secret not in text
    assert shown["sip"]["password"] == "****"
    assert shown["door"]["code"] == "****"
    assert shown["wifi"]["ssid"] == "home"
    assert effective["sip"]["password"] == "sip-secret"
    assert config.masked(config.validate(MINIMAL))["sip"]["password"] is None


def test_edit_distance():
    assert config.edit_distance("pluse", "pulse") == 2
    assert config.edit_distance("", "abc") == 3
    assert config.edit_distance("kitten", "sitting") == 3


def test_every_schema_section_and_list_is_a_known_top_level_name():
    # TOP_LEVEL is a literal (the schema is only built when asked for): an
    # unknown-section check that missed a new section would refuse its key.
    # (sorted: a MicroPython dict does not keep its insertion order)
    expected = list(config.SECTIONS) + list(config.LIST_SECTIONS)
    assert sorted(config.TOP_LEVEL) == sorted(expected)
    assert len(set(config.TOP_LEVEL)) == len(config.TOP_LEVEL)


def test_service_tls_keys_come_in_pairs_and_only_where_they_can_work():
    problems = problems_of(
        with_sections(
            mqtt={"host": "192.0.2.30", "tls_ca": "ca.pem", "tls_cert": "door.pem"},
            http={"tls_key": "page.key"},
            webhook=[{"url": "http://192.0.2.40/hook", "tls_ca": "ca.pem"}],
        )
    )
    assert has_problem(problems, "door.toml: mqtt.tls: ", "tls = true")
    assert has_problem(problems, "door.toml: mqtt.tls_key: ", "both")
    assert has_problem(problems, "door.toml: http.tls_key: ", "both")
    assert has_problem(problems, "door.toml: webhook[0].tls_ca: ", "https://")
    secure = with_sections(
        mqtt={"host": "broker.example", "tls": True, "tls_ca": "ca.pem"},
        http={"tls_cert": "page.pem", "tls_key": "page.key"},
        webhook=[{"url": "https://hooks.example/x", "tls_ca": "ca.pem"}],
    )
    effective = config.validate(secure)
    assert effective["mqtt"]["port"] == 8883
    assert config.validate(with_sections(mqtt={"host": "h"}))["mqtt"]["port"] == 1883


def test_pico_w_refuses_the_services_it_cannot_run():
    pico = {"board": "pico_w"}
    wifi = {"ssid": "home"}
    problems = problems_of(
        with_sections(
            device=pico,
            wifi=wifi,
            mqtt={"host": "broker.home", "tls": True},
            http={},
            webhook=[{"url": "http://192.0.2.40/hook"}],
        )
    )
    assert has_problem(problems, "door.toml: mqtt.tls: ", "CPython", "heap")
    assert has_problem(problems, "door.toml: mqtt.host: ", "'broker.home'", "IP address")
    assert has_problem(problems, "door.toml: http: ", "CPython")
    assert has_problem(problems, "door.toml: webhook: ", "CPython")
    fine = with_sections(device=pico, wifi=wifi, mqtt={"host": "192.0.2.30"})
    assert config.validate(fine)["mqtt"]["host"] == "192.0.2.30"


def test_echo_control_defaults_follow_the_board():
    wifi = {"ssid": "home"}
    modes = {}
    for board in ("sim", "rpi", "pico_w"):
        audio = config.validate(with_sections(device={"board": board}, wifi=wifi))["audio"]
        modes[board] = audio["echo"]
        assert (audio["echo_tail_ms"], audio["echo_delay_ms"]) == (160, None)
        assert (audio["echo_suppress_db"], audio["noise_suppress_db"]) == (40, 0)
    assert modes == {"sim": "off", "rpi": "aec", "pico_w": "half_duplex"}
    chosen = with_sections(audio={"echo": "half_duplex", "echo_delay_ms": 60})
    assert config.validate(chosen)["audio"]["echo"] == "half_duplex"


def test_echo_control_refuses_what_the_board_cannot_run():
    pico = with_sections(device={"board": "pico_w"}, wifi={"ssid": "home"}, audio={"echo": "aec"})
    assert has_problem(problems_of(pico), "door.toml: audio.echo: ", "pico_w", "half_duplex")
    noise = with_sections(audio={"echo": "half_duplex", "noise_suppress_db": 12})
    assert has_problem(problems_of(noise), "door.toml: audio.noise_suppress_db: ", "aec")
    problems = problems_of(with_sections(audio={"echo": "cancel", "echo_tail_ms": 5}))
    assert has_problem(problems, "door.toml: audio.echo: ", "'cancel'", "half_duplex")
    assert has_problem(problems, "door.toml: audio.echo_tail_ms: ", "out of range")
    fine = with_sections(device={"board": "rpi"}, audio={"noise_suppress_db": 12})
    assert config.validate(fine)["audio"]["noise_suppress_db"] == 12


def test_the_simulated_room_is_for_the_sim_board_only():
    effective = config.validate(with_sections(sim={"echo_path": True}))
    room = effective["sim"]
    assert room["echo_path"] is True
    assert (room["room_delay_ms"], room["room_gain_db"], room["room_decay_ms"]) == (20, -3, 150)
    assert room["room_noise_db"] == -60
    assert config.validate(with_sections())["sim"] is None
    elsewhere = with_sections(device={"board": "rpi"}, sim={"echo_path": True})
    assert has_problem(problems_of(elsewhere), "door.toml: sim: ", "board sim only")


def test_srtp_keys_need_sip_over_tls():
    assert config.validate(with_sections())["audio"]["srtp"] == "off"
    for mode in ("optional", "mandatory"):
        problems = problems_of(with_sections(audio={"srtp": mode}))
        assert has_problem(problems, "door.toml: audio.srtp: ", mode, 'sip.transport = "tls"')
    problems = problems_of(with_sections(audio={"srtp": "always"}))
    assert has_problem(problems, "door.toml: audio.srtp: ", "'always'", "mandatory")


def test_sip_over_tls_and_its_certificate_settings():
    pin = "AB:" * 31 + "CD"
    secure = with_sections(
        sip={"transport": "tls", "tls_ca": "/etc/intercom/ca.pem", "tls_fingerprint": pin},
        audio={"srtp": "mandatory"},
    )
    effective = config.validate(secure)
    assert effective["sip"]["tls_fingerprint"] == "ab" * 31 + "cd"
    assert effective["sip"]["keepalive"] == 120  # a stream: pings find a dead connection
    assert effective["audio"]["srtp"] == "mandatory"
    plain = problems_of(with_sections(sip={"tls_ca": "/etc/intercom/ca.pem"}))
    assert has_problem(plain, "door.toml: sip.tls_ca: ", 'sip.transport = "tls"')
    short = problems_of(with_sections(sip={"transport": "tls", "tls_fingerprint": "AB:CD"}))
    assert has_problem(short, "door.toml: sip.tls_fingerprint: ", "'AB:CD'", "64 hex digits")
    odd = problems_of(with_sections(sip={"transport": "tls", "tls_fingerprint": "g" * 64}))
    assert has_problem(odd, "door.toml: sip.tls_fingerprint: ", "SHA-256")
    half = problems_of(with_sections(sip={"transport": "tls", "tls_cert": "/door.pem"}))
    assert has_problem(half, "door.toml: sip.tls_key: ", "both tls_cert and tls_key")
    pico = problems_of(with_sections(device={"board": "pico_w"}, sip={"transport": "tls"}))
    assert has_problem(pico, "door.toml: sip.transport: ", "pico_w", "heap")


def test_transfer_to_defaults_to_the_targets_and_is_checked_like_an_allow_list():
    effective = config.validate(with_sections(call={"targets": ["flat1", "flat2"]}), "door.toml")
    assert effective["call"]["transfer_to"] == ["flat1", "flat2"]
    none = config.validate(with_sections(call={"transfer_to": []}), "door.toml")
    assert none["call"]["transfer_to"] == []
    problems = problems_of(with_sections(call={"transfer_to": ["sip:x@h;user=phone", "http://x"]}))
    assert has_problem(problems, "door.toml: call.transfer_to[0]: ", "no URI parameters")
    assert has_problem(problems, "door.toml: call.transfer_to[1]: ", "neither")
    typed = problems_of(with_sections(call={"transfer_to": ["flat1", 7]}))
    assert has_problem(typed, "door.toml: call.transfer_to[1]: ", "must be a string")


def test_a_wrong_type_for_a_key_with_a_later_check_is_named_not_raised():
    # each of these keys is checked again after its type (a range that
    # depends on the value): a wrong type must end as the type's problem
    for section, key in (
        ("sip", "session_expires"),
        ("call", "media_timeout"),
        ("call", "notice_interval"),
        ("door", "lockout"),
        ("door", "lockout_max"),
        ("audio", "jitter_min_ms"),
        ("audio", "jitter_max_ms"),
    ):
        problems = problems_of(with_sections(**{section: {key: []}}))
        assert has_problem(problems, "door.toml: %s.%s: " % (section, key)), (key, problems)
