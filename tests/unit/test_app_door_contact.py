# The door contact (intercom.app.door_contact) on a virtual clock: the first
# report is the door at boot, a door opened while the relay is idle was
# forced, a door open too long is reported once per opening. Runs under
# pytest and under the MicroPython runner.

from intercom.app.door_contact import FORCED_GRACE_MS, DoorContact
from machine_events import drain, event_names, run_timers


def test_the_first_report_is_the_state_at_boot_without_an_event():
    contact = DoorContact(60)
    assert contact.report(True, 0) is False
    assert contact.state == "open" and drain(contact) == []
    assert contact.get_timer() == 60000  # open at boot counts from boot
    assert contact.report(True, 10) is False and drain(contact) == []
    assert contact.report(False, 20) is False
    assert drain(contact) == [{"ts_ms": 20, "event": "door_contact", "state": "closed"}]


def test_a_door_opened_with_the_relay_idle_was_forced():
    contact = DoorContact(60)
    contact.report(False, 0)
    assert contact.report(True, 1000) is True
    assert drain(contact) == [
        {"ts_ms": 1000, "event": "door_contact", "state": "open"},
        {"ts_ms": 1000, "event": "door_forced"},
    ]


def test_a_door_opened_while_the_relay_is_on_or_just_after_is_not_forced():
    contact = DoorContact(60)
    contact.report(False, 0)
    contact.relay_changed(True, 100)
    assert contact.report(True, 500) is True
    contact.report(False, 2000)
    contact.relay_changed(False, 3100)
    assert contact.report(True, 3100 + FORCED_GRACE_MS - 1) is True
    contact.report(False, 6000)
    assert "door_forced" not in event_names(contact)
    run_timers(contact, 6000)  # the grace ended by its own timer
    assert contact.get_timer() is None
    contact.report(True, 7000)
    assert event_names(contact) == ["door_contact", "door_forced"]


def test_open_too_long_is_reported_once_per_opening_and_not_after_closing():
    contact = DoorContact(60)
    contact.report(False, 0)
    contact.relay_changed(True, 0)
    contact.report(True, 1000)
    drain(contact)
    assert contact.get_timer() == 61000
    run_timers(contact, 60999)
    assert drain(contact) == []
    run_timers(contact, 200000)
    assert drain(contact) == [{"ts_ms": 61000, "event": "door_open_too_long", "open_ms": 60000}]
    assert contact.get_timer() is None
    contact.report(False, 210000)
    contact.report(True, 220000)
    contact.report(False, 250000)
    run_timers(contact, 400000)
    assert "door_open_too_long" not in event_names(contact)


def test_a_late_timer_reports_how_long_the_door_really_was_open():
    contact = DoorContact(30)
    contact.report(False, 0)
    contact.report(True, 5000)
    drain(contact)
    contact.handle_timer(35000 + 250)
    assert drain(contact)[0]["open_ms"] == 30250


def test_zero_seconds_never_reports_a_door_open_too_long():
    contact = DoorContact(0)
    contact.report(True, 0)
    assert contact.get_timer() is None
