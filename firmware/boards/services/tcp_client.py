# Non-blocking TCP for the optional services (CPython boards): a connect that
# the loop watches with a timer, and sends that never wait.
#
# The loop (boards.runtime.loop) only polls for readable sources, so write readiness
# is probed with a zero-timeout select() from a short timer: nothing here
# ever sleeps or blocks the 20 ms audio path.
#
#   Connecting(loop, address, timeout_ms, on_done)   on_done(sock, None) once
#       connected (non-blocking socket), on_done(None, reason) on a refusal,
#       an error or the timeout; cancel() drops it (socket closed).
#   send_some(sock, buffer) -> bytes sent (0 when the socket buffer is full);
#       raises OSError when the peer is gone.

import errno
import os
import select
import socket

CHECK_MS = 10  # how often a pending connect is probed


class Connecting:
    def __init__(self, loop, address, timeout_ms, on_done):
        self._loop = loop
        self._on_done = on_done
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setblocking(False)
        self._waited_ms = 0
        self._timeout_ms = timeout_ms
        self._timer = None
        code = self._sock.connect_ex(address)
        if code in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self._timer = loop.call_later(0, self._check)
        else:
            self._timer = loop.call_later(0, lambda: self._finish(None, os.strerror(code)))

    def _check(self):
        self._timer = None
        _, writable, failed = select.select([], [self._sock], [self._sock], 0)
        if writable or failed:
            code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code == 0:
                sock, self._sock = self._sock, None
                self._on_done(sock, None)
            else:
                self._finish(None, os.strerror(code))
            return
        self._waited_ms += CHECK_MS
        if self._waited_ms >= self._timeout_ms:
            self._finish(None, "connect timeout")
            return
        self._timer = self._loop.call_later(CHECK_MS, self._check)

    def _finish(self, sock, reason):
        self._timer = None
        self.cancel()
        self._on_done(sock, reason)

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def send_some(sock, buffer):
    try:
        return sock.send(buffer)
    except (BlockingIOError, InterruptedError):
        return 0
