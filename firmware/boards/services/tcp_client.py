# A TCP connection for the optional services (MQTT on both interpreters,
# webhooks on CPython), opened without blocking the one loop.
#
#   Connecting(loop, address, timeout_ms, on_done, tls=None)
#       on_done(sock, None) once connected (a non-blocking socket; with tls,
#       the TLS socket once its handshake is done), or on_done(None, reason)
#       on a refusal, an error, a failed handshake or after timeout_ms;
#       cancel() drops it (socket closed, on_done not called).
#       address: from boards.services.resolver.Lookup.
#       tls: CPython only, a boards.services.tls.ClientTls: wrap(sock) gives
#       the TLS socket, handshake(sock) steps the handshake (True when done,
#       OSError when it failed).
#
# States: connecting (TCP) -> handshaking (tls only) -> done. The loop only
# polls for readable sources, so the connect is probed with a zero-timeout
# poll() for POLLOUT, and the handshake stepped, from a CHECK_MS timer.

import errno
import select
import socket

from intercom import compat

CHECK_MS = 10
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN)


class Connecting:
    def __init__(self, loop, address, timeout_ms, on_done, tls=None):
        self._loop = loop
        self._on_done = on_done
        self._tls = tls
        self._timeout_ms = timeout_ms
        self._started_ms = loop.clock.now_ms()
        self._handshaking = False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setblocking(False)
        self._probe = select.poll()
        self._probe.register(self._sock, select.POLLOUT)
        self._timer = loop.call_later(0, self._check)
        try:
            self._sock.connect(address)
        except OSError as error:
            if error.args[0] not in _IN_PROGRESS:
                reason = "connect: %s" % error
                self._timer.cancel()
                self._timer = loop.call_later(0, lambda: self._fail(reason))

    def cancel(self):
        self._on_done = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._probe = None

    def _check(self):
        self._timer = None
        if self._handshaking:
            self._step_handshake()
            return
        probe = self._probe
        ready = probe.poll(0) if probe is not None else None
        if ready:
            if ready[0][1] & (select.POLLERR | select.POLLHUP):
                self._fail("connect: %s" % self._connect_error())
                return
            self._probe = None
            if self._tls is None:
                self._succeed()
                return
            try:
                self._sock = self._tls.wrap(self._sock)
            except OSError as error:
                self._fail("TLS: %s" % error)
                return
            self._handshaking = True
            self._step_handshake()
            return
        self._again("connect timeout")

    def _step_handshake(self):
        tls = self._tls
        if tls is None:  # only reached with tls (our own misuse otherwise)
            raise RuntimeError("no TLS to shake hands with")
        try:
            done = tls.handshake(self._sock)
        except OSError as error:
            self._fail("TLS: %s" % error)
            return
        if done:
            self._succeed()
        else:
            self._again("TLS handshake timeout")

    def _again(self, timeout_reason):
        now = self._loop.clock.now_ms()
        if compat.ticks_diff(now, self._started_ms) >= self._timeout_ms:
            self._fail(timeout_reason)
        else:
            self._timer = self._loop.call_later(CHECK_MS, self._check)

    def _connect_error(self):
        """Why the connect failed: SO_ERROR where sockets have getsockopt."""
        get_option = getattr(self._sock, "getsockopt", None)  # CPython only, like SO_ERROR
        if get_option is None:
            return "refused or unreachable"
        code = get_option(socket.SOL_SOCKET, socket.SO_ERROR)  # pyright: ignore[reportAttributeAccessIssue]
        return errno.errorcode.get(code, "error %d" % code)

    def _succeed(self):
        sock, self._sock = self._sock, None
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(sock, None)

    def _fail(self, reason):
        on_done = self._on_done
        self.cancel()
        if on_done is not None:
            on_done(None, reason)
