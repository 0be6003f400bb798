# intercom.tz against the IANA database (CPython's zoneinfo): for each zone,
# the POSIX rule of its TZif file's footer (what a Pico W owner copies into
# time.zone) gives the same local time, weekday and summer-time flag as
# zoneinfo at every change of 2024-2040 (the second before and the second
# of it) and at hours spread over those years.

import datetime
import zoneinfo

import pytest
from intercom import tz

ZONES = {
    "Europe/Berlin": "CET-1CEST,M3.5.0,M10.5.0/3",
    "Europe/London": "GMT0BST,M3.5.0/1,M10.5.0",
    "America/New_York": "EST5EDT,M3.2.0,M11.1.0",
    "America/Los_Angeles": "PST8PDT,M3.2.0,M11.1.0",
    "America/Sao_Paulo": "<-03>3",
    "America/Nuuk": "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
    "Australia/Sydney": "AEST-10AEDT,M10.1.0,M4.1.0/3",
    "Australia/Lord_Howe": "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
    "Pacific/Auckland": "NZST-12NZDT,M9.5.0,M4.1.0/3",
    "Pacific/Chatham": "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
    "Asia/Kolkata": "IST-5:30",
    "Asia/Tehran": "<+0330>-3:30",
    "America/Santiago": "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
}
START = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp())
END = int(datetime.datetime(2040, 1, 1, tzinfo=datetime.UTC).timestamp())


def expected(zone, utc_s):
    moment = datetime.datetime.fromtimestamp(utc_s, zone)
    fields = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return fields + (moment.weekday(), bool(moment.dst()))


def changes(zone):
    """Every UTC second at which the zone's offset changes in [START, END)."""
    found = []
    step = 3600
    previous = zone.utcoffset(datetime.datetime.fromtimestamp(START, zone))
    for utc_s in range(START + step, END, step):
        offset = zone.utcoffset(datetime.datetime.fromtimestamp(utc_s, zone))
        if offset != previous:
            low, high = utc_s - step, utc_s
            while high - low > 1:
                middle = (low + high) // 2
                moment = datetime.datetime.fromtimestamp(middle, zone)
                if zone.utcoffset(moment) == previous:
                    low = middle
                else:
                    high = middle
            found.append(high)
            previous = offset
    return found


@pytest.mark.parametrize("name", sorted(ZONES))
def test_the_footer_rule_matches_zoneinfo(name):
    zone = zoneinfo.ZoneInfo(name)
    rule = tz.parse(ZONES[name])
    moments = list(range(START, END, 86400 * 7 + 3607))
    for change in changes(zone):
        moments += [change - 1, change]
    for utc_s in moments:
        assert rule.local(utc_s) == expected(zone, utc_s), (name, utc_s)
