# Local time from UTC by a POSIX TZ string (POSIX.1-2017, 8.3 "TZ"), in
# integer arithmetic, the same on CPython and MicroPython. A Pico W has no
# zone database: time.zone names its zone as the string glibc and the
# zoneinfo files' last line use, e.g. "CET-1CEST,M3.5.0,M10.5.0/3".
#
#   zone = parse(text)        a Zone, or ValueError saying what is wrong
#   zone.local(utc_s)         (year, month, day, hour, minute, second,
#                             weekday, is_dst); weekday 0 = Monday (as
#                             time.localtime's tm_wday)
#
# Grammar (what parse accepts):
#   zone     = std offset [ dst [ offset ] "," rule "," rule ]
#   std, dst = 3 or more letters, or "<" 3 or more of A-Z a-z 0-9 + - ">"
#   offset   = [ "+" / "-" ] hh [ ":" mm [ ":" ss ] ], 0-24 h: the time
#              added to local time to give UTC (so Central Europe is -1);
#              the dst offset defaults to the std offset minus one hour
#   rule     = date [ "/" time ]; time = [ "+" / "-" ] hh [ ":" mm [ ":" ss ] ]
#              local time of the change, default 02:00:00, -167 to 167 h
#              (POSIX.1-2024 and glibc allow beyond 24 h: "M3.2.0/-1")
#   date     = "J" n     day 1-365 of the year, February 29 never counted
#            / n         day 0-365 of the year, February 29 counted
#            / "M" m "." w "." d   month 1-12, week 1-5 (5: the last d of
#                        the month), weekday 0-6 (0: Sunday)
# A zone with a dst name but no rules is refused: POSIX leaves its rules to
# the implementation (glibc guesses the US rules), and a door should not
# guess.
#
# Rules for one instant: the change to summer time happens at its rule's
# local standard time, the change back at its local summer time, both in
# the calendar year of the instant's standard local time. A rule whose
# start comes after its end in the year (the southern hemisphere) is summer
# time outside [end, start).

SECONDS_PER_DAY = 86400
DEFAULT_CHANGE_S = 7200
MAX_OFFSET_S = 24 * 3600
MAX_CHANGE_S = 167 * 3600
NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
QUOTED_CHARS = NAME_CHARS + "0123456789+-"
DIGITS = "0123456789"


def days_from_civil(year, month, day):
    """Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
    days_from_civil, whole numbers only)."""
    if month <= 2:
        year -= 1
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def civil_from_days(days):
    """(year, month, day) of a day count from 1970-01-01."""
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    year = year_of_era + era * 400
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    if month <= 2:
        year += 1
    return (year, month, day)


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def month_days(year, month):
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


class _Cursor:
    def __init__(self, text):
        self.text = text
        self.at = 0

    def peek(self):
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, char):
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def number(self, what, high):
        start = self.at
        while self.peek() and self.peek() in DIGITS:
            self.at += 1
        if start == self.at:
            raise ValueError("%s: a number expected at character %d" % (what, start + 1))
        value = int(self.text[start : self.at])
        if value > high:
            raise ValueError("%s: %d is above %d" % (what, value, high))
        return value

    def name(self, what):
        if self.take("<"):
            start = self.at
            while self.peek() and self.peek() in QUOTED_CHARS:
                self.at += 1
            name = self.text[start : self.at]
            if not self.take(">"):
                raise ValueError("%s: '<' without its '>'" % what)
        else:
            start = self.at
            while self.peek() and self.peek() in NAME_CHARS:
                self.at += 1
            name = self.text[start : self.at]
        if len(name) < 3:
            raise ValueError("%s: a name of 3 or more letters expected" % what)
        return name

    def seconds(self, what, high):
        """[+-]hh[:mm[:ss]] as signed seconds."""
        sign = -1 if self.take("-") else 1
        if sign == 1:
            self.take("+")
        value = self.number(what, high // 3600) * 3600
        if self.take(":"):
            value += self.number(what, 59) * 60
            if self.take(":"):
                value += self.number(what, 59)
        if value > high:
            raise ValueError("%s: beyond %d hours" % (what, high // 3600))
        return sign * value


def _parse_rule(cursor, what):
    if cursor.take("M"):
        month = cursor.number(what + " month", 12)
        if not cursor.take("."):
            raise ValueError("%s: Mm.w.d expected" % what)
        week = cursor.number(what + " week", 5)
        if not cursor.take("."):
            raise ValueError("%s: Mm.w.d expected" % what)
        weekday = cursor.number(what + " weekday", 6)
        if month < 1 or week < 1:
            raise ValueError("%s: month 1-12 and week 1-5" % what)
        rule = ("M", month, week, weekday)
    elif cursor.take("J"):
        day = cursor.number(what + " day", 365)
        if day < 1:
            raise ValueError("%s: Jn counts days from 1" % what)
        rule = ("J", day)
    else:
        rule = ("n", cursor.number(what + " day", 365))
    change = DEFAULT_CHANGE_S
    if cursor.take("/"):
        change = cursor.seconds(what + " time", MAX_CHANGE_S)
    return rule + (change,)


def _rule_day(rule, year):
    """Days from 1970-01-01 to the rule's date in year."""
    if rule[0] == "M":
        month, week, weekday = rule[1], rule[2], rule[3]
        first = days_from_civil(year, month, 1)
        day = first + (weekday - (first + 4) % 7) % 7 + (week - 1) * 7
        while day >= first + month_days(year, month):
            day -= 7
        return day
    january_first = days_from_civil(year, 1, 1)
    if rule[0] == "J":
        number = rule[1] - 1
        if is_leap(year) and number >= 59:
            number += 1
        return january_first + number
    return january_first + rule[1]


class Zone:
    def __init__(self, text, std_name, std_offset, dst_name, dst_offset, start, end):
        self.text = text
        self.std_name = std_name
        self.std_offset = std_offset  # seconds added to local standard time give UTC
        self.dst_name = dst_name
        self.dst_offset = dst_offset
        self.start = start  # rule tuples, the change time last
        self.end = end

    def is_dst(self, utc_s):
        if self.dst_name is None:
            return False
        year = civil_from_days((utc_s - self.std_offset) // SECONDS_PER_DAY)[0]
        start = _rule_day(self.start, year) * SECONDS_PER_DAY + self.start[-1] + self.std_offset
        end = _rule_day(self.end, year) * SECONDS_PER_DAY + self.end[-1] + self.dst_offset
        if start < end:
            return start <= utc_s < end
        return not (end <= utc_s < start)

    def local(self, utc_s):
        dst = self.is_dst(utc_s)
        local_s = utc_s - (self.dst_offset if dst else self.std_offset)
        days = local_s // SECONDS_PER_DAY
        second_of_day = local_s - days * SECONDS_PER_DAY
        year, month, day = civil_from_days(days)
        return (
            year,
            month,
            day,
            second_of_day // 3600,
            second_of_day // 60 % 60,
            second_of_day % 60,
            (days + 3) % 7,
            dst,
        )


def parse(text):
    """The Zone a POSIX TZ string names; ValueError for anything else."""
    if not isinstance(text, str) or not text:
        raise ValueError("empty time zone")
    if text[0] == ":" or "/" in text and "," not in text:
        raise ValueError(
            "a zone file's name; give its POSIX rule (like CET-1CEST,M3.5.0,M10.5.0/3 for "
            "Europe/Berlin: the last line of its file in /usr/share/zoneinfo)"
        )
    cursor = _Cursor(text)
    std_name = cursor.name("the standard time name")
    std_offset = cursor.seconds("the standard time offset", MAX_OFFSET_S)
    dst_name = None
    dst_offset = std_offset
    start = end = None
    if cursor.peek():
        dst_name = cursor.name("the summer time name")
        dst_offset = std_offset - 3600
        if cursor.peek() and cursor.peek() != ",":
            dst_offset = cursor.seconds("the summer time offset", MAX_OFFSET_S)
        if not cursor.take(","):
            raise ValueError("summer time %s needs its rules (,start[/time],end[/time])" % dst_name)
        start = _parse_rule(cursor, "the summer time start")
        if not cursor.take(","):
            raise ValueError("the summer time end rule is missing")
        end = _parse_rule(cursor, "the summer time end")
    if cursor.peek():
        raise ValueError("unexpected '%s' at character %d" % (text[cursor.at :], cursor.at + 1))
    return Zone(text, std_name, std_offset, dst_name, dst_offset, start, end)
