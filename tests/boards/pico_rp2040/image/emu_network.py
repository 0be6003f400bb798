# A stand-in for MicroPython's `network` module: a WLAN that is joined at
# once with 127.0.0.1, the address the emulator runner's sockets use.

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_CONNECT_FAIL = -1
STAT_NO_AP_FOUND = -2
STAT_WRONG_PASSWORD = -3
STAT_GOT_IP = 3
ADDRESS = ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False
        self._connected = False

    def active(self, *state):
        if state:
            self._active = bool(state[0])
        return self._active

    def connect(self, ssid=None, key=None, **options):
        self._connected = self._active

    def disconnect(self):
        self._connected = False

    def status(self, *parameter):
        return STAT_GOT_IP if self._connected else STAT_IDLE

    def isconnected(self):
        return self._connected

    def ifconfig(self, *configuration):
        return ADDRESS

    def config(self, *names, **values):
        return None
