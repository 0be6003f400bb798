"""A fake RPi.GPIO (0.7.x API) for machines without GPIO.

Faithful to the real module where board code can tell the difference:
  - the same names, constants, signatures, defaults (-666 sentinels) and the
    same exceptions with the same messages for misuse (setup before setmode,
    input on a channel never set up, output on an input, a second
    add_event_detect on one channel, bouncetime <= 0 ...);
  - event callbacks run on ONE separate thread (RPi.GPIO's poll thread), in
    registration order, each called with the channel number;
  - bouncetime as RPi.GPIO applies it: an edge less than bouncetime ms after
    the last edge that was reported is dropped (no callback, no
    event_detected), even when it is the release after a press;
  - setup(OUT, initial=...) drives the level before the pin becomes an output;
    cleanup() returns the channels this process set up to inputs.
tests/boards/rpi/test_rpi_gpio_fake.py keeps it honest against the
types-RPi.GPIO stubs.

Test side (names start with sim_, they do not exist in RPi.GPIO):
  sim_press(channel) / sim_release(channel)   a button wired to the opposite
      rail of the input's pull (pull-up: pressed = LOW)
  sim_bounce(channel, pressed, edges, spacing_ms)   contact chatter: `edges`
      alternating edges spacing_ms apart, ending pressed or released
  sim_set_level(channel, level)   drive an input to 0/1
  sim_outputs(bcm) -> [(t_ms, level)]   every level an output was driven
      to, level None when cleanup() released it (t_ms: monotonic ms)
  sim_wait_callbacks(timeout_s)   until the callback thread has run all
  sim_callback_thread_ident() -> the callback thread's ident (or None)
  sim_reset()   forget everything (between tests)
Across processes, through environment variables read at import:
  FAKE_RPI_GPIO_CONTROL  a file or FIFO read line by line by a thread:
      "press N", "release N", "bounce N pressed|released EDGES SPACING_MS",
      "level N 0|1", "sleep MS"; a FIFO is reopened after each writer.
  FAKE_RPI_GPIO_LOG      every output change appended as a JSON line
      {"t_ms": monotonic ms, "channel": N, "level": 0|1|null, "what":
      "setup"|"output"|"cleanup"}.
"""

import json
import os
import queue
import sys
import threading
import time
import traceback

VERSION = "0.7.1"
RPI_INFO = {
    "P1_REVISION": 3,
    "REVISION": "c03114",
    "TYPE": "Pi 4 Model B",
    "MANUFACTURER": "Sony",
    "PROCESSOR": "BCM2711",
    "RAM": "4G",
}
RPI_REVISION = 3

HIGH = 1
LOW = 0

OUT = 0
IN = 1
HARD_PWM = 43
SERIAL = 40
I2C = 42
SPI = 41
UNKNOWN = -1

BOARD = 10
BCM = 11

PUD_OFF = 20
PUD_UP = 22
PUD_DOWN = 21

RISING = 31
FALLING = 32
BOTH = 33

_DEFAULT = -666
# Physical header pin -> BCM GPIO on a 40-pin header (P1 revision 3).
_BOARD_TO_BCM = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23,
    18: 24, 19: 10, 21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5,
    31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
}  # fmt: skip


def _now_ms():
    return time.monotonic_ns() // 1_000_000


class _Detection:
    def __init__(self, edge, bouncetime):
        self.edge = edge
        self.bouncetime = bouncetime
        self.last_reported_ns = None
        self.detected = False
        self.callbacks = []


class _State:
    def __init__(self):
        self.lock = threading.RLock()
        self.mode = None
        self.warnings = True
        self.directions = {}  # bcm -> IN / OUT (channels this process set up)
        self.pulls = {}  # bcm -> PUD_*
        self.levels = {}  # bcm -> 0 / 1
        self.detections = {}  # bcm -> _Detection
        self.outputs = {}  # bcm -> [(t_ms, level)]
        self.edge_waiters = []  # (bcm, edge, threading.Event)
        self.callback_queue = queue.Queue()
        self.callback_thread = None


_state = _State()


# -- channel numbers ------------------------------------------------------


def _channels(channel):
    if isinstance(channel, (list, tuple)):
        return list(channel)
    return [channel]


def _to_bcm(channel):
    if _state.mode is None:
        raise RuntimeError(
            "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)"
        )
    if not isinstance(channel, int) or isinstance(channel, bool):
        raise ValueError("Channel must be an integer or list/tuple of integers")
    if _state.mode == BCM:
        if 0 <= channel <= 53:
            return channel
    elif channel in _BOARD_TO_BCM:
        return _BOARD_TO_BCM[channel]
    raise ValueError("The channel sent is invalid on a Raspberry Pi")


def _from_bcm(bcm):
    if _state.mode == BOARD:
        for physical, gpio in _BOARD_TO_BCM.items():
            if gpio == bcm:
                return physical
    return bcm


# -- the real API ---------------------------------------------------------


def setmode(mode, /):
    if mode not in (BOARD, BCM):
        raise ValueError("An invalid mode was passed to setmode()")
    with _state.lock:
        if _state.mode is not None and _state.mode != mode:
            raise ValueError("A different mode has already been set!")
        _state.mode = mode


def getmode():
    return _state.mode


def setwarnings(gpio_warnings, /):
    _state.warnings = bool(gpio_warnings)


def setup(channel, direction, pull_up_down=PUD_OFF, initial=_DEFAULT):
    if direction not in (IN, OUT):
        raise ValueError("An invalid direction was passed to setup()")
    if direction == OUT and pull_up_down != PUD_OFF:
        raise ValueError("pull_up_down parameter is not valid for outputs")
    if direction == IN and initial != _DEFAULT:
        raise ValueError("initial parameter is not valid for inputs")
    if pull_up_down not in (PUD_OFF, PUD_UP, PUD_DOWN):
        raise ValueError(
            "Invalid value for pull_up_down - should be either PUD_OFF, PUD_UP or PUD_DOWN"
        )
    with _state.lock:
        for one in _channels(channel):
            bcm = _to_bcm(one)
            if _state.warnings and bcm in _state.directions:
                print(
                    "RuntimeWarning: This channel is already in use, continuing anyway.",
                    file=sys.stderr,
                )
            if direction == OUT:
                level = 0 if initial == _DEFAULT else (1 if initial else 0)
                _state.levels[bcm] = level
                _state.directions[bcm] = OUT
                _state.pulls[bcm] = PUD_OFF
                _record_output(bcm, level, "setup")
            else:
                _state.directions[bcm] = IN
                _state.pulls[bcm] = pull_up_down
                _state.levels[bcm] = 1 if pull_up_down == PUD_UP else 0


def output(channel, value, /):
    channels = _channels(channel)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * len(channels)
    if len(values) != len(channels):
        raise RuntimeError("Number of channels != number of values")
    with _state.lock:
        for one, level in zip(channels, values, strict=True):
            bcm = _to_bcm(one)
            if _state.directions.get(bcm) != OUT:
                raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
            level = 1 if level else 0
            _state.levels[bcm] = level
            _record_output(bcm, level, "output")


def input(channel, /):
    with _state.lock:
        bcm = _to_bcm(channel)
        if bcm not in _state.directions:
            raise RuntimeError("You must setup() the GPIO channel first")
        return _state.levels[bcm]


def gpio_function(channel, /):
    with _state.lock:
        return _state.directions.get(_to_bcm(channel), IN)


def _check_edge(edge, bouncetime):
    if edge not in (RISING, FALLING, BOTH):
        raise ValueError("The edge must be set to RISING, FALLING or BOTH")
    if bouncetime <= 0 and bouncetime != _DEFAULT:
        raise ValueError("Bouncetime must be greater than 0")


def _input_bcm(channel):
    """channel's BCM number, once setup() made it an input (under the lock)."""
    bcm = _to_bcm(channel)
    if _state.directions.get(bcm) != IN:
        raise RuntimeError("You must setup() the GPIO channel as an input first")
    return bcm


def add_event_detect(channel, edge, callback=None, bouncetime=_DEFAULT):
    _check_edge(edge, bouncetime)
    if callback is not None and not callable(callback):
        raise TypeError("Parameter must be callable")
    with _state.lock:
        bcm = _input_bcm(channel)
        if bcm in _state.detections:
            raise RuntimeError("Conflicting edge detection already enabled for this GPIO channel")
        detection = _Detection(edge, None if bouncetime == _DEFAULT else bouncetime)
        if callback is not None:
            detection.callbacks.append(callback)
        _state.detections[bcm] = detection
        _start_callback_thread()


def remove_event_detect(channel, /):
    with _state.lock:
        _state.detections.pop(_to_bcm(channel), None)


def event_detected(channel, /):
    with _state.lock:
        detection = _state.detections.get(_to_bcm(channel))
        if detection is None or not detection.detected:
            return False
        detection.detected = False
        return True


def add_event_callback(channel, callback):
    if not callable(callback):
        raise TypeError("Parameter must be callable")
    with _state.lock:
        bcm = _input_bcm(channel)
        detection = _state.detections.get(bcm)
        if detection is None:
            raise RuntimeError(
                "Add event detection using add_event_detect first before adding a callback"
            )
        detection.callbacks.append(callback)


def wait_for_edge(channel, edge, bouncetime=_DEFAULT, timeout=-1):
    _check_edge(edge, bouncetime)
    with _state.lock:
        bcm = _input_bcm(channel)
        if bcm in _state.detections:
            raise RuntimeError(
                "Conflicting edge detection events already exist for this GPIO channel"
            )
        waiter = (bcm, edge, threading.Event())
        _state.edge_waiters.append(waiter)
    try:
        if waiter[2].wait(None if timeout < 0 else timeout / 1000):
            return channel
        return None
    finally:
        with _state.lock:
            _state.edge_waiters.remove(waiter)


def cleanup(channel=_DEFAULT):
    with _state.lock:
        if channel == _DEFAULT:
            targets = list(_state.directions)
        else:
            targets = [_to_bcm(one) for one in _channels(channel)]
        for bcm in targets:
            _state.detections.pop(bcm, None)
            if _state.directions.pop(bcm, None) == OUT:
                _record_output(bcm, None, "cleanup")
            _state.pulls.pop(bcm, None)
            _state.levels.pop(bcm, None)
        if channel == _DEFAULT:
            _state.mode = None


class PWM:
    def __init__(self, channel, frequency, /):
        if frequency <= 0.0:
            raise ValueError("frequency must be greater than 0.0")
        with _state.lock:
            self._bcm = _to_bcm(channel)
            if _state.directions.get(self._bcm) != OUT:
                raise RuntimeError("You must setup() the GPIO channel as an output first")
        self.frequency = frequency
        self.dutycycle = 0.0
        self.running = False

    def start(self, dutycycle, /):
        self.ChangeDutyCycle(dutycycle)
        self.running = True

    def ChangeDutyCycle(self, dutycycle, /):  # noqa: N802 (RPi.GPIO's name)
        if not 0.0 <= dutycycle <= 100.0:
            raise ValueError("dutycycle must have a value from 0.0 to 100.0")
        self.dutycycle = dutycycle

    def ChangeFrequency(self, frequency, /):  # noqa: N802 (RPi.GPIO's name)
        if frequency <= 0.0:
            raise ValueError("frequency must be greater than 0.0")
        self.frequency = frequency

    def stop(self):
        self.running = False


# -- edges and the callback thread ----------------------------------------


def _record_output(bcm, level, what):
    t_ms = _now_ms()
    _state.outputs.setdefault(bcm, []).append((t_ms, level))
    log_path = os.environ.get("FAKE_RPI_GPIO_LOG")
    if log_path:
        line = json.dumps({"t_ms": t_ms, "channel": bcm, "level": level, "what": what})
        with open(log_path, "a") as log:
            log.write(line + "\n")


def _start_callback_thread():
    if _state.callback_thread is None:
        thread = threading.Thread(target=_run_callbacks, name="fake-gpio-poll", daemon=True)
        _state.callback_thread = thread
        thread.start()


def _run_callbacks():
    while True:
        bcm, callbacks = _state.callback_queue.get()
        try:
            channel = _from_bcm(bcm)
            for callback in callbacks:
                try:
                    callback(channel)
                except Exception:
                    traceback.print_exc()
        finally:
            _state.callback_queue.task_done()


def _drive(bcm, level):
    """An external level change on an input: edge detection as RPi.GPIO does it."""
    with _state.lock:
        if _state.levels.get(bcm) == level:
            return
        _state.levels[bcm] = level
        edge = RISING if level else FALLING
        for waiter in _state.edge_waiters:
            if waiter[0] == bcm and waiter[1] in (edge, BOTH):
                waiter[2].set()
        detection = _state.detections.get(bcm)
        if detection is None or detection.edge not in (edge, BOTH):
            return
        now_ns = time.monotonic_ns()
        last = detection.last_reported_ns
        if detection.bouncetime is not None and last is not None:
            if now_ns - last <= detection.bouncetime * 1_000_000:
                return
        detection.last_reported_ns = now_ns
        detection.detected = True
        if detection.callbacks:
            _state.callback_queue.put((bcm, list(detection.callbacks)))


def _input_bcm(channel):
    with _state.lock:
        bcm = _to_bcm(channel)
        if _state.directions.get(bcm) != IN:
            raise RuntimeError("sim: channel %r is not set up as an input" % (channel,))
        return bcm


def _active_level(bcm):
    return 0 if _state.pulls.get(bcm) == PUD_UP else 1


# -- test side --------------------------------------------------------------


def sim_set_level(channel, level):
    _drive(_input_bcm(channel), 1 if level else 0)


def sim_press(channel):
    bcm = _input_bcm(channel)
    _drive(bcm, _active_level(bcm))


def sim_release(channel):
    bcm = _input_bcm(channel)
    _drive(bcm, 1 - _active_level(bcm))


def sim_bounce(channel, pressed, edges, spacing_ms=1):
    """`edges` alternating edges spacing_ms apart, the last one leaving the
    button pressed (or released)."""
    bcm = _input_bcm(channel)
    final = _active_level(bcm) if pressed else 1 - _active_level(bcm)
    levels = [final if (edges - 1 - index) % 2 == 0 else 1 - final for index in range(edges)]
    for index, level in enumerate(levels):
        if index:
            time.sleep(spacing_ms / 1000)
        _drive(bcm, level)


def sim_outputs(bcm):
    """Works before setmode and after cleanup(), so the number is always BCM."""
    with _state.lock:
        return list(_state.outputs.get(bcm, []))


def sim_wait_callbacks(timeout_s=2.0):
    deadline = time.monotonic() + timeout_s
    while _state.callback_queue.unfinished_tasks:
        if time.monotonic() > deadline:
            raise TimeoutError("fake GPIO callbacks still running")
        time.sleep(0.001)


def sim_callback_thread_ident():
    thread = _state.callback_thread
    return None if thread is None else thread.ident


def sim_reset():
    sim_wait_callbacks()
    with _state.lock:
        _state.mode = None
        _state.warnings = True
        _state.directions.clear()
        _state.pulls.clear()
        _state.levels.clear()
        _state.detections.clear()
        _state.outputs.clear()


# -- control from another process -------------------------------------------


def _run_control_command(words):
    verb = words[0]
    if verb == "sleep":
        time.sleep(int(words[1]) / 1000)
        return
    with _state.lock:
        mode = _state.mode
    if mode is None:
        raise RuntimeError("sim: no pin numbering mode set yet")
    channel = int(words[1])
    if verb == "press":
        sim_press(channel)
    elif verb == "release":
        sim_release(channel)
    elif verb == "level":
        sim_set_level(channel, int(words[2]))
    elif verb == "bounce":
        sim_bounce(channel, words[2] == "pressed", int(words[3]), int(words[4]))
    else:
        raise ValueError("sim: unknown command %r" % (verb,))


def _follow_control(path):
    while True:
        with open(path) as control:
            for line in control:
                words = line.split()
                if not words:
                    continue
                try:
                    _run_control_command(words)
                except Exception as exc:
                    print("fake RPi.GPIO control: %s: %s" % (line.strip(), exc), file=sys.stderr)
        if not os.path.exists(path) or not _is_fifo(path):
            return


def _is_fifo(path):
    import stat

    return stat.S_ISFIFO(os.stat(path).st_mode)


def _start_control_thread():
    path = os.environ.get("FAKE_RPI_GPIO_CONTROL")
    if path:
        threading.Thread(
            target=_follow_control, args=(path,), name="fake-gpio-control", daemon=True
        ).start()


_start_control_thread()
