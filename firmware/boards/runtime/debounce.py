# Push-button debouncing that acts on the FIRST edge (no added latency).
#
# Rules, for one button:
#   - A level that differs from the accepted state, arriving while no
#     window is open, is accepted at once: update() returns it (True =
#     pressed, False = released) and a window of debounce_ms opens.
#   - Inside the window every edge is contact chatter: update() returns None.
#   - When the window closes the board samples the pin once more
#     (`window_end_ms` tells when): a level that still differs from the
#     accepted state is accepted then (a short press whose release fell into
#     the window, or a final edge the edge source dropped: RPi.GPIO's
#     bouncetime swallows edges), which opens the next window. Nothing is
#     ever lost, and the state never changes twice within debounce_ms.
#   - debounce_ms == 0: every change is accepted, no window.
# Portable (CPython and MicroPython): integer ms on the compat ticks scale.

from intercom import compat


class Debouncer:
    def __init__(self, debounce_ms, pressed=False):
        if debounce_ms < 0:
            raise ValueError("debounce_ms must not be negative")
        self.debounce_ms = debounce_ms
        self.pressed = pressed
        self._window_start_ms = None

    @property
    def window_end_ms(self):
        """When the open window closes (sample the pin then), or None."""
        if self._window_start_ms is None:
            return None
        return compat.ticks_add(self._window_start_ms, self.debounce_ms)

    def update(self, pressed, now_ms):
        """Feed the level read now; returns the newly accepted state or None."""
        if self._window_start_ms is not None:
            if compat.ticks_diff(now_ms, self._window_start_ms) < self.debounce_ms:
                return None
            self._window_start_ms = None
        if pressed == self.pressed:
            return None
        self.pressed = pressed
        if self.debounce_ms:
            self._window_start_ms = now_ms
        return pressed
