# Quiet hours: whom a press rings by weekday and local time ([[schedule]]),
# and the owner's switch over MQTT or the API (mode). Portable, sans-I/O:
# the board tells the local time (set_local_time), nothing here reads a
# clock.
#
#   mode  local time                       quiet for button B (targets(B))
#   ----- -------------------------------- ------------------------------------
#   auto  unknown (None: a Pico W before   never: a door that does not know
#         its first NTP answer)            the time rings as usual
#   auto  inside a window of an entry      the first such entry's targets
#         whose buttons include B          ([] = nothing rings)
#   auto  outside every such window        not quiet (None: B's own targets)
#   on    any                              the targets of the first entry
#                                          naming B, else [] (nothing rings)
#   off   any                              never
#
# A window: an entry's days name the day it starts; it runs from start to
# end, past midnight into the next day when end is not after start (22:00
# to 07:00 on "fri" covers Saturday 03:00). Minutes of the week, modulo a
# week, so Sunday night runs into Monday.
#
# `active` (quiet for at least one button) and `mode` are the published
# state: each change of either is a quiet_hours event (active, mode,
# source: "schedule" for the clock, else who switched: mqtt, http).
# The mode is the owner's choice and survives restarts (the station puts
# it in the door state file); the local time is the board's.

from intercom import events

AUTO = "auto"
ON = "on"
OFF = "off"
MODES = (AUTO, ON, OFF)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def minute_of_day(text):
    """Minutes since midnight of "HH:MM" (24:00 is the end of the day), or
    None when text is not such a time (the config's check)."""
    hours, colon, minutes = text.partition(":")
    if not colon or len(minutes) != 2 or not 1 <= len(hours) <= 2:
        return None
    for char in hours + minutes:
        if char not in "0123456789":
            return None
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        return None
    return value


class QuietHours:
    def __init__(self, schedules, mode=AUTO):
        if mode not in MODES:
            raise ValueError("quiet hours mode %r" % (mode,))
        self.mode = mode
        self.active = mode == ON
        self._entries = []  # (windows [(start minute of week, length)], buttons, targets)
        for entry in schedules:
            start = minute_of_day(entry["start"])
            end = minute_of_day(entry["end"])
            if start is None or end is None:
                raise ValueError("schedule times %r, %r" % (entry["start"], entry["end"]))
            length = (end - start) % MINUTES_PER_DAY
            if length == 0:
                length = MINUTES_PER_DAY  # 00:00 to 24:00
            windows = [(DAYS.index(day) * MINUTES_PER_DAY + start, length) for day in entry["days"]]
            self._entries.append((windows, list(entry["buttons"]), list(entry["targets"])))
        self._minute_of_week = None
        self._events = []

    def set_local_time(self, local, now_ms):
        """local: (weekday 0 = Monday, minute of the day), or None when unknown."""
        if local is None:
            self._minute_of_week = None
        else:
            self._minute_of_week = local[0] * MINUTES_PER_DAY + local[1]
        self._update("schedule", now_ms)

    def set_mode(self, mode, source, now_ms):
        """The owner's switch; False for a mode that is not one of MODES."""
        if mode not in MODES:
            return False
        if mode != self.mode:
            self.mode = mode
            self._update(source, now_ms, True)
        return True

    def targets(self, button_id):
        """None when the button is not quiet now, else who rings instead."""
        if self.mode == OFF:
            return None
        for windows, buttons, targets in self._entries:
            if button_id in buttons and (self.mode == ON or self._inside(windows)):
                return targets
        return [] if self.mode == ON else None

    def next_event(self):
        return self._events.pop(0) if self._events else None

    def _inside(self, windows):
        now = self._minute_of_week
        if now is None:
            return False
        for start, length in windows:
            if (now - start) % MINUTES_PER_WEEK < length:
                return True
        return False

    def _update(self, source, now_ms, mode_changed=False):
        if self.mode == AUTO:
            active = False
            for windows, _, _ in self._entries:
                if self._inside(windows):
                    active = True
                    break
        else:
            active = self.mode == ON
        if active != self.active or mode_changed:
            self.active = active
            fields = {"active": active, "mode": self.mode, "source": source}
            self._events.append(events.make_event(now_ms, events.QUIET_HOURS, fields))
