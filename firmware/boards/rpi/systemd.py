# systemd service notifications (sd_notify(3)) without libsystemd.
#
#   READY=1     once the door has started (Type=notify units wait for it)
#   WATCHDOG=1  every WATCHDOG_USEC / 2 from a loop timer: a stuck loop stops
#               sending it and systemd restarts the service (WatchdogSec=)
#   STOPPING=1  when the door shuts down
# NOTIFY_SOCKET names an AF_UNIX datagram socket: a path, or "@name" for the
# abstract namespace. No NOTIFY_SOCKET (not started by systemd): everything
# here does nothing. WATCHDOG_PID, when set, must be our pid (systemd(1),
# sd_watchdog_enabled(3)). Send errors are logged once and ignored: the door
# keeps working without its supervisor.

import os
import socket
import sys


class SystemdNotifier:
    def __init__(self, environ=None):
        environ = os.environ if environ is None else environ
        path = environ.get("NOTIFY_SOCKET") or ""
        self._address = None
        if path.startswith("@"):
            self._address = "\0" + path[1:]
        elif path.startswith("/"):
            self._address = path
        self.watchdog_interval_ms = None
        usec = environ.get("WATCHDOG_USEC")
        pid = environ.get("WATCHDOG_PID")
        if self._address and usec and usec.isdigit() and int(usec) > 0:
            if not pid or (pid.isdigit() and int(pid) == os.getpid()):
                self.watchdog_interval_ms = max(1, int(usec) // 2000)
        self._socket = None
        self._failed = False
        self._timer = None

    @property
    def enabled(self):
        return self._address is not None

    def notify(self, state):
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.sendto(state.encode(), self._address)
        except OSError as error:
            if not self._failed:
                self._failed = True
                print("intercom: systemd notify failed: %s" % error, file=sys.stderr)

    def ready(self, status="running"):
        self.notify("READY=1\nSTATUS=%s" % status)

    def start_watchdog(self, loop):
        """Ping the watchdog from `loop` while it runs (nothing without one)."""
        if self.watchdog_interval_ms is not None and self._timer is None:
            self._timer = loop.call_every(self.watchdog_interval_ms, self.ping_watchdog)

    def ping_watchdog(self):
        self.notify("WATCHDOG=1")

    def stopping(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.notify("STOPPING=1")

    def close(self):
        if self._socket is not None:
            self._socket.close()
            self._socket = None
