"""The emulated Pico's USB CDC port as a serial device (a pseudo-terminal),
for tools that talk to a board by its port: mpremote, `make flash
TARGET=pico PORT=...`.

    port = SerialPort(pico)      # pico: a started EmulatedPico
    port.path                    # "/dev/pts/N"
    port.close()

What a tool writes to the port is typed on the emulated USB REPL; what the
firmware prints comes out of it, byte for byte.
"""

import os
import select
import threading
import tty


class SerialPort:
    def __init__(self, pico):
        self.pico = pico
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._closed = threading.Event()
        pico.usb_listeners.append(self._to_tool)
        self._reader = threading.Thread(target=self._from_tool, daemon=True)
        self._reader.start()

    def _to_tool(self, data):
        if not self._closed.is_set():
            os.write(self._master, data)

    def _from_tool(self):
        while not self._closed.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:  # no tool has the port open
                continue
            if data:
                self.pico.type_usb(data)

    def close(self):
        self._closed.set()
        self._reader.join(timeout=5)
        self.pico.usb_listeners.remove(self._to_tool)
        os.close(self._master)
        os.close(self._slave)
