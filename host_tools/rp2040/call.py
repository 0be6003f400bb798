"""A whole door call on an emulated Pico W, with the figures it costs.

    result = run_call(firmware_bin, folder, image_files(IMAGE), profile=False)

The door is the frozen firmware, unmodified: its main.py and modules run
from flash (firmware.elf beside firmware_bin names its symbols). The test's
littlefs image holds config.json, the voicemail's default prompt (as make
flash puts it there) and the test code (image_files: boot.py and the network
stand-in, which carries UDP over UART1 to the runner, relayed to 127.0.0.1).
The door registers at Kamailio (the shipped deploy/kamailio/building.cfg),
stays idle for IDLE_MS, the button is pressed on the
emulated GPIO, the door calls flat1 through Kamailio, the sim's virtual
flat phone (host_tools.sim.flat_phone) answers and RTP flows both ways; the
flat sends a wrong code (refused: the relay stays low), then the right
one: the relay output goes high for the pulse and the door hangs up.

Pacing: the flat phone's loop runs on the emulated clock (EmulatedClock:
the latest emulated time the runner reported), so its 20 ms frames, its
answer delay and its code timing keep to the door's time although the
door runs several times slower than wall time. Kamailio runs in wall time:
the runner lets the emulated clock follow wall time while the door sleeps,
so the door never outruns it.

Figures (CallResult.figures):
  heap       the heap probe (boot.py) every HEAP_PERIOD_MS during the call:
             gc.collect(), then mem_alloc(); the peak and the heap size
             (the probe takes them in a timer callback, wherever the door
             is, and sends them from the sockets' next poll, so that the
             sending adds nothing to the door's C-stack peak)
  stack      the C-stack high-water mark (painted stack) from reset to
             registration (boot) and from then to the call's end (call)
  cpu        CPU cycles executed between the answer and the hang-up per
             20 ms frame and as a share of clk_sys: all of them, the test
             code's (the stand-ins and the heap probe, counted apart by the
             runner: host_tools/rp2040/attribution.mjs) and the door's (the
             rest); the same shares for the idle registered door and for
             the talk before the first code (RTP both ways, no digits or
             tones yet), and the wake-ups per second
With profile=True, each mark also holds the runner's profile ("frames")
since the mark before it: marks["idle"] the idle window, marks["talked"]
the talk, marks["ended"] the codes and the hang-up
(host_tools/rp2040/profile.py names them).
"""

import json
import pathlib
import subprocess
import sys
import time

from boards.audio.messages import DEFAULT_PROMPT, default_prompt_folder
from boards.runtime.loop import Loop
from intercom.compat import TICKS_MASK

from host_tools.flash.pico import PICO_PROMPT_FOLDER, plain_wav
from host_tools.rp2040.emulator import EmulatedPico
from host_tools.rp2040.kamailio import DOMAIN, Kamailio, free_udp_port
from host_tools.rp2040.littlefs_image import build_image
from host_tools.rp2040.profile import FirmwareSymbols, attribution_options
from host_tools.sim.flat_phone import FlatPhone

BUTTON = 2
RELAY = 3
LED = 4
NETWORK_UART = 1
UART0_IRQ = 20  # RP2040 datasheet 2.3.2: UART1 is IRQ 21
DOOR_PASSWORD = "door-secret-1"
FLAT_PASSWORD = "flat-secret-1"
CODE = "1234"
WRONG_CODE = "9999"
PULSE_S = 1
HEAP_PERIOD_MS = 250
FRAME_MS = 20
PRESS_MS = 200
IDLE_MS = 2000  # the registered door, idle, before the button
TALK_MS = 1000  # RTP both ways before the flat sends a code
BOOT_TIMEOUT_S = 180
STEP_TIMEOUT_S = 120
ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
IMAGE = ROOT / "tests" / "boards" / "pico_rp2040" / "image"


class CallError(Exception):
    pass


def image_files(folder):
    """The test code on the emulated door's littlefs image (boot.py, stand-ins)."""
    return {path.name: path.read_bytes() for path in sorted(pathlib.Path(folder).glob("*.py"))}


def cpu_window(start, end):
    """Busy shares of clk_sys between two marks, and the wake-ups."""
    seconds = (end["ns"] - start["ns"]) / 1e9
    capacity = seconds * end["clk_sys"]
    busy = end["busy"] - start["busy"]
    test = end["test_busy"] - start["test_busy"]
    wakeups = end["sleeps"] - start["sleeps"]
    return {
        "ms": round(seconds * 1000),
        "busy": busy,
        "test": test,
        "door": busy - test,
        "busy_share": busy / capacity,
        "test_share": test / capacity,
        "door_share": (busy - test) / capacity,
        "wakeups_per_s": wakeups / seconds,
        "cycles_per_wakeup": busy / max(1, wakeups),
    }


class EmulatedClock:
    """now_ms() on the door's emulated clock (what the runner last reported)."""

    def __init__(self, pico):
        self.pico = pico

    def now_ms(self):
        return self.pico.emulated_ms() & TICKS_MASK


class NoCapture:
    def add(self, time_s, source, destination, payload):
        pass


def door_toml(sip_port, kamailio_port):
    return "\n".join(
        [
            "[device]",
            'name = "Emulated door"',
            'board = "pico_w"',
            "show_dtmf_digits = true  # the test reads the digits from the events",
            "[sip]",
            'server = "127.0.0.1:%d"' % kamailio_port,
            'domain = "%s"' % DOMAIN,
            'user = "door"',
            'password = "%s"' % DOOR_PASSWORD,
            "local_port = %d" % sip_port,
            "[call]",
            'targets = ["sip:flat1@%s"]' % DOMAIN,
            "ring_timeout = 30",
            "[audio]",
            'codecs = ["PCMU"]',
            "[door]",
            'code = "%s"' % CODE,
            "pulse = %d" % PULSE_S,
            "hangup_after_open = 1",
            'state_file = "door_state.json"',
            "[wifi]",
            'ssid = "emulated"',
            'password = "emulated-wifi"',
            "",
        ]
    )


def config_json(folder, toml_text):
    """config.json as `intercom config to-json` makes it from the TOML."""
    toml = pathlib.Path(folder) / "door.toml"
    toml.write_text(toml_text)
    toml.chmod(0o600)
    converted = subprocess.run(
        [sys.executable, "-m", "intercom", "config", "to-json", str(toml)],
        env={"PYTHONPATH": str(FIRMWARE), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    return converted.stdout


class CallResult:
    def __init__(self):
        self.door_events = []
        self.flat_events = []
        self.relay_changes = []  # (ns, level)
        self.heap_samples = []  # (ns, alloc, free)
        self.boot_heap = None
        self.marks = {}
        self.crashed = False  # the door printed a traceback
        self.flat_heard = b""  # 16-bit PCM the flat phone played (the door's microphone)
        self.firmware_size = None

    def door_event_names(self):
        return [event["event"] for event in self.door_events]

    def figures(self):
        answered = self.marks["answered"]
        ended = self.marks["ended"]
        during = [s for s in self.heap_samples if answered["ns"] <= s[0] <= ended["ns"]]
        if not during:
            raise CallError("no heap sample during the call")
        heap_bytes = during[0][1] + during[0][2]
        call = cpu_window(answered, ended)
        frames = call["ms"] / FRAME_MS
        return {
            "heap_peak": max(s[1] for s in during),
            "heap_size": heap_bytes,
            "heap_samples": len(during),
            "heap_boot": self.boot_heap,
            "stack_boot": self.marks["registered"]["stack_peak"],
            "stack_call": ended["stack_peak"],
            "call_ms": call["ms"],
            "cycles_per_frame": round(call["busy"] / frames),
            "door_cycles_per_frame": round(call["door"] / frames),
            "test_cycles_per_frame": round(call["test"] / frames),
            "call": call,
            "idle": cpu_window(self.marks["registered"], self.marks["idle"]),
            "talk": cpu_window(answered, self.marks["talked"]),
            "clk_sys": answered["clk_sys"],
            "boot_ms": round(self.marks["registered"]["ns"] / 1e6),
            "watchdog": ended["watchdog"],
        }


class EmulatedCall:
    def __init__(self, firmware_bin, folder, image_files, profile=False):
        self.folder = pathlib.Path(folder)
        self.firmware_bin = pathlib.Path(firmware_bin)
        self.image_files = dict(image_files)
        self.profile = profile
        self.result = CallResult()
        self.kamailio = None
        self.pico = None
        self.flat = None
        self.loop = None
        self._usb_seen = 0
        self._events_seen = 0

    # -- the parts -------------------------------------------------------------

    def start(self):
        self.kamailio = Kamailio(
            self.folder, {"door": (DOOR_PASSWORD, "door"), "flat1": (FLAT_PASSWORD, "flat")}
        ).start()
        files = dict(self.image_files)
        sip_port = free_udp_port()
        files["config.json"] = config_json(self.folder, door_toml(sip_port, self.kamailio.port))
        prompt = pathlib.Path(self.folder) / DEFAULT_PROMPT  # as make flash puts it on a Pico
        plain_wav(pathlib.Path(default_prompt_folder()) / DEFAULT_PROMPT, prompt)
        files["%s/%s" % (PICO_PROMPT_FOLDER, DEFAULT_PROMPT)] = prompt.read_bytes()
        image = build_image(files, self.folder / "littlefs.img")
        symbols = FirmwareSymbols(self.firmware_bin.with_suffix(".elf"))
        self.pico = EmulatedPico(
            self.firmware_bin,
            image,
            self.folder,
            watch=(RELAY, LED),
            network_uart=NETWORK_UART,
            attribution=attribution_options(
                symbols, test_irqs=(UART0_IRQ + NETWORK_UART,), profile=self.profile
            ),
        )
        self.loop = Loop(clock=EmulatedClock(self.pico))
        self.loop.call_every(10, lambda: None)  # poll() never sleeps long: the runner's events
        self.flat = FlatPhone(
            self.loop,
            NoCapture(),
            self._on_flat_event,
            user="flat1",
            answer_after_ms=1000,
            auto_code=False,
        )
        self.kamailio.bind("flat1", "sip:flat1@127.0.0.1:%d" % self.flat.sip.local_address[1])
        self.pico.start()
        self.pico.set_pin(BUTTON, 1)  # released (active low)

    def stop(self):
        for part in (self.pico, self.kamailio):
            if part is not None:
                part.stop()
        if self.flat is not None:
            self.result.flat_heard = bytes(self.flat.heard)
            self.flat.close()
        (self.folder / "door_usb.txt").write_text(
            "\n".join(self.pico.usb_lines) if self.pico is not None else ""
        )

    # -- events ----------------------------------------------------------------

    def _on_flat_event(self, wall_time_s, event):
        self.result.flat_events.append(event)

    def _collect(self):
        pico = self.pico
        lines = pico.usb_lines[self._usb_seen :]
        self._usb_seen += len(lines)
        for line in lines:
            if line.startswith("{"):
                self.result.door_events.append(json.loads(line))
            elif line.startswith("Traceback"):
                self.result.crashed = True
        events = pico.events[self._events_seen :]
        self._events_seen += len(events)
        for event in events:
            if event["ev"] == "gpio" and event["gpio"] == RELAY:
                self.result.relay_changes.append((event["ns"], event["level"]))
            elif event["ev"] == "probe":
                fields = event["text"].split()
                if fields[0] == "heap":  # taken at fields[3] ms since reset, sent later
                    taken_ns = int(fields[3]) * 1000000
                    self.result.heap_samples.append((taken_ns, int(fields[1]), int(fields[2])))
                elif fields[0] == "boot":
                    self.result.boot_heap = int(fields[1])

    def run_until(self, what, predicate, timeout_s=STEP_TIMEOUT_S):
        deadline = time.monotonic() + timeout_s
        while True:
            self._collect()
            if predicate():
                return
            if self.pico.process.poll() is not None:
                raise CallError("the emulator ended while waiting for %s" % what)
            if self.result.crashed or time.monotonic() > deadline:
                raise CallError(
                    "no %s within %d s (or the door crashed); door events %s; flat events %s; "
                    "last USB lines:\n%s"
                    % (
                        what,
                        timeout_s,
                        self.result.door_event_names(),
                        [event["event"] for event in self.result.flat_events],
                        "\n".join(self.pico.usb_lines[-15:]),
                    )
                )
            self.loop.run_once()

    def door_has(self, name):
        return lambda: name in self.result.door_event_names()

    def flat_has(self, name):
        return lambda: any(event["event"] == name for event in self.result.flat_events)

    def wait_emulated_ms(self, what, duration_ms):
        end = self.pico.emulated_ms() + duration_ms
        self.run_until(what, lambda: self.pico.emulated_ms() >= end)

    def mark(self, name):
        mark = self.pico.mark(name)
        if self.profile:
            mark["frames"] = self.pico.take_profile()
        self.result.marks[name] = mark

    # -- the call --------------------------------------------------------------

    def run(self):
        self.run_until("registered", self.door_has("registered"), BOOT_TIMEOUT_S)
        self.mark("registered")
        self.pico.paint_stack()
        self.wait_emulated_ms("the idle door", IDLE_MS)
        self.mark("idle")
        self.pico.set_pin(BUTTON, 0)
        self.wait_emulated_ms("the press", PRESS_MS)
        self.pico.set_pin(BUTTON, 1)
        self.run_until("answered", self.door_has("answered"))
        self.mark("answered")
        self.pico.probe_heap(HEAP_PERIOD_MS)
        self.wait_emulated_ms("RTP", TALK_MS)
        self.mark("talked")
        self.flat.send_code(WRONG_CODE)
        self.run_until("code_rejected", self.door_has("code_rejected"))
        self.wait_emulated_ms("RTP", TALK_MS)
        self.flat.send_code(CODE)
        self.run_until("door_opened", self.door_has("door_opened"))
        self.run_until("call_ended", self.door_has("call_ended"))
        self.mark("ended")
        self.pico.probe_heap(0)
        self.run_until("media_stopped", self.flat_has("media_stopped"))
        self.run_until("door_closed", self.door_has("door_closed"))
        return self.result


def run_call(firmware_bin, folder, image_files, profile=False):
    call = EmulatedCall(firmware_bin, folder, image_files, profile)
    try:
        call.start()
        return call.run()
    finally:
        call.stop()
