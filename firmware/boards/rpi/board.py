# The Raspberry Pi board (CPython): GPIO through the RPi.GPIO API (RPi.GPIO
# on Pi 1-4, rpi-lgpio on a Pi 5), audio through pyalsaaudio, supervision
# by systemd. Pins are BCM numbers from [gpio].
#
# Safety (DESIGN.md, principle 5): the relay pin becomes an output driven
# LOW before anything else happens (RpiOutputs is built first, before any
# device or socket is opened), and it is driven LOW again and released on
# every way out: the runtime's stop, an exception (try/finally in run()),
# interpreter exit (atexit) and SIGHUP (SIGINT/SIGTERM belong to the
# runtime, which stops gracefully). A SIGKILL cannot be caught: the unit's
# ExecStopPost should force the pin low too (e.g. `pinctrl set 27 op dl`),
# and the relay driver needs a pull-down so a released (input) pin is off.
#
# Inputs and timing, all on the one loop thread:
#   buttons boards.rpi.gpio_input.GpioInput per [[button]] (edge callbacks ->
#           self-pipe -> loop; debounced on the first edge)
#   inputs  the same for gpio.door_contact, exit_button and tamper when set
#           (pull-up always: each switches to GND). At attach the door
#           contact's level is reported, and the tamper switch's when it
#           is triggered already; a held exit button at boot opens nothing.
#   outputs gpio.chime, calling, talking, door_open when set: driven LOW
#           first, with the relay (RpiOutputs), then from the Station
#   audio   audio.input and audio.output both ALSA PCM names: the capture
#           PCM paces the audio tick (boards.rpi.audio.DevicePacedAudio).
#           Otherwise (file:, tone, silence, null on either side) the
#           runtime's timer paces it and each side opens as on the sim board.
#   echo    audio.echo (default aec: libspeexdsp, boards.audio.echo_control);
#           the echo starts one period plus the playback queue measured at
#           the start after a speaker frame's tick (audio_path_delay_ms)
#   voicemail  the prompt and the messages as files (boards.audio.messages:
#           the default prompt from the package, messages in
#           voicemail.folder, which on an installed Pi resolves in
#           /var/lib/intercom, the service's writable folder)
#   LED     boards.runtime.led.LedBlinker patterns on loop timers
#   systemd READY=1 once attached, WATCHDOG=1 every WATCHDOG_USEC/2 from a
#           loop timer, STOPPING=1 on close (boards.rpi.systemd)

import atexit

from intercom.pins import INPUTS, OUTPUTS

from boards.audio import audio_files
from boards.audio.echo_control import open_echo_control
from boards.audio.endpoints import open_input, open_output
from boards.audio.messages import MessageStore, default_prompt_folder
from boards.rpi.gpio_input import GpioInput
from boards.rpi.systemd import SystemdNotifier
from boards.runtime.event_log import log
from boards.runtime.led import LedBlinker
from boards.runtime.loop import Clock
from boards.runtime.runtime import BoardBase, Runtime
from boards.services.start import build_services

NON_DEVICE_INPUTS = ("tone", "silence")
NON_DEVICE_OUTPUTS = ("null",)


def output_pins(gpio_config):
    """{output name: pin} of the optional outputs the config sets."""
    pins = {}
    for name in OUTPUTS:
        if gpio_config[name] is not None:
            pins[name] = gpio_config[name]
    return pins


def _import_gpio():
    import RPi.GPIO as GPIO  # noqa: N814 (the library's own spelling)

    return GPIO


class RpiOutputs:
    """The relay, LED and optional output pins ({name: pin}). Building it
    drives the relay LOW first."""

    def __init__(self, gpio, relay_pin, led_pin, pins=None):
        self.gpio = gpio
        self.relay_pin = relay_pin
        self.led_pin = led_pin
        self.pins = dict(pins or {})
        gpio.setwarnings(False)
        gpio.setmode(gpio.BCM)
        gpio.setup(relay_pin, gpio.OUT, initial=gpio.LOW)
        gpio.setup(led_pin, gpio.OUT, initial=gpio.LOW)
        for name in sorted(self.pins):
            gpio.setup(self.pins[name], gpio.OUT, initial=gpio.LOW)
        self.released = False

    def set_relay(self, on):
        if not self.released:
            self.gpio.output(self.relay_pin, self.gpio.HIGH if on else self.gpio.LOW)

    def set_led(self, level):
        if not self.released:
            self.gpio.output(self.led_pin, self.gpio.HIGH if level else self.gpio.LOW)

    def set_output(self, name, on):
        if not self.released:
            self.gpio.output(self.pins[name], self.gpio.HIGH if on else self.gpio.LOW)

    def release(self):
        """Every output LOW (the relay first), then every pin back to an
        input. Idempotent."""
        if self.released:
            return
        try:
            self.gpio.output(self.relay_pin, self.gpio.LOW)
            self.gpio.output(self.led_pin, self.gpio.LOW)
            for name in sorted(self.pins):
                self.gpio.output(self.pins[name], self.gpio.LOW)
        finally:
            self.released = True
            self.gpio.cleanup()


def _is_device(spec, non_device):
    return spec not in non_device and audio_files.file_path(spec) is None


class RpiBoard(BoardBase):
    name = "rpi"

    def __init__(self, config, log_mode, outputs, environ=None):
        BoardBase.__init__(self, log_mode)
        self.outputs = outputs
        self.output_names = tuple(sorted(outputs.pins))
        self.blinker = None
        self._led_pattern = "off"
        self.notifier = SystemdNotifier(environ)
        self.messages = MessageStore(config["voicemail"], default_prompt_folder())
        gpio_config = config["gpio"]
        debounce_ms = gpio_config["debounce_ms"]
        self.buttons = {}  # [[button]] id -> GpioInput
        self.inputs = {}  # optional input name -> GpioInput
        self.audio = None
        self.source = None
        self.sink = None
        try:
            for button in config["button"]:
                self.buttons[button["id"]] = GpioInput(
                    outputs.gpio, button["pin"], gpio_config["button_active_low"], debounce_ms
                )
            for name in INPUTS:
                if gpio_config[name] is not None:
                    active_low = gpio_config[name + "_active_low"]
                    self.inputs[name] = GpioInput(
                        outputs.gpio, gpio_config[name], active_low, debounce_ms, pull_up=True
                    )
            self._open_audio(config["audio"])
        except Exception:
            self._close_inputs()
            raise

    def _open_audio(self, audio):
        ptime = audio["ptime"]
        input_spec = audio["input"]
        output_spec = audio["output"]
        if _is_device(input_spec, NON_DEVICE_INPUTS) and _is_device(
            output_spec, NON_DEVICE_OUTPUTS
        ):
            from boards.rpi.audio import DevicePacedAudio

            self.audio = DevicePacedAudio(input_spec, output_spec, ptime)
            self.drives_audio = True
            return
        self.drives_audio = False
        self.source = open_input(input_spec, 8 * ptime)
        try:
            self.sink = open_output(output_spec, 8 * ptime)
        except Exception:
            self.source.close()
            raise

    # -- runtime hooks -------------------------------------------------------

    def attach(self, runtime):
        loop = runtime.loop
        self.blinker = LedBlinker(loop, self.outputs.set_led)
        self.blinker.show(self._led_pattern)
        for number, button in self.buttons.items():
            button.attach(loop, _pressed_handler(runtime, number))
        for name, switch in self.inputs.items():
            switch.attach(loop, _input_handler(runtime, name))
            if name == "door_contact" or name == "tamper" and switch.pressed:
                loop.call_later(0, _initial_level(runtime, name, switch.pressed))
        if self.audio is not None:
            self.audio.attach(loop, runtime.exchange_audio)
        self.notifier.start_watchdog(loop)
        self.notifier.ready()

    def set_relay(self, on):
        self.outputs.set_relay(on)

    def audio_path_delay_ms(self, ptime_ms):
        if self.audio is None:
            return ptime_ms
        return ptime_ms + self.audio.playback_queue_ms

    def set_led(self, pattern):
        self._led_pattern = pattern
        if self.blinker is not None:
            self.blinker.show(pattern)

    def set_output(self, name, on):
        self.outputs.set_output(name, on)

    def read_mic_frame(self, buffer):
        self.source.read_frame(buffer)

    def play_frame(self, pcm):
        self.sink.write_frame(pcm)

    def close(self):
        self.notifier.stopping()
        self.notifier.close()
        if self.blinker is not None:
            self.blinker.stop()
        self._close_inputs()
        for device in (self.audio, self.source, self.sink):
            if device is not None:
                device.close()
        self.audio = self.source = self.sink = None
        self.outputs.set_relay(False)

    def _close_inputs(self):
        for switch in list(self.buttons.values()) + list(self.inputs.values()):
            switch.close()


def _pressed_handler(runtime, number):
    return lambda pressed: runtime.button(pressed, number)


def _input_handler(runtime, name):
    return lambda active: runtime.input(name, active)


def _initial_level(runtime, name, active):
    return lambda: runtime.input(name, active)


def _install_hangup_handler(runtime):
    import signal

    def on_hangup(number, frame):
        runtime.request_exit("signal %d" % number)

    signal.signal(signal.SIGHUP, on_hangup)


def run(
    config,
    log_mode="json",
    exit_after_call=False,
    local_host=None,
    gpio=None,
    environ=None,
):
    """Run the door on a Raspberry Pi until a signal/exit_after_call; the exit status."""
    gpio_config = config["gpio"]
    if gpio is None:
        try:
            gpio = _import_gpio()
        except (ImportError, RuntimeError) as error:  # not a Pi, or no RPi.GPIO
            from intercom import events

            reason = "RPi.GPIO is not usable here: %s" % error
            BoardBase(log_mode).emit(events.error(Clock().now_ms(), reason))
            log("intercom: %s" % reason)
            return 1
    outputs = RpiOutputs(gpio, gpio_config["relay"], gpio_config["led"], output_pins(gpio_config))
    atexit.register(outputs.release)
    try:
        try:
            board = RpiBoard(config, log_mode, outputs, environ)
        except audio_files.AudioError as error:
            from intercom import events

            BoardBase(log_mode).emit(events.error(Clock().now_ms(), str(error)))
            log("intercom: %s" % error)
            return 1
        runtime = Runtime(
            config,
            board,
            local_host,
            exit_after_call,
            services_factory=build_services,
            echo_factory=open_echo_control,
        )
        _install_hangup_handler(runtime)
        return runtime.run()
    finally:
        outputs.release()
        atexit.unregister(outputs.release)
