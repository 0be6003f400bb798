# Local time from POSIX TZ strings (intercom.tz), with instants around real
# changes of summer time; the expected local times are those of the IANA
# database (zoneinfo) for the zone each string describes. Runs under pytest
# and under the MicroPython runner.

from intercom import tz

BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"
SYDNEY = "AEST-10AEDT,M10.1.0,M4.1.0/3"
NUUK = "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"


def local(text, utc_s):
    return tz.parse(text).local(utc_s)


def raises(text):
    try:
        tz.parse(text)
    except ValueError as error:
        return str(error)
    return None


def test_central_europe_changes_at_one_utc_both_ways():
    assert local(BERLIN, 1743296399) == (2025, 3, 30, 1, 59, 59, 6, False)
    assert local(BERLIN, 1743296400) == (2025, 3, 30, 3, 0, 0, 6, True)
    assert local(BERLIN, 1761440399) == (2025, 10, 26, 2, 59, 59, 6, True)
    assert local(BERLIN, 1761440400) == (2025, 10, 26, 2, 0, 0, 6, False)


def test_new_york_changes_at_two_local_time():
    assert local(NEW_YORK, 1741503599) == (2025, 3, 9, 1, 59, 59, 6, False)
    assert local(NEW_YORK, 1741503600) == (2025, 3, 9, 3, 0, 0, 6, True)
    assert local(NEW_YORK, 1762063199) == (2025, 11, 2, 1, 59, 59, 6, True)
    assert local(NEW_YORK, 1762063200) == (2025, 11, 2, 1, 0, 0, 6, False)


def test_the_southern_hemisphere_has_summer_across_new_year():
    assert local(SYDNEY, 1743868799) == (2025, 4, 6, 2, 59, 59, 6, True)
    assert local(SYDNEY, 1743868800) == (2025, 4, 6, 2, 0, 0, 6, False)
    assert local(SYDNEY, 1759593599) == (2025, 10, 5, 1, 59, 59, 6, False)
    assert local(SYDNEY, 1759593600) == (2025, 10, 5, 3, 0, 0, 6, True)
    assert local(SYDNEY, 1751328000) == (2025, 7, 1, 10, 0, 0, 1, False)


def test_quoted_names_half_hours_and_negative_change_times():
    assert local("<+0330>-3:30", 1748808000) == (2025, 6, 1, 23, 30, 0, 6, False)
    assert local(NUUK, 1743296399) == (2025, 3, 29, 22, 59, 59, 5, False)
    assert local(NUUK, 1743296400) == (2025, 3, 30, 0, 0, 0, 6, True)


def test_julian_days_skip_february_29_and_zero_based_days_count_it():
    # J60 is March 1 in every year; day 59 is February 29 in a leap year
    # and March 1 otherwise; both change at 02:00 local (UTC here)
    assert local("XST0XDT-1,J60,J300", 1709258400 - 1)[7] is False
    assert local("XST0XDT-1,J60,J300", 1709258400)[7] is True
    assert local("XST0XDT-1,59,299", 1709172000 - 1)[7] is False
    assert local("XST0XDT-1,59,299", 1709172000)[7] is True
    assert local("XST0XDT-1,59,299", 1740794400)[7] is True


def test_calendar_corners_without_summer_time():
    assert local("UTC0", 0) == (1970, 1, 1, 0, 0, 0, 3, False)
    assert local("UTC0", 1709251199) == (2024, 2, 29, 23, 59, 59, 3, False)
    assert local("UTC0", 4107542400) == (2100, 3, 1, 0, 0, 0, 0, False)
    assert local("GMT0", -1) == (1969, 12, 31, 23, 59, 59, 2, False)


def test_the_fifth_week_is_the_last_even_in_a_four_week_month():
    zone = tz.parse("XST0XDT,M2.5.0,M10.5.0")  # the last Sunday of February
    assert tz.civil_from_days(tz._rule_day(zone.start, 2026)) == (2026, 2, 22)
    assert tz.civil_from_days(tz._rule_day(zone.start, 2032)) == (2032, 2, 29)


def test_days_and_dates_round_trip():
    for days in (-719468, -1, 0, 59, 11016, 19782, 47482, 2932896):
        year, month, day = tz.civil_from_days(days)
        assert tz.days_from_civil(year, month, day) == days


def test_what_parse_refuses_says_why():
    assert "empty" in raises("")
    assert "zone file" in raises(":Europe/Berlin")
    assert "zone file" in raises("Europe/Berlin")
    assert "3 or more" in raises("C-1")
    assert "number" in raises("CET")
    assert "rules" in raises("CET-1CEST")
    assert "end rule" in raises("CET-1CEST,M3.5.0")
    assert "week" in raises("CET-1CEST,M3.6.0,M10.5.0")
    assert "month" in raises("CET-1CEST,M13.5.0,M10.5.0")
    assert "weekday" in raises("CET-1CEST,M3.5.7,M10.5.0")
    assert "above" in raises("XST25")
    assert "'<' without" in raises("<+03-3")
    assert "unexpected" in raises("CET-1CEST,M3.5.0,M10.5.0/3 ")
    assert "Jn counts days from 1" in raises("XST0XDT,J0,J300")
    assert "168 is above 167" in raises("XST0XDT,M3.5.0/168,M10.5.0")
    assert raises(BERLIN) is None and raises("<-03>3") is None
