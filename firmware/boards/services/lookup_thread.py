# A host name looked up off the loop (CPython; boards.services.resolver
# chooses it): socket.getaddrinfo, so /etc/hosts, nsswitch and mDNS apply
# as for every other program, runs on a short-lived thread, which keeps the
# answer and wakes the loop through a pipe the loop polls; the thread
# touches nothing else (DESIGN.md principle 3). A lookup that hangs (a DNS
# server that does not answer) holds its thread, never the loop or the
# audio.
#
#   ThreadLookup(loop, host, port, on_done)   on_done(address, None) or
#       on_done(None, reason), on the loop; cancel(): never called back

import os
import threading

from boards.services.resolver import resolve


class ThreadLookup:
    def __init__(self, loop, host, port, on_done):
        self._loop = loop
        self._on_done = on_done
        self._answer = None
        self._read_fd, write_fd = os.pipe()
        loop.add_reader(self._read_fd, self._on_answer)
        thread = threading.Thread(target=self._look_up, args=(host, port, write_fd), daemon=True)
        thread.start()

    def cancel(self):
        self._on_done = None
        self._close_pipe()

    def _look_up(self, host, port, write_fd):
        """On the lookup thread: resolve, keep the answer, wake the loop."""
        self._answer = resolve(host, port)
        try:
            os.write(write_fd, b"!")
        except OSError:  # cancelled meanwhile: nobody reads any more
            pass
        os.close(write_fd)

    def _on_answer(self, fd, poll_events):
        self._close_pipe()
        on_done = self._on_done
        if on_done is not None and self._answer is not None:
            on_done(self._answer[0], self._answer[1])

    def _close_pipe(self):
        if self._read_fd is not None:
            self._loop.remove_reader(self._read_fd)
            os.close(self._read_fd)
            self._read_fd = None
