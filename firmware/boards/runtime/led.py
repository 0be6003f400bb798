# Status LED patterns, driven by loop timers (Station.led names them).
#
#   pattern   meaning (Station contract)          steps (level, ms; 0 ms = steady)
#   off       -                                   0
#   on        idle and registered / talking       1
#   slow      not registered                      1 for 500, 0 for 500
#   fast      calling                             1 for 100, 0 for 100
#   double    lockout                             1 100, 0 100, 1 100, 0 700
#
# show() with the pattern already shown changes nothing (the cycle keeps
# its phase); a new pattern starts at its first step at once. Portable.

PATTERNS = {
    "off": ((0, 0),),
    "on": ((1, 0),),
    "slow": ((1, 500), (0, 500)),
    "fast": ((1, 100), (0, 100)),
    "double": ((1, 100), (0, 100), (1, 100), (0, 700)),
}


class LedBlinker:
    """Plays PATTERNS through write(level) (level 0 or 1) on `loop` timers."""

    def __init__(self, loop, write):
        self._loop = loop
        self._write = write
        self._timer = None
        self._step = 0
        self._steps = PATTERNS["off"]
        self.pattern = None

    def show(self, pattern):
        if pattern == self.pattern:
            return
        if pattern not in PATTERNS:
            raise ValueError("unknown LED pattern %r" % (pattern,))
        self._cancel()
        self.pattern = pattern
        self._steps = PATTERNS[pattern]
        self._step = 0
        self._apply()

    def stop(self):
        """Cancel the pattern and leave the LED off."""
        self._cancel()
        self.pattern = None
        self._write(0)

    def _cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _apply(self):
        level, duration_ms = self._steps[self._step]
        self._write(level)
        if duration_ms:
            self._timer = self._loop.call_later(duration_ms, self._advance)

    def _advance(self):
        self._timer = None
        self._step = (self._step + 1) % len(self._steps)
        self._apply()
