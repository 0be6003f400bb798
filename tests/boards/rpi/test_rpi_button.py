"""The rpi button: RPi.GPIO edge callbacks -> self-pipe -> loop, debounced there.

Runs against the fake RPi.GPIO (tests/support/hardware/RPi), which fires
callbacks on its own thread and applies bouncetime the way RPi.GPIO does.
"""

import threading
import time

from boards.rpi.gpio_input import GpioInput
from boards.runtime.loop import Loop
from support.gpio import install_fake_gpio

GPIO = install_fake_gpio()

BUTTON = 17


def make_button(debounce_ms, active_low=True):
    GPIO.sim_reset()
    GPIO.setmode(GPIO.BCM)
    loop = Loop()
    loop.call_every(2, lambda: None)  # keeps run_once() short
    changes = []
    button = GpioInput(GPIO, BUTTON, active_low, debounce_ms)

    def on_change(pressed):
        changes.append((pressed, time.monotonic(), threading.get_ident()))

    button.attach(loop, on_change)
    return loop, button, changes


def run_for(loop, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        loop.run_once()


def run_until(loop, predicate, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        loop.run_once()


def settle(loop, changes, count, quiet_s=0.15):
    """Run the loop until `count` changes arrived (however late the GPIO
    thread delivers them on a busy machine), then quiet_s more, in which a
    wrong extra change would show up."""
    run_until(loop, lambda: len(changes) >= count)
    run_for(loop, quiet_s)


def settle_while(action, loop, changes, count):
    """Run the button action on another thread while the loop keeps running
    (as on a Pi: the loop is waiting in poll() while a finger presses) and
    settles on `count` changes; the action has ended when it returns."""
    thread = threading.Thread(target=action)
    thread.start()
    settle(loop, changes, count)
    thread.join()


def states(changes):
    return [pressed for pressed, _, _ in changes]


def test_the_first_edge_acts_at_once_not_after_the_debounce_time():
    loop, button, changes = make_button(debounce_ms=300)
    pressed_at = time.monotonic()
    GPIO.sim_press(BUTTON)
    run_until(loop, lambda: changes)
    assert states(changes) == [True]
    assert changes[0][1] - pressed_at < 0.15  # well inside the 300 ms window
    button.close()


def test_contact_chatter_gives_one_press_and_one_release():
    loop, button, changes = make_button(debounce_ms=30)
    settle_while(
        lambda: GPIO.sim_bounce(BUTTON, pressed=True, edges=7, spacing_ms=2), loop, changes, 1
    )
    assert states(changes) == [True]
    settle_while(
        lambda: GPIO.sim_bounce(BUTTON, pressed=False, edges=5, spacing_ms=3), loop, changes, 2
    )
    assert states(changes) == [True, False]
    button.close()


def test_a_release_inside_the_window_is_not_lost():
    # RPi.GPIO's bouncetime drops the release edge (it comes 5 ms after the
    # press); the loop samples the pin when the window closes.
    loop, button, changes = make_button(debounce_ms=60)

    def tap():
        time.sleep(0.02)
        GPIO.sim_press(BUTTON)
        time.sleep(0.005)
        GPIO.sim_release(BUTTON)

    settle_while(tap, loop, changes, 2)
    assert states(changes) == [True, False]
    assert changes[1][1] - changes[0][1] >= 0.055  # never two changes within 60 ms
    button.close()


def test_a_bouncy_short_press_inside_the_window_is_one_press_and_one_release():
    loop, button, changes = make_button(debounce_ms=80)

    def short_press():
        time.sleep(0.01)
        GPIO.sim_bounce(BUTTON, pressed=True, edges=3, spacing_ms=1)
        time.sleep(0.025)
        GPIO.sim_bounce(BUTTON, pressed=False, edges=3, spacing_ms=1)

    settle_while(short_press, loop, changes, 2)
    assert states(changes) == [True, False]
    button.close()


def test_the_button_handler_runs_on_the_loop_thread_never_on_the_gpio_thread():
    loop, button, changes = make_button(debounce_ms=20)
    GPIO.sim_press(BUTTON)
    run_until(loop, lambda: changes)
    time.sleep(0.03)
    GPIO.sim_release(BUTTON)
    run_until(loop, lambda: len(changes) == 2)
    gpio_thread = GPIO.sim_callback_thread_ident()
    assert gpio_thread is not None and gpio_thread != threading.get_ident()
    assert {ident for _, _, ident in changes} == {threading.get_ident()}
    button.close()


def test_active_high_wiring_uses_the_pull_down_and_a_high_level_is_pressed():
    loop, button, changes = make_button(debounce_ms=10, active_low=False)
    assert GPIO.input(BUTTON) == GPIO.LOW
    assert not button.pressed
    GPIO.sim_press(BUTTON)
    run_until(loop, lambda: changes)
    assert GPIO.input(BUTTON) == GPIO.HIGH
    assert states(changes) == [True]
    button.close()


def test_zero_debounce_reports_every_change():
    loop, button, changes = make_button(debounce_ms=0)
    for _ in range(3):
        GPIO.sim_press(BUTTON)
        run_until(loop, lambda: button.pressed)
        GPIO.sim_release(BUTTON)
        run_until(loop, lambda: not button.pressed)
    assert states(changes) == [True, False] * 3
    button.close()


def test_close_stops_edge_detection_and_frees_the_pipe():
    loop, button, changes = make_button(debounce_ms=10)
    button.close()
    GPIO.sim_press(BUTTON)
    GPIO.sim_wait_callbacks()
    run_for(loop, 0.03)
    assert changes == []
    assert not GPIO.event_detected(BUTTON)
