"""The board pin maps follow the wiring rules, and the checker catches breaches."""

import pathlib
import tomllib

import pytest

from host_tools.wiring.pinmap import PinMapError, load_board, load_boards, problems

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOARDS = ROOT / "hardware" / "boards"
RPI = BOARDS / "rpi.toml"
PICO_W = BOARDS / "pico_w.toml"


def raw(path):
    return tomllib.loads(path.read_text(encoding="utf-8"))


def wires(data):
    return [wire for part in data["parts"] for wire in part["wires"]]


def gpio_of(data, role):
    (gpio,) = [wire["gpio"] for wire in wires(data) if wire.get("role") == role]
    return gpio


def variant(tmp_path, source, old, new):
    """A copy of a pin map with one line changed, loaded."""
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / source.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_board(path)


@pytest.mark.parametrize("path", [RPI, PICO_W], ids=["rpi", "pico_w"])
def test_no_header_position_carries_two_different_wires(path):
    data = raw(path)
    by_pin = {}
    for wire in wires(data):
        by_pin.setdefault(wire["pin"], []).append(wire["net"])
    for pin, nets in by_pin.items():
        if len(nets) > 1:
            assert len(set(nets)) == 1 and nets[0] in data["shared_nets"], (pin, nets)
    # Power and ground: every wire has its own header position.
    power = [wire["pin"] for wire in wires(data) if "gpio" not in wire]
    assert len(power) == len(set(power))


def test_only_the_pi_i2s_clocks_fan_out_to_two_parts():
    data = raw(RPI)
    pins = [wire["pin"] for wire in wires(data)]
    shared = sorted(pin for pin in set(pins) if pins.count(pin) > 1)
    assert shared == [12, 35]
    assert sorted(data["shared_nets"]) == ["PCM_CLK", "PCM_FS"]
    assert raw(PICO_W)["shared_nets"] == []


@pytest.mark.parametrize("path", [RPI, PICO_W], ids=["rpi", "pico_w"])
def test_every_wire_lands_on_a_header_pin_of_its_kind(path):
    data = raw(path)
    prefix = "GPIO" if data["gpio_label"] == "BCM" else "GP"
    for wire in wires(data):
        label = data["header"][wire["pin"] - 1]
        if "gpio" in wire:
            assert label == "%s%d" % (prefix, wire["gpio"]), wire
        else:
            assert label == wire["net"], wire
            assert label in ("GND", "3V3", "5V", "VBUS", "VSYS"), wire


def test_pi_header_table_matches_the_pinout_where_we_wire():
    header = raw(RPI)["header"]
    known = {1: "3V3", 2: "5V", 6: "GND", 11: "GPIO17", 12: "GPIO18", 13: "GPIO27"}
    known.update({15: "GPIO22", 27: "GPIO0", 28: "GPIO1", 35: "GPIO19", 38: "GPIO20"})
    known.update({39: "GND", 40: "GPIO21", 8: "GPIO14", 10: "GPIO15", 3: "GPIO2", 5: "GPIO3"})
    for pin, label in known.items():
        assert header[pin - 1] == label, pin


def test_pico_header_table_matches_the_pinout_where_we_wire():
    header = raw(PICO_W)["header"]
    known = {1: "GP0", 3: "GND", 4: "GP2", 14: "GP10", 20: "GP15", 21: "GP16"}
    known.update({36: "3V3", 38: "GND", 39: "VSYS", 40: "VBUS", 30: "RUN", 34: "GP28"})
    for pin, label in known.items():
        assert header[pin - 1] == label, pin
    # The wireless chip's pins are not on the header at all.
    for gpio in (23, 24, 25, 29):
        assert "GP%d" % gpio not in header


def test_pi_i2s_uses_the_pcm_pins():
    data = raw(RPI)
    assert gpio_of(data, "mic.sck") == gpio_of(data, "amp.sck") == 18
    assert gpio_of(data, "mic.ws") == gpio_of(data, "amp.ws") == 19
    assert gpio_of(data, "mic.sd") == 20
    assert gpio_of(data, "amp.sd") == 21


def test_pico_i2s_word_select_follows_bit_clock():
    data = raw(PICO_W)
    for device in ("mic", "amp"):
        assert gpio_of(data, device + ".ws") == gpio_of(data, device + ".sck") + 1
    # Two machine.I2S instances, each driving its own clocks.
    mic = {gpio_of(data, "mic." + signal) for signal in ("sck", "ws", "sd")}
    amp = {gpio_of(data, "amp." + signal) for signal in ("sck", "ws", "sd")}
    assert len(mic | amp) == 6


@pytest.mark.parametrize(
    "path, must_avoid",
    [(RPI, {0, 1, 2, 3, 14, 15, 16}), (PICO_W, {0, 1, 23, 24, 25, 29})],
    ids=["rpi", "pico_w"],
)
def test_reserved_pins_are_documented_and_avoided(path, must_avoid):
    data = raw(path)
    reserved = {entry["gpio"] for entry in data["reserved"]}
    assert must_avoid <= reserved
    assert all(entry["reason"] for entry in data["reserved"])
    used = {wire["gpio"] for wire in wires(data) if "gpio" in wire}
    assert used & reserved == set()


def test_firmware_defaults_match_the_design_contract():
    data = raw(RPI)
    assert [gpio_of(data, role) for role in ("button", "relay", "led")] == [17, 27, 22]


def test_the_checker_passes_both_boards():
    boards = load_boards(BOARDS)
    assert [board.name for board in boards] == ["pico_w", "rpi"]
    assert [problems(board) for board in boards] == [[], []]


def test_checker_flags_a_header_pin_used_twice(tmp_path):
    board = variant(
        tmp_path,
        RPI,
        '{ terminal = "K", pin = 20, net = "GND"',
        '{ terminal = "K", pin = 14, net = "GND"',
    )
    assert problems(board) == ["header pin 14 is used by relay.GND, led.K"]


def test_checker_flags_a_reserved_pin(tmp_path):
    board = variant(
        tmp_path,
        RPI,
        'pin = 11, gpio = 17, role = "button"',
        'pin = 8, gpio = 14, role = "button"',
    )
    assert problems(board) == [
        "button.NO uses reserved GPIO14 (UART TXD: serial console for installation and rescue)"
    ]


def test_checker_flags_pi_i2s_data_off_the_pcm_pins(tmp_path):
    board = variant(tmp_path, RPI, "pin = 38, gpio = 20,", "pin = 26, gpio = 7,")
    assert problems(board) == ["mic.sd on 7, but the I2S hardware drives sd_in only on [20]"]


def test_checker_flags_pico_ws_not_next_to_sck(tmp_path):
    board = variant(tmp_path, PICO_W, "pin = 22, gpio = 17,", "pin = 26, gpio = 20,")
    assert problems(board) == ["amp: ws (20) must be sck (16) + 1"]


def test_checker_flags_a_missing_role(tmp_path):
    board = variant(tmp_path, PICO_W, 'role = "led", ', "")
    assert problems(board) == ["role led is wired 0 times, not once"]


def test_loader_rejects_a_gpio_that_is_not_at_that_pin(tmp_path):
    with pytest.raises(PinMapError, match="pin 11 is GPIO17, not GPIO5"):
        variant(tmp_path, RPI, "pin = 11, gpio = 17,", "pin = 11, gpio = 5,")


def test_loader_rejects_ground_on_a_supply_pin(tmp_path):
    with pytest.raises(PinMapError, match="net GND on pin 2, but pin 2 is 5V"):
        variant(tmp_path, RPI, '{ terminal = "COM", pin = 9,', '{ terminal = "COM", pin = 2,')


def test_loader_names_the_file_on_a_toml_error(tmp_path):
    with pytest.raises(PinMapError, match="pico_w.toml"):
        variant(tmp_path, PICO_W, 'board = "pico_w"', 'board = "pico_w')
