# A switch on an RPi.GPIO input (RPi.GPIO on Pi 1-4, rpi-lgpio on a Pi 5):
# a door button, the door contact, the exit button or the tamper switch,
# debounced on the loop thread.
#
# Threads (DESIGN.md, principle 3): RPi.GPIO runs edge callbacks on its own
# thread. That callback only writes one byte into a non-blocking self-pipe;
# it never reads the pin, never calls the runtime, never touches core state.
# The loop polls the pipe's read end; on the loop thread we drain it, read
# the pin level and feed boards.runtime.debounce.Debouncer, which acts on the first
# edge and ignores chatter for debounce_ms. When the debounce window closes,
# and debounce_ms after an edge that changed nothing (the pin was read
# mid-bounce), a loop timer samples the pin once more, so an edge dropped by
# RPi.GPIO's own bouncetime (it drops every edge within bouncetime of the
# last reported one, a quick release included) is never lost. A full pipe just means a
# wake-up is pending already: the byte is dropped, the level is read anyway.
#
# Wiring: active_low (the default) = the button pulls the pin to GND,
# internal pull-up on; otherwise it pulls to 3V3 with the pull-down on.
# pull_up=True keeps the pull-up whatever the polarity: the door contact and
# the tamper switch are closed to GND while all is well and open (high)
# when active.

import os

from intercom import compat

from boards.runtime.debounce import Debouncer

_WAKE = b"!"
_DRAIN_BYTES = 256


class GpioInput:
    def __init__(self, gpio, channel, active_low, debounce_ms, pull_up=None):
        self._gpio = gpio
        self.channel = channel
        self._active_level = gpio.LOW if active_low else gpio.HIGH
        if pull_up is None:
            pull_up = active_low
        pull = gpio.PUD_UP if pull_up else gpio.PUD_DOWN
        gpio.setup(channel, gpio.IN, pull_up_down=pull)
        # A button held at boot counts as pressed already: it does not ring.
        self._debouncer = Debouncer(debounce_ms, pressed=self.read_pressed())
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._loop = None
        self._on_change = None
        self._settle_timer = None

    @property
    def pressed(self):
        return self._debouncer.pressed

    def read_pressed(self):
        return self._gpio.input(self.channel) == self._active_level

    def attach(self, loop, on_change):
        """Start edge detection; on_change(pressed) runs on the loop thread."""
        self._loop = loop
        self._on_change = on_change
        loop.add_reader(self._read_fd, self._on_wake)
        debounce_ms = self._debouncer.debounce_ms
        if debounce_ms > 0:
            self._gpio.add_event_detect(
                self.channel, self._gpio.BOTH, callback=self._on_edge, bouncetime=debounce_ms
            )
        else:
            self._gpio.add_event_detect(self.channel, self._gpio.BOTH, callback=self._on_edge)

    def _on_edge(self, channel):
        # RPi.GPIO's thread: hand over to the loop, nothing else.
        try:
            os.write(self._write_fd, _WAKE)
        except OSError:  # full: a wake-up is pending already; closed: shutting down
            pass

    def _on_wake(self, fd, poll_events):
        while True:
            try:
                if not os.read(self._read_fd, _DRAIN_BYTES):
                    break
            except BlockingIOError:
                break
        self._sample(True)

    def _sample(self, after_edge):
        now = self._loop.clock.now_ms()
        accepted = self._debouncer.update(self.read_pressed(), now)
        if accepted is not None:
            self._on_change(accepted)
        if self._settle_timer is not None:
            return
        deadline = self._debouncer.window_end_ms
        if deadline is None and after_edge and self._debouncer.debounce_ms:
            # An edge but no change: we may have read the pin mid-bounce, and
            # bouncetime will hide the edges that follow. Look again later.
            deadline = compat.ticks_add(now, self._debouncer.debounce_ms)
        if deadline is not None:
            delay = max(0, compat.ticks_diff(deadline, now))
            self._settle_timer = self._loop.call_later(delay, self._on_settle)

    def _on_settle(self):
        self._settle_timer = None
        self._sample(False)

    def close(self):
        if self._loop is not None:
            self._gpio.remove_event_detect(self.channel)
            self._loop.remove_reader(self._read_fd)
            if self._settle_timer is not None:
                self._settle_timer.cancel()
                self._settle_timer = None
            self._loop = None
        if self._read_fd >= 0:
            os.close(self._read_fd)
            os.close(self._write_fd)
            self._read_fd = self._write_fd = -1
