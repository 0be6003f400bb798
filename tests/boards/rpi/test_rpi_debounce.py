"""boards.runtime.debounce.Debouncer on a virtual clock (it is portable: the Pico
board uses it too; tests/boards/pico runs it under MicroPython)."""

from boards.runtime.debounce import Debouncer
from intercom import compat


def test_first_change_is_accepted_at_once_and_chatter_ignored():
    debouncer = Debouncer(30)
    assert debouncer.update(True, 1000) is True
    assert debouncer.window_end_ms == 1030
    assert debouncer.update(False, 1002) is None
    assert debouncer.update(True, 1004) is None
    assert debouncer.update(False, 1029) is None
    assert debouncer.pressed is True


def test_the_level_at_the_window_end_decides():
    debouncer = Debouncer(30)
    debouncer.update(True, 0)
    assert debouncer.update(False, 30) is False  # released during the window
    assert debouncer.window_end_ms == 60
    assert debouncer.update(False, 60) is None
    assert debouncer.window_end_ms is None


def test_same_level_at_window_end_closes_the_window():
    debouncer = Debouncer(30)
    debouncer.update(True, 0)
    assert debouncer.update(True, 31) is None
    assert debouncer.window_end_ms is None
    assert debouncer.update(False, 32) is False


def test_windows_work_across_the_ticks_wrap():
    start = compat.TICKS_PERIOD - 10
    debouncer = Debouncer(30)
    assert debouncer.update(True, start) is True
    assert debouncer.update(False, compat.ticks_add(start, 29)) is None
    assert debouncer.update(False, compat.ticks_add(start, 30)) is False


def test_held_at_boot_is_not_a_press():
    debouncer = Debouncer(30, pressed=True)
    assert debouncer.update(True, 0) is None
    assert debouncer.update(False, 1) is False
