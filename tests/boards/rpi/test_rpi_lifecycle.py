"""The rpi board as a service process (fake RPi.GPIO, ALSA file plugins):
systemd's READY/WATCHDOG/STOPPING over NOTIFY_SOCKET, and a signal stops it
with the relay driven low and released."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy
from rpi_alsa_files import write_alsa_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"
sys.path.insert(0, str(FAKES))

from flat_peer import EventReader, free_udp_port  # noqa: E402

RELAY = 27


def start_door(folder, extra_env):
    mic = folder / "mic.raw"
    mic.write_bytes(numpy.zeros(8000, dtype="<i2").tobytes())
    env_alsa, _ = write_alsa_config(folder, mic)
    (folder / "door.toml").write_text(
        '[device]\nboard = "rpi"\n[sip]\nlocal_port = %d\n'
        '[call]\ntargets = ["sip:flat@127.0.0.1:%d"]\n'
        '[audio]\ninput = "door_mic"\noutput = "door_speaker"\n[door]\nstate_file = "state.json"\n'
        % (free_udp_port(), free_udp_port())
    )
    env = {
        **os.environ,
        **env_alsa,
        "PYTHONPATH": "%s:%s" % (FAKES, ROOT / "firmware"),
        "FAKE_RPI_GPIO_LOG": str(folder / "gpio.log"),
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "intercom", "run", "-c", "door.toml", "--log", "json"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(folder / "door.stderr", "wb"),
    )


def relay_levels(folder):
    entries = [json.loads(line) for line in (folder / "gpio.log").read_text().splitlines()]
    return [entry["level"] for entry in entries if entry["channel"] == RELAY]


def test_systemd_hears_ready_watchdog_pings_and_stopping(tmp_path):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(5)
    door = start_door(
        tmp_path, {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    )
    try:
        EventReader(door.stdout).wait_for("started")
        messages = [notify.recv(4096).decode()]
        time.sleep(0.5)
        door.send_signal(signal.SIGTERM)
        assert door.wait(timeout=10) == 0
    finally:
        if door.poll() is None:
            door.kill()
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


def test_sighup_and_sigterm_stop_the_door_with_the_relay_low(tmp_path):
    for number in (signal.SIGHUP, signal.SIGTERM):
        folder = tmp_path / str(number)
        folder.mkdir()
        door = start_door(folder, {})
        try:
            EventReader(door.stdout).wait_for("started")
            door.send_signal(number)
            assert door.wait(timeout=10) == 0
        finally:
            if door.poll() is None:
                door.kill()
        levels = relay_levels(folder)
        assert levels[0] == 0 and 1 not in levels and levels[-2:] == [0, None]
