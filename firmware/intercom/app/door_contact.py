# The door contact (a reed switch on the door leaf): open or closed, forced
# open, open too long. One state machine; times are integer ms (compat ticks).
#
#   state    input                                  output                      next
#   -------- -------------------------------------- --------------------------- -------
#   unknown  report(open)                           [open: too-long timer]      open /
#            (the first report: the door as it      (no event: nothing moved)   closed
#            was at boot, never forced)
#   closed   report(open), relay on or off for      door_contact open,          open
#            less than FORCED_GRACE_MS              too-long timer
#            report(open), relay idle               door_contact open,          open
#                                                   door_forced, too-long timer
#   open     report(closed)                         door_contact closed         closed
#            too-long timer (door.open_too_long s)  door_open_too_long          open
#                                                   (open_ms), once per opening
#   any      report(the same state)                 -                           same
#
# relay_changed(on, now) tells it the door relay's state; a door that opens
# while the relay is off and was off for FORCED_GRACE_MS (a strike released
# a moment ago may let the door swing a little later) was forced: by force,
# or by a key (a mechanical key cannot be told from force).
# report() returns True when the door just opened (the station ends a
# ringing call then: whoever was rung is not needed any more).
# Every stored tick is dropped by its own deadline: the grace after the
# relay and the too-long timer (DESIGN.md: no tick outlives its deadline).

from intercom import events
from intercom.compat import ticks_add, ticks_diff

UNKNOWN = "unknown"
OPEN = "open"
CLOSED = "closed"
FORCED_GRACE_MS = 2000


class DoorContact:
    def __init__(self, open_too_long_s):
        self._too_long_ms = open_too_long_s * 1000
        self.state = UNKNOWN
        self._relay_on = False
        self._grace_until = None  # while the relay was off for less than FORCED_GRACE_MS
        self._too_long_at = None
        self._events = []

    def relay_changed(self, on, now_ms):
        self._relay_on = on
        self._grace_until = None if on else ticks_add(now_ms, FORCED_GRACE_MS)

    def report(self, is_open, now_ms):
        """The contact's level (debounced by the board); True when the door
        just opened."""
        state = OPEN if is_open else CLOSED
        if state == self.state:
            return False
        first = self.state == UNKNOWN
        self.state = state
        if not first:
            self._events.append(events.make_event(now_ms, events.DOOR_CONTACT, {"state": state}))
        if not is_open:
            self._too_long_at = None
            return False
        if self._too_long_ms:
            self._too_long_at = ticks_add(now_ms, self._too_long_ms)
        if not first and not self._relay_on and self._grace_until is None:
            self._events.append(events.make_event(now_ms, events.DOOR_FORCED))
        return not first

    def get_timer(self):
        deadline = self._too_long_at
        grace = self._grace_until
        if grace is not None and (deadline is None or ticks_diff(grace, deadline) < 0):
            deadline = grace
        return deadline

    def handle_timer(self, now_ms):
        if self._grace_until is not None and ticks_diff(now_ms, self._grace_until) >= 0:
            self._grace_until = None
        deadline = self._too_long_at
        if deadline is not None and ticks_diff(now_ms, deadline) >= 0:
            self._too_long_at = None
            fields = {"open_ms": self._too_long_ms + ticks_diff(now_ms, deadline)}
            self._events.append(events.make_event(now_ms, events.DOOR_OPEN_TOO_LONG, fields))

    def next_event(self):
        return self._events.pop(0) if self._events else None
