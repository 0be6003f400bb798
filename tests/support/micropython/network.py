# Stand-in `network` module for the MicroPython unix port: a WLAN station
# that "associates" on 127.0.0.1. Constants and methods as on the Pico W.
#
# Test hooks (os.getenv):
#   PICO_WLAN_FAILS   the first N connect() attempts end in STAT_NO_AP_FOUND
#   PICO_WLAN_POLLS   status() polls a connect takes before STAT_GOT_IP (3)
#   PICO_WLAN_CONTROL a file the test appends lines to, read at each status():
#                     "drop" (the link is lost until the next connect()),
#                     "address A.B.C.D" (the address of the next connection)

import os

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = -3
STAT_NO_AP_FOUND = -2
STAT_CONNECT_FAIL = -1
STAT_GOT_IP = 3


def _env_int(name, default):
    value = os.getenv(name)
    return int(value) if value else default


class WLAN:
    def __init__(self, interface_id=STA_IF):
        self._active = False
        self._status = STAT_IDLE
        self._polls_left = 0
        self._attempts = 0
        self._address = "127.0.0.1"
        self._next_address = "127.0.0.1"
        self._control_read = 0
        self.ssid = None

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        self._active = bool(is_active)
        if not self._active:
            self._status = STAT_IDLE
        return None

    def connect(self, ssid=None, key=None, *, bssid=None):
        if not self._active:
            raise OSError("STA must be active")
        self.ssid = ssid
        self._attempts += 1
        if self._attempts <= _env_int("PICO_WLAN_FAILS", 0):
            self._status = STAT_NO_AP_FOUND
            return
        self._status = STAT_CONNECTING
        self._polls_left = _env_int("PICO_WLAN_POLLS", 3)

    def disconnect(self):
        self._status = STAT_IDLE

    def status(self, param=None):
        self._follow_control()
        if self._status == STAT_CONNECTING:
            self._polls_left -= 1
            if self._polls_left <= 0:
                self._status = STAT_GOT_IP
                self._address = self._next_address
        return self._status

    def _follow_control(self):
        path = os.getenv("PICO_WLAN_CONTROL")
        if not path:
            return
        try:
            with open(path) as control:
                text = control.read()
        except OSError:
            return
        lines = text[self._control_read :].split("\n")
        for line in lines[:-1]:  # complete lines only
            self._control_read += len(line) + 1
            words = line.split()
            if words == ["drop"]:
                self._status = STAT_IDLE
            elif len(words) == 2 and words[0] == "address":
                self._next_address = words[1]

    def isconnected(self):
        return self.status() == STAT_GOT_IP

    def ifconfig(self, config=None):
        if self._status == STAT_GOT_IP:
            return (self._address, "255.0.0.0", "127.0.0.1", "127.0.0.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def config(self, *args, **kwargs):
        return None
