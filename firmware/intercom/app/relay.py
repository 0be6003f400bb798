# The door relay as a pulse with its own deadline.
#
#   state   input                    -> state   output
#   OFF     start(now)               -> ON      off deadline = now + pulse_ms
#   ON      start(now)               -> ON      deadline moved to now + pulse_ms
#   ON      handle_timer(>= deadline)-> OFF     returns True (the door closed)
#   any     handle_timer(earlier)    -> same    returns False
#
# Nothing else turns it off or keeps it on: the end of a call, a stuck call
# or a missing DTMF end packet cannot hold the door open. The board drives
# the pin from `is_on` after every call into the core, and switches the pin
# off at boot before the core exists (DESIGN.md, principle 5).

from intercom.compat import ticks_add, ticks_diff


class RelayPulse:
    def __init__(self, pulse_ms):
        if pulse_ms <= 0:
            raise ValueError("pulse_ms must be positive")
        self.pulse_ms = pulse_ms
        self.is_on = False
        self._off_at = None

    def start(self, now_ms):
        self.is_on = True
        self._off_at = ticks_add(now_ms, self.pulse_ms)

    def get_timer(self):
        """The tick at which the relay turns off, or None while it is off."""
        return self._off_at

    def handle_timer(self, now_ms):
        """Turns the relay off when its deadline has come; True if it did."""
        if self._off_at is None or ticks_diff(now_ms, self._off_at) < 0:
            return False
        self.is_on = False
        self._off_at = None
        return True
