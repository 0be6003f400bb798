# Quiet hours (intercom.app.quiet_hours): windows by weekday and local
# time, past midnight and across the week's end, per button, the owner's
# mode, and an unknown clock. Runs under pytest and under the MicroPython
# runner.

from intercom.app.quiet_hours import QuietHours, minute_of_day
from machine_events import drain

MON, TUE, FRI, SAT, SUN = 0, 1, 4, 5, 6
NIGHTS = {"days": ["fri", "sat"], "start": "22:00", "end": "07:00", "targets": ["flat1"]}


def entry(buttons=(1,), **fields):
    result = dict(NIGHTS)
    result["buttons"] = list(buttons)
    result.update(fields)
    return result


def at(quiet, weekday, hhmm):
    quiet.set_local_time((weekday, minute_of_day(hhmm)), 1000)
    return quiet.targets(1)


def test_a_window_runs_from_its_start_day_past_midnight():
    quiet = QuietHours([entry()])
    assert at(quiet, FRI, "21:59") is None
    assert at(quiet, FRI, "22:00") == ["flat1"]
    assert at(quiet, SAT, "03:00") == ["flat1"]
    assert at(quiet, SAT, "06:59") == ["flat1"]
    assert at(quiet, SAT, "07:00") is None
    assert at(quiet, SUN, "06:00") == ["flat1"]  # Saturday's night
    assert at(quiet, MON, "03:00") is None  # Sunday is not listed
    assert at(quiet, TUE, "23:00") is None


def test_sunday_night_runs_into_monday_and_a_whole_day_is_00_to_24():
    quiet = QuietHours([entry(days=["sun"], start="23:00", end="01:00", targets=[])])
    assert at(quiet, MON, "00:30") == []
    assert at(quiet, MON, "01:00") is None
    whole = QuietHours([entry(days=["tue"], start="00:00", end="24:00")])
    assert at(whole, MON, "23:59") is None
    assert at(whole, TUE, "00:00") == ["flat1"] and at(whole, TUE, "23:59") == ["flat1"]
    assert at(whole, 2, "00:00") is None


def test_only_the_listed_buttons_are_quiet_and_the_first_entry_wins():
    quiet = QuietHours(
        [entry(buttons=[2], targets=["flat2-mobile"]), entry(buttons=[1, 2], targets=[])]
    )
    quiet.set_local_time((FRI, minute_of_day("23:00")), 0)
    assert quiet.targets(2) == ["flat2-mobile"]
    assert quiet.targets(1) == []
    assert quiet.targets(3) is None


def test_active_changes_are_events_and_the_same_state_is_not_repeated():
    quiet = QuietHours([entry()])
    quiet.set_local_time((FRI, minute_of_day("21:59")), 100)
    assert drain(quiet) == []
    quiet.set_local_time((FRI, minute_of_day("22:00")), 200)
    quiet.set_local_time((FRI, minute_of_day("22:01")), 300)
    quiet.set_local_time((SAT, minute_of_day("07:00")), 400)
    assert drain(quiet) == [
        {
            "ts_ms": 200,
            "event": "quiet_hours",
            "active": True,
            "mode": "auto",
            "source": "schedule",
        },
        {
            "ts_ms": 400,
            "event": "quiet_hours",
            "active": False,
            "mode": "auto",
            "source": "schedule",
        },
    ]


def test_an_unknown_clock_is_never_quiet():
    quiet = QuietHours([entry(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])])
    assert quiet.targets(1) is None and not quiet.active
    quiet.set_local_time((FRI, minute_of_day("23:00")), 0)
    assert quiet.active
    quiet.set_local_time(None, 10)
    assert quiet.targets(1) is None and not quiet.active


def test_the_owner_switches_quiet_on_and_off_whatever_the_clock():
    quiet = QuietHours([entry(targets=["flat1-mobile"])])
    quiet.set_local_time((MON, minute_of_day("12:00")), 0)
    assert quiet.set_mode("on", "mqtt", 10)
    assert quiet.active and quiet.targets(1) == ["flat1-mobile"]
    assert quiet.targets(3) == []  # no entry names button 3: nothing rings it
    quiet.set_local_time((FRI, minute_of_day("23:00")), 20)
    assert quiet.set_mode("off", "http", 30)
    assert not quiet.active and quiet.targets(1) is None
    assert quiet.set_mode("auto", "http", 40)
    assert quiet.active and quiet.targets(1) == ["flat1-mobile"]
    assert not quiet.set_mode("sometimes", "http", 50)
    assert quiet.mode == "auto"
    assert [(e["active"], e["mode"], e["source"]) for e in drain(quiet)] == [
        (True, "on", "mqtt"),
        (False, "off", "http"),
        (True, "auto", "http"),
    ]


def test_setting_the_mode_it_has_is_no_event_and_a_saved_mode_starts_on():
    quiet = QuietHours([], "on")
    assert quiet.active and quiet.targets(1) == []
    assert quiet.set_mode("on", "mqtt", 0)
    assert drain(quiet) == []


def test_times_are_hh_mm_up_to_24_00():
    assert minute_of_day("00:00") == 0
    assert minute_of_day("7:05") == 425
    assert minute_of_day("24:00") == 1440
    for bad in ("24:01", "12:60", "1200", "12:5", "ab:cd", "123:00", ""):
        assert minute_of_day(bad) is None, bad
