# Pico W board parts under the MicroPython unix port with the stand-in
# machine/network modules. Not collected by pytest (CPython has no
# time.ticks_ms); test_pico_parts.py runs it through tests/unit/mp_runner.py with
# PICO_PIN_CONTROL, PICO_I2S_MIC, PICO_WLAN_FAILS set.

import gc
import os
import struct

import machine
from boards.pico_w import board as pico_w
from boards.pico_w.audio import PicoAudio, stereo32_to_mono16
from boards.runtime.loop import Loop
from boards.runtime.udp import UdpSocket
from intercom.pins import I2S_PINS


def control(text):
    with open(os.getenv("PICO_PIN_CONTROL"), "a") as commands:
        commands.write(text)


def test_button_bounce_is_one_press_and_the_irq_only_counts():
    button = pico_w.PinInput(5, True, 30)
    assert button.poll(1000) is None
    control("bounce 5 pressed 5\n")
    assert button.poll(1010) is True  # the first sample after the edges acts
    assert button.edges == 5  # the IRQ handler counted every edge
    control("bounce 5 released 3\n")
    assert button.poll(1020) is None  # inside the 30 ms window: chatter
    assert button.poll(1040) is False  # the level when the window closed
    assert button.poll(1050) is None


def test_active_high_button_uses_the_pull_down():
    button = pico_w.PinInput(6, False, 0)
    assert button.pin._pull == machine.Pin.PULL_DOWN
    control("press 6\n")
    assert button.poll(0) is True
    control("release 6\n")
    assert button.poll(1) is False


def test_a_glitch_between_samples_is_counted_not_reported():
    button = pico_w.PinInput(7, True, 30)
    control("press 7\nrelease 7\n")
    assert button.poll(0) is None
    assert button.glitches == 1


def test_outputs_drive_the_relay_low_first():
    outputs = pico_w.PicoOutputs(8, 9)
    assert outputs.relay.value() == 0 and outputs.relay._mode == machine.Pin.OUT
    outputs.set_relay(True)
    assert outputs.relay.value() == 1
    outputs.release()
    assert outputs.relay.value() == 0 and outputs.led.value() == 0


def test_stereo32_frames_give_the_left_slots_top_16_bits():
    raw = bytearray()
    for left, right in ((0x12345678, 0x7FFF0000), (-0x01000000, 0x11110000)):
        raw.extend(struct.pack("<ii", left, right))
    out = bytearray(4)
    stereo32_to_mono16(raw, out, 2)
    assert struct.unpack("<hh", out) == (0x1234, -0x0100)


def test_i2s_mic_frames_come_in_order_one_loop_wake_each():
    # The stand-in mic file holds samples -160..159 (two 20 ms frames), then
    # silence; the frames arrive in 2 ms DMA blocks from attach() on.
    loop = Loop()
    audio = PicoAudio(machine, I2S_PINS["pico_w"], 20)
    frames = []
    wakeups = []

    def exchange(mic):
        frames.append(struct.unpack("<160h", mic))
        wakeups.append(loop.wakeups)
        return bytes(320)

    audio.attach(loop, exchange)
    while len(frames) < 6:
        loop.run_once()
    audio.close()
    # The frames in the file's order; one is missing only where the loop
    # came late and a newer frame was waiting (late_frames, counted).
    expected = [tuple(range(-160, 0)), tuple(range(160))] + [(0,) * 160] * 20
    position = 0
    for frame in frames:
        while expected[position] != frame:
            position += 1
        position += 1
    assert audio.frames == len(frames) + audio.late_frames
    # In step with the mic (from the second frame on): one loop wake a frame.
    steps = [wakeups[index + 1] - wakeups[index] for index in range(1, len(wakeups) - 1)]
    assert steps == [1, 1, 1, 1], wakeups


def test_wifi_retries_until_it_connects():
    # PICO_WLAN_FAILS=2: two attempts fail, the third gets an address.
    wifi = pico_w.WifiLink("testnet", "not-a-secret")
    feeds = []
    leds = []
    assert wifi.connect_blocking(lambda: feeds.append(1), leds.append)
    assert wifi.address() == "127.0.0.1"
    assert feeds and 1 in leds and leds[-1] == 0


def test_wifi_reconnects_when_the_link_drops():
    wifi = pico_w.WifiLink("testnet", "not-a-secret")
    assert wifi.connect_blocking(lambda: None, lambda level: None)
    wifi.wlan.disconnect()
    wifi.check(100)
    assert wifi.wlan.status() in (1, 3)  # connect() was called again
    attempts = wifi.wlan._attempts
    wifi.wlan.disconnect()
    wifi.check(200)  # within the 10 s retry spacing: no new attempt
    assert wifi.wlan._attempts == attempts


def test_loop_passes_that_find_a_due_timer_and_a_quiet_socket_leave_no_garbage():
    # On a Pico W every allocation searches the heap, thousands of cycles,
    # and the door's loop passes hundreds of times a second.
    loop = Loop()
    sock = UdpSocket("127.0.0.1")
    loop.add_reader(sock, lambda source, events: None)
    ticks = [0]

    def tick():
        ticks[0] += 1

    loop.call_every(1, tick)
    for _ in range(3):  # the loop's own lists reach their size
        loop.run_once()
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        while ticks[0] < 23:
            loop.run_once()
        after = gc.mem_alloc()
    finally:
        gc.enable()
    loop.remove_reader(sock)
    sock.close()
    assert after == before, after - before
