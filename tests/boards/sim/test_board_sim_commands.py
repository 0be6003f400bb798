# The sim board's stdin commands and the runtime's addresses (name
# resolution, local address, RTP port pair), without processes (CPython).

import socket

import pytest
from boards.runtime import addresses
from boards.sim.board import CommandReader


def reader(buttons=(1,)):
    warnings = []
    return CommandReader(warnings.append, buttons), warnings


def test_commands_come_out_one_per_line_in_order():
    commands, warnings = reader()
    assert commands.feed(b"press\nrelease\nhangup\nquit\n") == [
        ("press", 1),
        ("release", 1),
        ("hangup",),
        ("quit",),
    ]
    assert warnings == []


def test_buttons_by_number_sensors_exit_tamper_and_help():
    commands, warnings = reader(buttons=(1, 2, 3))
    lines = b"press 2\nrelease 2\npress 3\nsensor open\nsensor close\nexit\n"
    lines += b"tamper\ntamper on\ntamper off\nhelp\n"
    assert commands.feed(lines) == [
        ("press", 2),
        ("release", 2),
        ("press", 3),
        ("sensor", "open"),
        ("sensor", "close"),
        ("exit",),
        ("tamper", "on"),
        ("tamper", "on"),
        ("tamper", "off"),
        ("help",),
    ]
    assert warnings == []


def test_a_button_the_config_lacks_and_bad_arguments_are_warned_about():
    commands, warnings = reader(buttons=(1, 2))
    lines = b"press 3\nrelease 0\npress two\nsensor ajar\nexit now\ntamper maybe\nquit 1\n"
    assert commands.feed(lines) == []
    assert "no button 'press 3' (the config has 1, 2)" in warnings[0]
    assert "no button 'release 0'" in warnings[1]
    assert "no button 'press two'" in warnings[2]
    assert all("unknown command" in warning for warning in warnings[3:])
    assert len(warnings) == 7


def test_a_line_split_across_reads_is_one_command():
    commands, _ = reader()
    assert commands.feed(b"pr") == []
    assert commands.feed(b"ess\nrel") == [("press", 1)]
    assert commands.feed(b"ease\n") == [("release", 1)]


def test_crlf_blanks_spaces_and_case_are_tolerated():
    commands, warnings = reader(buttons=(1, 2))
    assert commands.feed(b"  PRESS \r\n\r\n\nRelease   2\r\n") == [("press", 1), ("release", 2)]
    assert warnings == []


def test_unknown_commands_are_warned_about_and_skipped():
    commands, warnings = reader()
    assert commands.feed(b"dance\npress\n\xff\xfe\n") == [("press", 1)]
    assert len(warnings) == 2
    assert "unknown command 'dance'" in warnings[0]
    assert "press [N], release [N], hangup, sensor open, sensor close, exit" in warnings[0]


def test_an_overlong_line_is_dropped_up_to_its_end():
    commands, warnings = reader()
    assert commands.feed(b"x" * 200) == []
    assert commands.feed(b"press" * 10 + b"\nquit\n") == [("quit",)]
    assert len(warnings) == 1 and "longer than" in warnings[0]


def test_a_partial_last_line_waits_for_its_newline():
    commands, _ = reader()
    assert commands.feed(b"press\nqui") == [("press", 1)]
    assert commands.feed(b"") == []
    assert commands.feed(b"t\n") == [("quit",)]


def base_config(server=None, targets=("sip:flat@127.0.0.1:5070",), trusted=()):
    return {
        "sip": {"server": server, "trusted": list(trusted), "domain": "example.org"},
        "call": {"targets": list(targets)},
        "door": {},
        "button": [{"id": 1, "targets": list(targets)}],
        "schedule": [],
    }


def test_names_resolve_to_addresses_and_keep_ports_and_users():
    config = base_config(
        targets=("sip:flat1@localhost:5070;transport=udp", "sip:flat2@127.0.0.9", "flat3"),
        trusted=("localhost",),
    )
    config["sip"]["domain"] = "localhost"
    resolved = addresses.resolved_config(config)
    assert resolved["call"]["targets"] == [
        "sip:flat1@127.0.0.1:5070;transport=udp",
        "sip:flat2@127.0.0.9",
        "sip:flat3@127.0.0.1",
    ]
    assert resolved["sip"]["trusted"] == ["127.0.0.1"]
    assert config["call"]["targets"][0].startswith("sip:flat1@localhost")  # input untouched


def test_peer_to_peer_button_and_quiet_hours_targets_resolve_too():
    config = base_config()
    config["button"].append({"id": 2, "targets": ["sip:flat2@localhost:5072"]})
    config["schedule"] = [{"targets": ["sip:night@localhost"], "buttons": [2]}]
    resolved = addresses.resolved_config(config)
    assert resolved["button"][1]["targets"] == ["sip:flat2@127.0.0.1:5072"]
    assert resolved["schedule"][0] == {"targets": ["sip:night@127.0.0.1"], "buttons": [2]}
    assert config["button"][1]["targets"] == ["sip:flat2@localhost:5072"]  # input untouched


def test_with_a_server_only_the_server_is_resolved():
    resolved = addresses.resolved_config(base_config("localhost:5080", targets=("flat1",)))
    assert resolved["sip"]["server"] == "127.0.0.1:5080"
    assert resolved["call"]["targets"] == ["flat1"]
    assert addresses.first_peer(resolved) == ("127.0.0.1", 5080)


def test_a_name_that_does_not_resolve_stops_the_start(monkeypatch):
    def fail(*arguments):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(addresses.StartError) as caught:
        addresses.resolved_config(base_config("pbx.example.org"))
    assert "sip.server" in str(caught.value) and "pbx.example.org" in str(caught.value)


def test_the_local_address_is_the_one_towards_the_peer():
    assert addresses.find_local_host(("127.0.0.1", 5060)) == "127.0.0.1"
    assert addresses.first_peer(base_config()) == ("127.0.0.1", 5070)


def test_rtp_and_rtcp_get_an_even_port_and_the_next_one():
    rtp, rtcp = addresses.bind_rtp_pair("127.0.0.1", 0)
    try:
        assert rtp.local_address[1] % 2 == 0
        assert rtcp.local_address[1] == rtp.local_address[1] + 1
    finally:
        rtp.close()
        rtcp.close()


def test_a_fixed_rtp_port_whose_rtcp_port_is_taken_fails_clearly():
    holders = []
    try:
        while True:  # hold an odd port: the RTCP port of the pair below it
            holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            holder.bind(("127.0.0.1", 0))
            holders.append(holder)
            if holder.getsockname()[1] % 2 == 1:
                break
        rtp_port = holders[-1].getsockname()[1] - 1
        with pytest.raises(addresses.StartError) as caught:
            addresses.bind_rtp_pair("127.0.0.1", rtp_port)
        assert "port %d" % rtp_port in str(caught.value)
    finally:
        for holder in holders:
            holder.close()
