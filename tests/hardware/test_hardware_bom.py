"""hardware/bom.csv lists what both builds need, in a shape a spreadsheet reads."""

import csv
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOM = ROOT / "hardware" / "bom.csv"
COLUMNS = ["build", "part", "quantity", "purpose", "example_part", "notes"]
BUILDS = ("rpi", "pico_w")
# Each build must list a part whose name contains one of these words, per need.
NEEDS = {
    "board": ("Raspberry Pi Zero 2 W", "Raspberry Pi Pico W"),
    "board power supply": ("Power supply 5 V",),
    "door strike": ("Door strike 12 V",),
    "strike power supply": ("Power supply 12 V",),
    "relay module": ("Relay module",),
    "MOSFET alternative": ("Logic-level N-MOSFET",),
    "flyback diode": ("Flyback diode",),
    "door button": ("normally open vandal-resistant",),
    "LED": ("LED",),
    "LED resistor": ("Resistor",),
    "amplifier": ("MAX98357A",),
    "microphone": ("INMP441",),
    "speaker": ("Speaker",),
    "wiring": ("Jumper wires", "Cable"),
}


def rows():
    with BOM.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def test_every_row_is_complete_with_a_positive_integer_quantity():
    for number, row in enumerate(rows(), start=2):
        assert None not in row, "line %d has extra fields" % number
        assert all(row[column] is not None for column in COLUMNS), number
        for column in ("build", "part", "quantity", "purpose", "example_part"):
            assert row[column].strip(), "line %d: empty %s" % (number, column)
        assert row["quantity"].isdigit() and int(row["quantity"]) > 0, number
        assert row["build"] in BUILDS, number


def test_both_builds_list_everything_a_door_needs():
    for build in BUILDS:
        parts = [row["part"] for row in rows() if row["build"] == build]
        for need, words in NEEDS.items():
            assert any(word in part for part in parts for word in words), (build, need)


def test_pi_build_offers_the_usb_sound_card_alternative():
    parts = [row["part"] for row in rows() if row["build"] == "rpi"]
    assert "USB sound card with microphone input" in parts


def test_no_part_is_listed_twice_in_a_build():
    keys = [(row["build"], row["part"]) for row in rows()]
    assert len(keys) == len(set(keys))
