"""`make flash TARGET=pico` (host_tools.flash pico, mpremote) on the emulated
Pico W running the frozen firmware's door: the port is the emulated USB
CDC REPL (host_tools/rp2040/serial_port.py). The probe finds the door
frozen in, so only config.json and the voicemail's prompt are copied, the
filesystem copies that would shadow the frozen modules go, and after the
soft reset the door runs the new config with its prompt in place. The door
runs with the test image's network stand-ins and a server where nobody
answers: it keeps trying to register, as a door whose network is down
would."""

import json
import subprocess
import sys

import pytest

from host_tools.rp2040.call import FIRMWARE, NETWORK_UART, config_json, door_toml
from host_tools.rp2040.emulator import EmulatedPico
from host_tools.rp2040.kamailio import free_udp_port
from host_tools.rp2040.littlefs_image import build_image
from host_tools.rp2040.serial_port import SerialPort

pytestmark = pytest.mark.integration  # the emulated RP2040 on a firmware build, mpremote
BOOT_TIMEOUT_S = 180
WATCH_S = 60  # the flasher's look at the door after its soft reset (wall time)


def door_events(pico):
    return [json.loads(line) for line in pico.usb_lines if line.startswith("{")]


def started_names(pico):
    return [event["name"] for event in door_events(pico) if event["event"] == "started"]


def test_flash_to_a_running_frozen_door_copies_config_json_and_the_prompt_only(
    pico_firmware, image_files, tmp_path
):
    sip_port, server_port = free_udp_port(), free_udp_port()
    old = door_toml(sip_port, server_port)
    files = dict(image_files)
    files["config.json"] = config_json(tmp_path, old)
    # A main.py left by a stock-firmware flash before make firmware (the
    # frozen one runs first; folders of modules would shadow the frozen ones
    # and stop the door from booting at all).
    files["main.py"] = (FIRMWARE / "main.py").read_bytes()
    image = build_image(files, tmp_path / "littlefs.img")
    pico = EmulatedPico(pico_firmware.bin, image, tmp_path, network_uart=NETWORK_UART)
    pico.start()
    try:
        pico.wait_for(lambda event: event["ev"] == "ready", BOOT_TIMEOUT_S)
        pico.wait_for(
            lambda event: event["ev"] == "usb" and '"started"' in event["data"], BOOT_TIMEOUT_S
        )
        new = tmp_path / "new.toml"
        new.write_text(old.replace('name = "Emulated door"', 'name = "Flashed door"'))
        new.chmod(0o600)
        port = SerialPort(pico)
        try:
            flashed = subprocess.run(
                [sys.executable, "-m", "host_tools.flash", "pico", "--port", port.path]
                + ["--config", str(new), "--watch", str(WATCH_S)],
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            port.close()
    finally:
        pico.stop()
    output = flashed.stdout + flashed.stderr
    assert flashed.returncode == 0, output
    assert "copying config.json and prompts/no_answer.wav only" in output, output
    assert "removing 1 files that would shadow the frozen modules" in output, output
    assert "verified: config.json and prompts/no_answer.wav" in output, output
    assert started_names(pico)[0] == "Emulated door"
    assert started_names(pico)[-1] == "Flashed door", pico.usb_lines[-20:]
    # The image had no prompt: the first door said so, the flashed one plays it.
    events = door_events(pico)
    restart = max(i for i, event in enumerate(events) if event["event"] == "started")
    assert "error" in [event["event"] for event in events[:restart]], events
    assert "error" not in [event["event"] for event in events[restart:]], events
