"""Relay and LED on the rpi board (fake RPi.GPIO): the relay is driven LOW
before anything else, and LOW again on every way out; LED patterns."""

import pytest
from boards.rpi import board as rpi
from boards.runtime.led import PATTERNS, LedBlinker
from intercom import config as schema
from support.gpio import install_fake_gpio

GPIO = install_fake_gpio()

RELAY = 27
LED = 22
BUTTON = 17


class RecordingGpio:
    """RPi.GPIO with every call recorded in order (name, args)."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        value = getattr(GPIO, name)
        if not callable(value):
            return value

        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return value(*args, **kwargs)

        return record


def rpi_config(tmp_path, **audio):
    raw = {
        "device": {"board": "rpi"},
        "sip": {"local_port": 0},
        "call": {"targets": ["sip:flat@127.0.0.1:5999"]},
        "audio": {"input": "silence", "output": "null", **audio},
        "door": {"state_file": str(tmp_path / "state.json")},
    }
    return schema.validate(raw, "test.toml")


def levels(channel):
    return [level for _, level in GPIO.sim_outputs(channel)]


def test_the_relay_is_set_up_low_before_any_other_pin(tmp_path):
    GPIO.sim_reset()
    gpio = RecordingGpio()
    outputs = rpi.RpiOutputs(gpio, RELAY, LED)
    setups = [call for call in gpio.calls if call[0] == "setup"]
    assert setups[0] == ("setup", (RELAY, GPIO.OUT), {"initial": GPIO.LOW})
    assert levels(RELAY) == [0]
    outputs.release()
    assert levels(RELAY) == [0, 0, None]  # driven low again, then released by cleanup()
    assert GPIO.getmode() is None


class BoomError(Exception):
    pass


def test_the_relay_goes_low_when_the_runtime_crashes_with_the_relay_on(tmp_path, monkeypatch):
    GPIO.sim_reset()

    def crash(runtime):
        runtime.board.set_relay(True)
        raise BoomError()

    monkeypatch.setattr(rpi.Runtime, "run", crash)
    with pytest.raises(BoomError):
        rpi.run(rpi_config(tmp_path), gpio=GPIO, environ={})
    assert levels(RELAY) == [0, 1, 0, None]
    assert GPIO.getmode() is None  # cleanup() ran


def test_an_audio_device_that_cannot_open_is_an_error_exit_with_the_relay_low(tmp_path, capsys):
    GPIO.sim_reset()
    config = rpi_config(tmp_path, input="file:%s" % (tmp_path / "missing.wav"))
    status = rpi.run(config, gpio=GPIO, environ={})
    assert status == 1
    assert '"event": "error"' in capsys.readouterr().out
    assert levels(RELAY) == [0, 0, None]


class VirtualLoop:
    """call_later on a virtual clock: advance(ms) fires what is due, in order."""

    def __init__(self):
        self.now = 0
        self.timers = []

    def call_later(self, delay_ms, callback):
        timer = VirtualTimer(self, self.now + delay_ms, callback)
        self.timers.append(timer)
        return timer

    def advance_to(self, when):
        while True:
            due = [t for t in self.timers if t.deadline <= when]
            if not due:
                break
            timer = min(due, key=lambda t: t.deadline)
            self.timers.remove(timer)
            self.now = timer.deadline
            timer.callback()
        self.now = when


class VirtualTimer:
    def __init__(self, loop, deadline, callback):
        self.loop = loop
        self.deadline = deadline
        self.callback = callback

    def cancel(self):
        if self in self.loop.timers:
            self.loop.timers.remove(self)


def led_trace(pattern, until_ms, start_with=None):
    loop = VirtualLoop()
    trace = []
    blinker = LedBlinker(loop, lambda level: trace.append((loop.now, level)))
    if start_with:
        blinker.show(start_with)
        loop.advance_to(150)
        trace.clear()
    blinker.show(pattern)
    start = loop.now
    loop.advance_to(start + until_ms)
    return [(t - start, level) for t, level in trace]


def test_led_steady_patterns_write_once():
    assert led_trace("on", 5000) == [(0, 1)]
    assert led_trace("off", 5000) == [(0, 0)]


def test_led_blink_patterns_follow_their_cadence():
    assert led_trace("slow", 2000) == [(0, 1), (500, 0), (1000, 1), (1500, 0), (2000, 1)]
    assert led_trace("fast", 400) == [(0, 1), (100, 0), (200, 1), (300, 0), (400, 1)]
    assert led_trace("double", 1000) == [(0, 1), (100, 0), (200, 1), (300, 0), (1000, 1)]


def test_a_new_pattern_starts_at_once_and_the_old_one_stops():
    trace = led_trace("on", 3000, start_with="fast")
    assert trace == [(0, 1)]


def test_every_contract_pattern_exists():
    assert sorted(PATTERNS) == sorted(("off", "on", "slow", "fast", "double"))  # Station.led


def test_led_patterns_reach_the_led_pin():
    GPIO.sim_reset()
    outputs = rpi.RpiOutputs(GPIO, RELAY, LED)
    loop = VirtualLoop()
    blinker = LedBlinker(loop, outputs.set_led)
    blinker.show("fast")
    loop.advance_to(350)
    blinker.stop()
    assert levels(LED) == [0, 1, 0, 1, 0, 0]
    outputs.release()
