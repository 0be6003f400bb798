# The loop as the optional services see it: the same add_reader,
# remove_reader, call_later, call_every and clock as boards.runtime.loop.Loop,
# with every callback the services hand it guarded, so that an error in
# service code (a broker, an HTTP client or a webhook receiver that makes
# our code raise) never leaves the loop and never stops the doorbell
# (issue 14: no exception leaves the loop).
#
#   callback raises        what happens
#   ---------------------- ------------------------------------------------
#   a reader's callback    the reader is removed (a source that stays
#                          readable would fail again at once); the service's
#                          own timers (keep-alive, idle, timeout) then find
#                          the connection dead and start over
#   a timer's callback     the timer stays as it was (periodic ones run again)
#   MemoryError            not caught: the board restarts, as for the core
#   every other exception  counted (failures) and handed to
#                          on_failure(callback, error), which reports it; the
#                          runtime emits the first failure of each callback
#                          as an `error` event and logs the rest
#
# call(callback, *arguments) runs one service call now under the same
# guard (the runtime's services.attach / on_event / close).
#
# Portable (the Pico W runs its MQTT session through it too).


class ServiceLoop:
    def __init__(self, loop, on_failure):
        self._loop = loop
        self._on_failure = on_failure
        self.clock = loop.clock
        self.failures = 0

    def call(self, callback, *arguments):
        """callback(*arguments) now, guarded; True when it did not raise."""
        try:
            callback(*arguments)
        except MemoryError:
            raise
        except Exception as error:
            self.failures = (self.failures + 1) & 0xFFFFFFFF
            self._on_failure(callback, error)
            return False
        return True

    def add_reader(self, source, callback):
        def guarded(ready_source, poll_events):
            if not self.call(callback, ready_source, poll_events):
                self._loop.remove_reader(source)

        self._loop.add_reader(source, guarded)

    def remove_reader(self, source):
        self._loop.remove_reader(source)

    def call_later(self, delay_ms, callback):
        return self._loop.call_later(delay_ms, lambda: self.call(callback))

    def call_every(self, period_ms, callback):
        return self._loop.call_every(period_ms, lambda: self.call(callback))
