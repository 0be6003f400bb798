"""The rpi board's new inputs and outputs as a service process (fake
RPi.GPIO through its control FIFO and output log): button 2 on its own pin,
the door contact, exit button and tamper switch with the pull-up and their
polarity (their level at boot reported), the chime and call-state outputs
driven and, at the stop, driven low and released with the relay."""

import json
import os
import signal

from support.door import start_door
from support.paths import FAKE_GPIO_PATH
from support.ports import free_port

BUTTON_2, DOOR_CONTACT, EXIT, TAMPER = 23, 5, 6, 13
RELAY, CHIME, CALLING, TALKING, DOOR_OPEN = 27, 26, 12, 25, 4
OUTPUTS = (RELAY, CHIME, CALLING, TALKING, DOOR_OPEN)


def door_sections():
    return {
        "device": {"board": "rpi"},
        "sip": {"local_port": 0},
        "call": {"targets": ["sip:flat@127.0.0.1:%d" % free_port()]},
        "audio": {"input": "tone", "output": "null"},
        "door": {"state_file": "state.json", "tamper_blocks_open": True},
        "chime": {"pulse_ms": 200},
        "gpio": {
            "door_contact": DOOR_CONTACT,
            "exit_button": EXIT,
            "tamper": TAMPER,
            "chime": CHIME,
            "calling": CALLING,
            "talking": TALKING,
            "door_open": DOOR_OPEN,
        },
        "button": [{"id": 1}, {"id": 2, "label": "Flat 2"}],
    }


def levels(folder, channel):
    entries = [json.loads(line) for line in (folder / "gpio.log").read_text().splitlines()]
    return [entry["level"] for entry in entries if entry["channel"] == channel]


def test_inputs_and_outputs_of_an_rpi_door(tmp_path, owned):
    control = tmp_path / "gpio-control"
    os.mkfifo(control)
    env = {"FAKE_RPI_GPIO_CONTROL": str(control), "FAKE_RPI_GPIO_LOG": str(tmp_path / "gpio.log")}
    door = start_door(
        owned, tmp_path, door_sections(), env=env, python_path=[FAKE_GPIO_PATH], stdin=False
    )
    events = door
    writer = None
    try:
        writer = open(control, "w")

        def send(line):
            writer.write(line + "\n")
            writer.flush()

        # unwired pull-up inputs read high: the lid off (the door open: no event at boot)
        assert events.wait_for("tamper")["state"] == "triggered"
        send("level %d 0" % DOOR_CONTACT)
        send("level %d 0" % TAMPER)
        wait_state(events, "door_contact", "closed")
        wait_state(events, "tamper", "restored")
        send("press %d" % BUTTON_2)
        pressed = events.wait_for("button")
        assert (pressed["button"], pressed["state"], pressed["repeat"]) == (2, "pressed", 0)
        assert events.wait_for("call_started")["button"] == 2
        send("release %d" % BUTTON_2)
        send("level %d 1" % DOOR_CONTACT)  # opened with a key while it rings
        events.wait_for("door_forced")
        assert events.wait_for("call_ended")["reason"] == "door_opened"
        send("press %d" % EXIT)
        events.wait_for("exit_button")
        assert events.wait_for("door_opened")["source"] == "exit_button"
        send("release %d" % EXIT)
        events.wait_for("door_closed")
        door.process.send_signal(signal.SIGTERM)
        assert door.wait(timeout=10) == 0
    finally:
        if writer is not None:
            writer.close()
    assert levels(tmp_path, CALLING)[:3] == [0, 1, 0]
    assert levels(tmp_path, CHIME)[:3] == [0, 1, 0]
    assert levels(tmp_path, DOOR_OPEN)[:3] == [0, 1, 0]
    assert levels(tmp_path, TALKING) == [0, 0, None]  # never talking
    for channel in OUTPUTS:
        assert levels(tmp_path, channel)[0] == 0  # low from the start
        assert levels(tmp_path, channel)[-2:] == [0, None], channel  # low, then released


def wait_state(events, name, state):
    while True:
        event = events.wait_for(name)
        events.seen.remove(event)
        if event["state"] == state:
            return event
