# The single event loop: one select.poll over readable and writable sources,
# plus timers.
#
# Rules (the whole contract of this file):
#   - One thread. Callbacks run inside run_once(), one after another; a
#     callback may add or cancel sources and timers.
#   - Time is integer milliseconds on the compat ticks scale (wraps at
#     compat.TICKS_PERIOD); all comparisons go through compat.ticks_diff.
#   - run_once() sleeps in poll() exactly until the earliest timer is due, or
#     forever when there is no timer, and never polls in a busy loop.
#   - Sources: an int fd, or any object poll accepts (sockets, files,
#     MicroPython stream objects), or a wrapper whose `poll_object`
#     attribute is such an object (MicroPython's poll cannot take plain
#     Python objects, even ones with fileno()). A source may have a reader
#     (add_reader: POLLIN) and a writer (add_writer: POLLOUT); poll watches
#     exactly what is asked, so a writer is added only while output waits
#     (or a connect is in progress) and removed when it is written, and an
#     idle loop never wakes for writability. Callbacks receive (source,
#     events); events includes select.POLLHUP / POLLERR when set (the
#     reader hears of them first; the writer only if the source is still
#     there afterwards, or has no reader), and a source that keeps reporting
#     those must be removed by its owner.
#   - Timers: one-shot (call_later) or periodic (call_every). A periodic
#     timer keeps its cadence (next = previous deadline + period); when the
#     loop falls a whole period behind it skips ahead instead of bursting.
#   - Timers due at the same moment fire in the order they were scheduled.
#     A timer scheduled from a callback fires on a later pass, never in the
#     pass that scheduled it, so a zero-delay timer cannot starve sources.
#   - A cancelled timer never fires, even if it was already due.
#   - A pass that finds nothing due allocates nothing on MicroPython (ipoll,
#     reused lists): on a Pico W every allocation searches the heap, a few
#     thousand cycles each, and the loop passes hundreds of times a second.
#     run_once() is therefore not re-entered from a callback.

import select
import time

from intercom.compat import IS_MICROPYTHON, TICKS_MASK, poll_key, ticks_add, ticks_diff

_TROUBLE = select.POLLHUP | select.POLLERR
_READ_EVENTS = select.POLLIN | _TROUBLE
_WRITE_EVENTS = select.POLLOUT | _TROUBLE


class Clock:
    """Monotonic milliseconds on the compat ticks scale.

    `offset_ms` shifts the clock (tests use it to start just before a wrap).
    """

    def __init__(self, offset_ms=0):
        self._offset_ms = offset_ms

    def now_ms(self):
        if IS_MICROPYTHON:
            raw = time.ticks_ms()
        else:  # CPython: the Pico's time has no monotonic_ns (never runs there)
            raw = time.monotonic_ns() // 1000000  # pyright: ignore[reportAttributeAccessIssue]
        # The stubs type ticks_ms() as an opaque _TicksMs to steer callers to
        # ticks_diff; it is an int, reduced here to the compat 2**30 period.
        return (raw + self._offset_ms) & TICKS_MASK  # pyright: ignore[reportOperatorIssue]


class Timer:
    """Handle for a scheduled callback; cancel() stops it for good."""

    def __init__(self, loop, deadline_ms, period_ms, callback):
        self._loop = loop
        self.deadline_ms = deadline_ms
        self.period_ms = period_ms
        self.callback = callback
        self.cancelled = False

    def cancel(self):
        if not self.cancelled:
            self.cancelled = True
            self._loop._remove_timer(self)


class Loop:
    def __init__(self, clock=None):
        self.clock = clock if clock is not None else Clock()
        self._poll = select.poll()
        # MicroPython's ipoll yields each ready entry in one reused tuple;
        # CPython has only poll, which returns a new list.
        self._poll_ready = getattr(self._poll, "ipoll", self._poll.poll)
        self._ready = []  # this pass's ready entries: pollable, events, pollable, ...
        self._due = []  # this pass's due timers
        self._sources = {}  # poll key -> [source, reader or None, writer or None]
        self._timers = []  # sorted by deadline; equal deadlines keep insertion order
        self._stopped = False
        self.wakeups = 0  # how many times poll() returned: an idle loop stays low

    # -- sources ---------------------------------------------------------

    def add_reader(self, source, callback):
        self._watch(source, 1, callback)

    def remove_reader(self, source):
        self._watch(source, 1, None)

    def add_writer(self, source, callback):
        self._watch(source, 2, callback)

    def remove_writer(self, source):
        self._watch(source, 2, None)

    def _watch(self, source, slot, callback):
        """Set (or clear, callback None) the reader (slot 1) or writer (2)."""
        pollable = getattr(source, "poll_object", source)
        key = poll_key(pollable)
        entry = self._sources.get(key)
        if entry is None:
            if callback is None:
                return
            entry = [source, None, None]
            self._sources[key] = entry
        elif callback is not None and entry[slot] is not None:
            raise ValueError("source already registered")
        entry[slot] = callback
        mask = 0
        if entry[1] is not None:
            mask |= select.POLLIN
        if entry[2] is not None:
            mask |= select.POLLOUT
        if not mask:
            del self._sources[key]
            self._poll.unregister(pollable)
        else:
            self._poll.register(pollable, mask)  # on a registered one: modify

    # -- timers ----------------------------------------------------------

    def call_later(self, delay_ms, callback):
        """Run callback() once, delay_ms from now."""
        return self._schedule(delay_ms, 0, callback)

    def call_every(self, period_ms, callback):
        """Run callback() every period_ms, first one period from now."""
        if period_ms <= 0:
            raise ValueError("period must be positive")
        return self._schedule(period_ms, period_ms, callback)

    def _schedule(self, delay_ms, period_ms, callback):
        deadline = ticks_add(self.clock.now_ms(), max(0, delay_ms))
        timer = Timer(self, deadline, period_ms, callback)
        self._insert_timer(timer)
        return timer

    def _insert_timer(self, timer):
        # From the front: the timer re-inserted most often, the audio
        # frame's, is the earliest one (a single comparison).
        timers = self._timers
        count = len(timers)
        index = 0
        while index < count and ticks_diff(timers[index].deadline_ms, timer.deadline_ms) <= 0:
            index += 1
        timers.insert(index, timer)

    def _remove_timer(self, timer):
        if timer in self._timers:
            self._timers.remove(timer)

    def next_timeout_ms(self, now_ms):
        """How long poll() may sleep: -1 for ever, else ms until the first timer."""
        if not self._timers:
            return -1
        return max(0, ticks_diff(self._timers[0].deadline_ms, now_ms))

    # -- running ---------------------------------------------------------

    def run_once(self):
        # The entries are copied out before any callback runs: a callback
        # may register or remove sources, which ipoll's iteration must not see.
        ready = self._ready
        ready.clear()  # both, after a callback that raised
        self._due.clear()
        for entry in self._poll_ready(self.next_timeout_ms(self.clock.now_ms())):
            ready.append(entry[0])  # the pollable
            ready.append(entry[1])  # its events
        self.wakeups += 1
        if ready:
            self._dispatch(ready)
        self._fire_due_timers(self.clock.now_ms())

    # run_once's parts are small functions: MicroPython keeps a call's frame
    # on the C stack only up to 11 words (locals, value stack, 3 per try);
    # a larger one is allocated from the heap at every call.

    def _dispatch(self, ready):
        index = 0
        while index < len(ready):
            self._dispatch_entry(poll_key(ready[index]), ready[index + 1])
            index += 2
        ready.clear()  # keeps no source alive after its pass

    def _dispatch_entry(self, key, events):
        registered = self._sources.get(key)
        if registered is not None and registered[1] is not None and events & _READ_EVENTS:
            registered[1](registered[0], events)
            registered = self._sources.get(key)  # the reader may have changed it
        if registered is not None and registered[2] is not None and events & _WRITE_EVENTS:
            registered[2](registered[0], events)

    def _fire_due_timers(self, now_ms):
        timers = self._timers
        due = self._due
        while timers and ticks_diff(timers[0].deadline_ms, now_ms) <= 0:
            due.append(timers.pop(0))
        if not due:
            return
        index = 0
        while index < len(due):
            timer = due[index]
            index += 1
            if not timer.cancelled:
                self._fire(timer, now_ms)
        due.clear()  # keeps no timer (nor what its callback holds) alive

    def _fire(self, timer, now_ms):
        if timer.period_ms:
            next_deadline = ticks_add(timer.deadline_ms, timer.period_ms)
            if ticks_diff(next_deadline, now_ms) <= 0:
                next_deadline = ticks_add(now_ms, timer.period_ms)
            timer.deadline_ms = next_deadline
            self._insert_timer(timer)
        else:
            timer.cancelled = True
        timer.callback()

    def run(self):
        """Run until stop() is called."""
        self._stopped = False
        while not self._stopped:
            self.run_once()

    def stop(self):
        self._stopped = True
