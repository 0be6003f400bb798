"""The rpi board as a service process (fake RPi.GPIO, ALSA file plugins):
systemd's READY/WATCHDOG/STOPPING over NOTIFY_SOCKET, and a signal stops it
with the relay driven low and released."""

import json
import signal
import socket
import time

import numpy
from support.alsa import write_alsa_config
from support.config import door_sections
from support.door import start_door
from support.paths import FAKE_GPIO_PATH
from support.ports import free_port

RELAY = 27


def start_rpi_door(owned, folder, extra_env):
    mic = folder / "mic.raw"
    mic.write_bytes(numpy.zeros(8000, dtype="<i2").tobytes())
    env_alsa, _ = write_alsa_config(folder, mic)
    sections = door_sections(
        ["sip:flat@127.0.0.1:%d" % free_port()],
        board="rpi",
        audio={"input": "door_mic", "output": "door_speaker"},
    )
    env = {**env_alsa, "FAKE_RPI_GPIO_LOG": str(folder / "gpio.log"), **extra_env}
    return start_door(owned, folder, sections, env=env, python_path=[FAKE_GPIO_PATH], stdin=False)


def relay_levels(folder):
    entries = [json.loads(line) for line in (folder / "gpio.log").read_text().splitlines()]
    return [entry["level"] for entry in entries if entry["channel"] == RELAY]


def test_systemd_hears_ready_watchdog_pings_and_stopping(tmp_path, owned):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(5)
    door = start_rpi_door(
        owned, tmp_path, {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    )
    messages = [notify.recv(4096).decode()]
    time.sleep(0.5)
    door.process.send_signal(signal.SIGTERM)
    assert door.wait(timeout=10) == 0
    notify.setblocking(False)
    while True:
        try:
            messages.append(notify.recv(4096).decode())
        except BlockingIOError:
            break
    notify.close()
    assert messages[0].startswith("READY=1")
    assert messages.count("WATCHDOG=1") >= 3  # every 100 ms for about half a second
    assert messages[-1] == "STOPPING=1"


def test_sighup_and_sigterm_stop_the_door_with_the_relay_low(tmp_path, owned):
    for number in (signal.SIGHUP, signal.SIGTERM):
        folder = tmp_path / str(number)
        folder.mkdir()
        door = start_rpi_door(owned, folder, {})
        door.process.send_signal(number)
        assert door.wait(timeout=10) == 0
        levels = relay_levels(folder)
        assert levels[0] == 0 and 1 not in levels and levels[-2:] == [0, None]
