"""The Pico W board's parts under the MicroPython unix port (stand-in
machine/network), through tests/unit/mp_runner.py: tests/boards/pico/mp_pico_board.py
and the portable debouncer tests of tests/boards/rpi/test_rpi_debounce.py.
Also: every firmware module compiles for the RP2040 (mpy-cross -march=armv6m,
viper code included)."""

import os
import pathlib
import struct
import subprocess
import time

from support.paths import FIRMWARE, MICROPYTHON, ROOT, STAND_INS
from support.pico import (
    LED,
    RELAY,
    compile_firmware,
    control,
    firmware_sources,
    pin_writes,
    start_pico_door,
    write_pico_config,
)


def run_mp(directory, module, env_extra):
    """tests/unit/mp_runner.py on directory's module, with the stand-ins,
    the firmware and that directory on MICROPYPATH."""
    search_path = os.pathsep.join([str(STAND_INS), str(FIRMWARE), str(ROOT / directory)])
    result = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=4M", "tests/unit/mp_runner.py", directory, module],
        cwd=ROOT,
        env={**os.environ, "MICROPYPATH": search_path, **env_extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_pico_board_parts_under_micropython(tmp_path):
    pin_control = tmp_path / "pins.control"
    pin_control.write_text("")
    mic = tmp_path / "mic.raw"
    mic.write_bytes(struct.pack("<320h", *range(-160, 160)))
    output = run_mp(
        "tests/boards/pico",
        "mp_pico_board",
        {"PICO_PIN_CONTROL": str(pin_control), "PICO_I2S_MIC": str(mic), "PICO_WLAN_FAILS": "2"},
    )
    assert "9 passed, 0 failed" in output


def test_debouncer_runs_under_micropython():
    output = run_mp("tests/boards/rpi", "test_rpi_debounce", {})
    assert "5 passed, 0 failed" in output


def test_every_firmware_module_compiles_for_the_rp2040(tmp_path):
    target = compile_firmware(tmp_path, "armv6m")
    compiled = sorted(path.relative_to(target) for path in target.rglob("*.mpy"))
    assert compiled == sorted(relative.with_suffix(".mpy") for relative, _ in firmware_sources())
    assert pathlib.Path("boards/pico_w/board.mpy") in compiled


def test_no_wifi_is_an_error_exit_with_the_relay_low(tmp_path, owned):
    write_pico_config(tmp_path)
    door = start_pico_door(owned, tmp_path, "640k", env_extra={"PICO_WLAN_FAILS": "3"}, wait=None)
    assert door.wait(timeout=60) == 1
    events = door.seen
    assert door.garbage == []  # stdout holds JSON event lines only
    assert [event["event"] for event in events] == ["error"]
    assert "Wi-Fi 'testnet'" in events[0]["reason"]
    writes = pin_writes(tmp_path)
    relay = [level for _, pin, level in writes if pin == RELAY]
    assert writes[0][1:] == (RELAY, 0) and relay[-1] == 0 and 1 not in relay
    led = [level for _, pin, level in writes if pin == LED]
    assert 1 in led and led[-1] == 0  # blinked while trying
    wdt = (tmp_path / "wdt.log").read_text().split("\n")
    assert wdt[0] == "start 8000" and len(wdt) > 2  # fed while waiting


def start_door_on_wifi(owned, folder):
    """A door whose WLAN stand-in follows folder/wlan.control; started."""
    write_pico_config(folder)
    wlan_control = folder / "wlan.control"
    wlan_control.write_text("")
    (folder / "mic.raw").write_bytes(bytes(3200))
    door = start_pico_door(
        owned,
        folder,
        "640k",
        env_extra={"PICO_WLAN_CONTROL": str(wlan_control), "PICO_WLAN_POLLS": "1"},
    )
    return door, wlan_control


def test_a_new_wifi_address_stops_the_door_for_a_reboot(tmp_path, owned):
    """The link drops and comes back on another address (a new DHCP lease):
    an error event naming both addresses, the runtime stops with the relay
    low, and nobody feeds the watchdog any more (it reboots a Pico)."""
    door, wlan_control = start_door_on_wifi(owned, tmp_path)
    with open(wlan_control, "a") as commands:
        commands.write("address 127.0.0.2\ndrop\n")
    error = door.wait_for("error", timeout=20)
    assert door.wait(timeout=15) == 0
    assert error["reason"] == "Wi-Fi address changed from 127.0.0.1 to 127.0.0.2: restarting"
    stderr = (tmp_path / "door.stderr").read_text()
    assert "Wi-Fi link down, reconnecting" in stderr
    assert "stopping (new Wi-Fi address)" in stderr
    relay = [level for _, pin, level in pin_writes(tmp_path) if pin == RELAY]
    assert relay[0] == 0 and relay[-1] == 0 and 1 not in relay


def test_the_same_wifi_address_after_a_drop_keeps_the_door_running(tmp_path, owned):
    door, wlan_control = start_door_on_wifi(owned, tmp_path)
    with open(wlan_control, "a") as commands:
        commands.write("drop\n")
    stderr_path = tmp_path / "door.stderr"
    deadline = time.monotonic() + 20
    while "reconnecting" not in stderr_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(5)  # two more Wi-Fi checks, connected again on the same address
    assert door.process.poll() is None, stderr_path.read_text()
    control(tmp_path, "interrupt\n")  # Ctrl-C: the runtime stops
    assert door.wait(timeout=15) == 0
    assert "reconnecting" in stderr_path.read_text()
    assert "error" not in door.names()
