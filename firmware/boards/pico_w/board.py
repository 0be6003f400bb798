# The Pico W board (MicroPython, rp2): machine.Pin for the buttons, relay,
# LED and the optional inputs and outputs, machine.I2S audio
# (boards.pico_w.audio), network.WLAN, machine.WDT, SNTP for quiet hours.
# Pins are GP numbers from [gpio]; I2S pins from intercom.pins.
#
# Boot order (DESIGN.md, principle 5): the relay pin becomes an output at 0
# before anything else; the watchdog starts next (8 s, the RP2040 allows
# about 8.3 s), so a hang anywhere after that, Wi-Fi included, reboots the
# door. Wi-Fi connects with retries, 1 s apart (the LED blinks fast); our
# address is the WLAN's ifconfig()[0] unless main.py was given one. When
# run() returns (Wi-Fi never came up, a crash, the stop) the relay is driven
# 0 and, on a Pico, nobody feeds the watchdog any more: it reboots the door
# within 8 s, which is the retry.
#
# Ctrl-C on the USB console (mpremote, `make flash TARGET=pico`, a person at
# the REPL) is maintenance, not a failure: the door stops (relay 0), a
# machine.Timer keeps feeding the watchdog and run() returns None, so that
# main.py ends without sys.exit() (which soft-reboots an rp2 board straight
# back into the door) and the REPL stays usable until a reset (the reset
# button, power, mpremote's soft reset) starts the door again. Without
# this, the flasher's Ctrl-C met a door that rebooted at once, and any
# REPL session was cut by the watchdog within 8 s.
#
# The loop (one thread; MicroPython IRQ handlers only count):
#   inputs  each [[button]] and each optional input set in [gpio]
#           (door_contact, exit_button, tamper: pull-up, switched to GND) is
#           a PinInput. Pin.irq on both edges only increments an edge
#           counter; a 10 ms loop timer samples every pin and feeds its
#           boards.runtime.debounce.Debouncer
#           (first edge acts, chatter ignored). A soft IRQ cannot wake
#           poll() early, so the timer is the mechanism; the counter shows
#           edges that came and went between two samples (`glitches`).
#           micropython.schedule was not used: it would run core code in
#           the middle of whatever the loop is doing.
#   audio   boards.pico_w.audio.PicoAudio paces the frames from the mic (its
#           own loop timer, once per frame, when the frame is whole: the
#           board drives the audio). audio.input/output are not used on
#           this board: it is always I2S.
#   echo    audio.echo (default half_duplex, intercom.media.half_duplex);
#           the echo of a speaker frame starts about two frames after its
#           tick: the mic frame being captured, one frame in the TX buffer
#           (audio_path_delay_ms; audio.echo_delay_ms overrides)
#           At attach the door contact's level is reported, and the tamper
#           switch's when it is triggered already.
#   outputs gpio.chime, calling, talking, door_open when set: 0 at boot with
#           the relay (PicoOutputs), then from the Station.
#   time    with [[schedule]] only: boards.runtime.sntp over the SIP socket
#           (runtime.borrow_sip_socket) to time.ntp_server, looked up once at
#           start (an IP address spares the lookup); quiet hours stay off
#           until the first answer. time.zone (required then) gives the
#           local time.
#   prompt  the voicemail's "nobody answered" prompt plays from a WAV on
#           the filesystem (FlashPrompt: prompts/, put there by make flash
#           with the plain 44-byte header, read raw after it: the WAV
#           parser of boards.audio.messages stays off the Pico's heap).
#           Messages are not recorded here (the config refuses
#           voicemail.record): a 30 s message is 480 KB of the 848 KB
#           filesystem, erasing and writing flash stalls the cores that run
#           the audio, and a Pico has no page to list them
#   wdt     fed every second by a loop timer: a stuck loop is reset.
#   wifi    checked every 2 s; when the link dropped, connect() again (at
#           most every 10 s). When it comes back with another address than
#           the door started with (a new DHCP lease), the door cannot keep
#           its calls or registration (Contact, Via and SDP name the old
#           one): an `error` event, then the runtime stops (relay off) and
#           the watchdog reboots the door onto the new address.
# UDP sockets: the runtime opens three (SIP, RTP, RTCP) of the five lwIP
# allows with DHCP and DNS; SNTP borrows the SIP socket.

import os
import time

import machine
import network
from intercom import compat, events
from intercom.compat import const
from intercom.pins import I2S_PINS, INPUTS, OUTPUTS
from intercom.sip.grammar import parse_hostport

from boards.audio.echo_control import open_echo_control
from boards.pico_w.audio import PicoAudio
from boards.runtime.addresses import StartError, resolve_host
from boards.runtime.debounce import Debouncer
from boards.runtime.event_log import log
from boards.runtime.led import LedBlinker
from boards.runtime.loop import Clock
from boards.runtime.runtime import BoardBase, Runtime
from boards.services.start import build_services

BUTTON_POLL_MS = const(10)
WDT_TIMEOUT_MS = const(8000)
WDT_FEED_MS = const(1000)
WIFI_ATTEMPTS = const(3)
WIFI_ATTEMPT_MS = const(15000)
WIFI_STATUS_POLL_MS = const(100)
WIFI_RETRY_PAUSE_MS = const(1000)
WIFI_CHECK_MS = const(2000)
WIFI_RETRY_MS = const(10000)
SNTP_CHECK_MS = const(1000)
BOARD = "pico_w"
# The prompt's place on the filesystem, beside config.json (host_tools/flash
# writes it there); the header make flash gives every prompt it copies.
PROMPT_FOLDER = "prompts"
DEFAULT_PROMPT = PROMPT_FOLDER + "/no_answer.wav"
PLAIN_WAV_HEADER = const(44)


class FlashPrompt:
    """The voicemail's prompt and no messages (intercom.app.voicemail's
    `messages`): prompt_path, problem (the file is not there: the tone
    plays), open_prompt() -> a reader of the PCM after the header."""

    def __init__(self, voicemail):
        prompt = voicemail["prompt"]
        self.prompt_path = None
        if prompt == "default":
            self.prompt_path = DEFAULT_PROMPT
        elif prompt != "tone":
            self.prompt_path = prompt
        self.problem = None
        if self.prompt_path is not None:
            try:
                os.stat(self.prompt_path)
            except OSError:
                self.problem = (
                    "voicemail.prompt %s is not on the flash (make flash puts it there): "
                    "the tone plays instead" % self.prompt_path
                )

    def open_prompt(self):
        if self.prompt_path is None:
            return None
        return PlainPrompt(self.prompt_path)

    def open_message(self):
        raise OSError("a Pico W records no messages")


class PlainPrompt:
    def __init__(self, path):
        self.stream = open(path, "rb")
        self.stream.seek(PLAIN_WAV_HEADER)

    def read_into(self, buffer):
        return (self.stream.readinto(buffer) or 0) & ~1

    def close(self):
        self.stream.close()


def output_pins(gpio):
    """{output name: pin} of the optional outputs the config sets."""
    pins = {}
    for name in OUTPUTS:
        if gpio[name] is not None:
            pins[name] = gpio[name]
    return pins


class PicoOutputs:
    """Relay, LED and optional output pins ({name: pin}); building it
    drives the relay to 0 first."""

    def __init__(self, relay_pin, led_pin, pins=None):
        Pin = machine.Pin  # noqa: N806 (the class)
        self.relay = Pin(relay_pin, Pin.OUT, value=0)
        self.led = Pin(led_pin, Pin.OUT, value=0)
        self.pins = {}
        pins = pins or {}
        for name in pins:
            self.pins[name] = Pin(pins[name], Pin.OUT, value=0)

    def set_relay(self, on):
        self.relay.value(1 if on else 0)

    def set_led(self, level):
        self.led.value(1 if level else 0)

    def set_output(self, name, on):
        self.pins[name].value(1 if on else 0)

    def release(self):
        self.relay.value(0)
        self.led.value(0)
        for pin in self.pins.values():
            pin.value(0)


class PinInput:
    """A door button, the door contact, the exit button or the tamper
    switch. Pull-up for active_low (switched to GND) or pull_up=True,
    else pull-down."""

    def __init__(self, pin, active_low, debounce_ms, pull_up=None):
        Pin = machine.Pin  # noqa: N806
        if pull_up is None:
            pull_up = active_low
        self.pin = Pin(pin, Pin.IN, Pin.PULL_UP if pull_up else Pin.PULL_DOWN)
        self._active_level = 0 if active_low else 1
        self.edges = 0
        self._edges_seen = 0
        self.glitches = 0
        self._debouncer = Debouncer(debounce_ms, pressed=self.read_pressed())
        self.pin.irq(handler=self._on_edge, trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def _on_edge(self, pin):
        # IRQ context: count, nothing else (no allocation, no core state).
        self.edges += 1

    def read_pressed(self):
        return self.pin.value() == self._active_level

    def poll(self, now_ms):
        """Sample the pin (every BUTTON_POLL_MS); the newly accepted state or None."""
        pressed = self.read_pressed()
        edges = self.edges
        if edges != self._edges_seen:
            if pressed == self._debouncer.pressed and self._debouncer.window_end_ms is None:
                self.glitches += 1
            self._edges_seen = edges
        return self._debouncer.update(pressed, now_ms)


class WifiLink:
    def __init__(self, ssid, password):
        self.ssid = ssid
        self.password = password
        self.wlan = network.WLAN(network.STA_IF)
        self._last_attempt_ms = None
        self.started_address = None  # the WLAN address the door runs on

    def connect_blocking(self, feed_watchdog, set_led):
        """Join the network (retries, LED blinking fast); True once we have an address."""
        self.wlan.active(True)
        blink = [0]

        def wait_a_little():
            feed_watchdog()
            blink[0] ^= 1
            set_led(blink[0])
            time.sleep_ms(WIFI_STATUS_POLL_MS)

        for attempt in range(1, WIFI_ATTEMPTS + 1):
            self.wlan.connect(self.ssid, self.password)
            start = time.ticks_ms()
            status = self.wlan.status()
            while time.ticks_diff(time.ticks_ms(), start) < WIFI_ATTEMPT_MS:
                status = self.wlan.status()
                if status == network.STAT_GOT_IP:
                    set_led(0)
                    return True
                if status < 0:  # wrong password, no AP, failed: next attempt
                    break
                wait_a_little()
            log("pico_w: Wi-Fi '%s' attempt %d failed (status %d)" % (self.ssid, attempt, status))
            self.wlan.disconnect()
            if attempt < WIFI_ATTEMPTS:
                pause_start = time.ticks_ms()
                while time.ticks_diff(time.ticks_ms(), pause_start) < WIFI_RETRY_PAUSE_MS:
                    wait_a_little()
        set_led(0)
        return False

    def address(self):
        return self.wlan.ifconfig()[0]

    def check(self, now_ms):
        """From a loop timer: connect() again when the link dropped. Returns
        the new address when the link is up on another address than
        started_address, else None."""
        if self.wlan.isconnected():
            self._last_attempt_ms = None
            address = self.address()
            if self.started_address is not None and address != self.started_address:
                return address
            return None
        due = self._last_attempt_ms is None or (
            compat.ticks_diff(now_ms, self._last_attempt_ms) >= WIFI_RETRY_MS
        )
        if due:
            log("pico_w: Wi-Fi link down, reconnecting")
            self._last_attempt_ms = now_ms
            self.wlan.connect(self.ssid, self.password)
        return None


def _poll_input(runtime, entry, now):
    """One (kind, argument, switch) of PicoBoard.inputs polled: a debounced
    change goes to the runtime. Apart from poll_inputs, whose frame would
    pass 11 words: MicroPython allocates such a frame at every call."""
    accepted = entry[2].poll(now)
    if accepted is None:
        return
    if entry[0] == "button":
        runtime.button(accepted, entry[1])
    else:
        runtime.input(entry[1], accepted)


class PicoBoard(BoardBase):
    name = BOARD
    drives_audio = True

    def __init__(self, config, log_mode, outputs, watchdog, wifi):
        BoardBase.__init__(self, log_mode)
        self.outputs = outputs
        self.output_names = tuple(outputs.pins)
        self.watchdog = watchdog
        self.wifi = wifi
        self.blinker = None
        self._led_pattern = "off"
        gpio = config["gpio"]
        debounce_ms = gpio["debounce_ms"]
        self.inputs = []  # (runtime call, argument, PinInput)
        for button in config["button"]:
            switch = PinInput(button["pin"], gpio["button_active_low"], debounce_ms)
            self.inputs.append(("button", button["id"], switch))
        for name in INPUTS:
            if gpio[name] is not None:
                switch = PinInput(gpio[name], gpio[name + "_active_low"], debounce_ms, True)
                self.inputs.append(("input", name, switch))
        self.sntp = None
        self._now_ms = None  # the runtime's clock, from attach on
        self._ntp_server = config["time"]["ntp_server"]
        if config["schedule"]:
            from boards.runtime.sntp import SntpClient  # only for quiet hours: heap

            self.sntp = SntpClient(os.urandom)
        self.audio = PicoAudio(machine, I2S_PINS[BOARD], config["audio"]["ptime"])
        self.messages = FlashPrompt(config["voicemail"])

    def attach(self, runtime):
        loop = runtime.loop
        self.blinker = LedBlinker(loop, self.outputs.set_led)
        self.blinker.show(self._led_pattern)
        inputs = self.inputs
        wifi = self.wifi
        self._now_ms = runtime.now_ms

        def poll_inputs():  # every BUTTON_POLL_MS: small (see _poll_input)
            now = runtime.now_ms()
            index = 0
            while index < len(inputs):
                _poll_input(runtime, inputs[index], now)
                index += 1

        loop.call_every(BUTTON_POLL_MS, poll_inputs)
        for kind, argument, switch in inputs:
            pressed = switch.read_pressed()
            if kind == "input" and (argument == "door_contact" or argument == "tamper" and pressed):
                loop.call_later(0, _initial_level(runtime, argument, pressed))
        if self.sntp is not None:
            self._start_sntp(runtime)
        loop.call_every(WDT_FEED_MS, self.watchdog.feed)
        wifi.started_address = wifi.address()

        def check_wifi():
            now = runtime.now_ms()
            address = wifi.check(now)
            if address is not None and runtime.exit_reason is None:
                reason = "Wi-Fi address changed from %s to %s: restarting" % (
                    wifi.started_address,
                    address,
                )
                self.emit(events.error(now, reason))
                log("pico_w: " + reason)
                runtime.request_exit("new Wi-Fi address")

        loop.call_every(WIFI_CHECK_MS, check_wifi)
        self.audio.attach(loop, runtime.exchange_audio)

    def _start_sntp(self, runtime):
        sntp = self.sntp
        if sntp is None:
            return
        hostport = parse_hostport(self._ntp_server)  # the config check accepted it
        try:
            address = resolve_host(hostport[0], "time.ntp_server")
        except StartError as error:
            reason = "%s; quiet hours stay off" % error
            self.emit(events.error(runtime.now_ms(), reason))
            log("pico_w: " + reason)
            return
        send = runtime.borrow_sip_socket((address, hostport[1] or 123), sntp.receive)  # NTP

        def check():
            now = runtime.now_ms()
            if sntp.next_request_ms(now) == 0:
                send(sntp.request(now))

        runtime.loop.call_every(SNTP_CHECK_MS, check)
        check()

    def utc_now_ms(self):  # pyright: ignore[reportIncompatibleMethodOverride]
        # None until the first SNTP answer: the runtime then passes no time on
        now_ms = self._now_ms
        if self.sntp is None or now_ms is None:
            return None
        return self.sntp.utc_ms(now_ms())

    def set_relay(self, on):
        self.outputs.set_relay(on)

    def audio_path_delay_ms(self, ptime_ms):
        return 2 * ptime_ms

    def set_output(self, name, on):
        self.outputs.set_output(name, on)

    def set_led(self, pattern):
        self._led_pattern = pattern
        if self.blinker is not None:
            self.blinker.show(pattern)

    def close(self):
        if self.blinker is not None:
            self.blinker.stop()
        self.audio.close()
        self.outputs.set_relay(False)


def _initial_level(runtime, name, active):
    return lambda: runtime.input(name, active)


_console_watchdog_feeder = None  # the machine.Timer after Ctrl-C, kept from the collector


def keep_watchdog_fed(watchdog):
    global _console_watchdog_feeder
    _console_watchdog_feeder = machine.Timer(
        -1, period=WDT_FEED_MS, callback=lambda timer: watchdog.feed()
    )
    log("pico_w: stopped by Ctrl-C on the console; the REPL stays until a reset")


def run(config, log_mode="json", exit_after_call=False, local_host=None):
    """Run the door on a Pico W; the exit status (a Pico reboots by watchdog
    after it), or None after Ctrl-C on the console (the REPL stays)."""
    gpio = config["gpio"]
    outputs = PicoOutputs(gpio["relay"], gpio["led"], output_pins(gpio))
    watchdog = None
    try:
        watchdog = machine.WDT(timeout=WDT_TIMEOUT_MS)
        wifi_config = config["wifi"]
        wifi = WifiLink(wifi_config["ssid"], wifi_config["password"])
        if not wifi.connect_blocking(watchdog.feed, outputs.set_led):
            reason = "Wi-Fi '%s' did not connect" % wifi_config["ssid"]
            BoardBase(log_mode).emit(events.error(Clock().now_ms(), reason))
            log("pico_w: %s" % reason)
            return 1
        if local_host is None:
            local_host = wifi.address()
        board = PicoBoard(config, log_mode, outputs, watchdog, wifi)
        runtime = Runtime(
            config,
            board,
            local_host,
            exit_after_call,
            services_factory=build_services,
            echo_factory=open_echo_control,
        )
        status = runtime.run()
        if runtime.exit_reason != "interrupt":
            return status
    except KeyboardInterrupt:  # Ctrl-C before the runtime ran (Wi-Fi)
        pass
    finally:
        outputs.release()
    if watchdog is not None:
        keep_watchdog_fed(watchdog)
    return None
