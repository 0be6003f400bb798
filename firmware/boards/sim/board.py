# The desktop board: stdin is the door button, audio comes from and goes to
# files, tones or ALSA. Runs on CPython and on the MicroPython unix port.
#
# stdin, one command per line (DESIGN.md, Contracts: Sim board input):
#   press [N]     button N goes down (a [[button]] id; plain press is 1)
#   release [N]   button N comes up
#   hangup        end the call (local hangup)
#   sensor open   the door contact opens     sensor close   it closes again
#   exit          the exit button inside is pressed and released
#   tamper [on]   the housing's tamper switch triggers; tamper off: it closes
#   help          the commands, on stderr
#   quit          stop gracefully, exit 0
# The sim board always has the door contact (shut at start), the exit button
# and the tamper switch, whatever [gpio] says, and every output: each
# change of one is an extra event
#   {"ts_ms": ..., "event": "output", "output": "chime|calling|talking|door_open", "on": bool}
# Blank lines are ignored; anything else (a button id the config lacks
# included) gets a warning on stderr. Closing stdin is not `quit`: stdin
# leaves the poll set and the door keeps running.
#
# audio.input:  file:PATH.wav (played once, starting when the first call is
#               talking or a message records, then silence: the visitor
#               speaks once someone listens), tone, silence,
#               default (ALSA "default" when pyalsaaudio works, else silence),
#               any other text: an ALSA PCM name (CPython with pyalsaaudio)
# audio.output: file:PATH.wav, null, default (ALSA "default", else null),
#               any other text: an ALSA PCM name
# Relative file paths are relative to the config file's folder
# (resolved by boards.cli.config_file).
#
# [sim] echo_path = true (CPython with numpy): the simulated room of
# boards.audio.echo_path between the speaker and the mic; every speaker
# frame comes back into the mic frames that follow, after room_delay_ms,
# through a generated room response (room_gain_db, room_decay_ms), with
# room noise (room_noise_db), on top of audio.input (the visitor).
#
# Relay and LED: the relay is logged on stderr (its events are door_opened /
# door_closed from the Station); every LED change is an extra event
#   {"ts_ms": ..., "event": "led", "pattern": "off|on|slow|fast|double"}

import select
import sys

from intercom import events
from intercom.pins import OUTPUTS

from boards.audio import audio_files
from boards.audio.echo_control import open_echo_control
from boards.audio.endpoints import open_input, open_output
from boards.audio.messages import MessageStore, default_prompt_folder
from boards.runtime.event_log import log
from boards.runtime.loop import Clock
from boards.runtime.runtime import EXIT_FAILURE, BoardBase, Runtime
from boards.services.start import build_services

try:
    import os

    read_fd = os.read
except (ImportError, AttributeError):  # MicroPython: no os.read
    read_fd = None

COMMANDS = (
    "press [N]",
    "release [N]",
    "hangup",
    "sensor open",
    "sensor close",
    "exit",
    "tamper [on]",
    "tamper off",
    "help",
    "quit",
)
HELP = "sim: commands: " + ", ".join(COMMANDS)
MAX_LINE = 128  # longer lines are dropped up to their newline
STDIN_CHUNK = 4096
STDIN_BURST = 256  # bytes read per wakeup on MicroPython (one at a time)
LED_EVENT = "led"
OUTPUT_EVENT = "output"


class CommandReader:
    """Splits stdin bytes into commands; keeps a partial line between reads.

    A command comes out as its words, lower case, with the defaults filled
    in: ("press", 1), ("sensor", "open"), ("tamper", "on"), ("quit",).
    buttons: the [[button]] ids press and release accept.
    """

    def __init__(self, warn=log, buttons=(1,)):
        self.partial = b""
        self.overlong = False
        self.warn = warn
        self.buttons = buttons

    def feed(self, data):
        """The complete commands in data (with what came before), in order."""
        commands = []
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if self.overlong:
                self.overlong = False
                continue
            command = self.parse(line)
            if command is not None:
                commands.append(command)
        if len(self.partial) > MAX_LINE:
            self.warn("sim: stdin line longer than %d bytes ignored" % MAX_LINE)
            self.partial = b""
            self.overlong = True
        return commands

    def parse(self, line):
        try:
            text = line.decode().strip().lower()
        except UnicodeError:
            text = None
        if text == "":
            return None
        words = text.split() if text is not None else []
        command = self._command(words)
        if command is not None:
            return command
        shown = repr(line.strip()) if text is None else repr(text)
        if words and words[0] in ("press", "release") and len(words) == 2:
            known = ", ".join(str(number) for number in self.buttons)
            self.warn("sim: no button %s (the config has %s)" % (shown, known))
        else:
            self.warn("sim: unknown command %s (known: %s)" % (shown, ", ".join(COMMANDS)))
        return None

    def _command(self, words):
        if not words or len(words) > 2:
            return None
        name = words[0]
        argument = words[1] if len(words) == 2 else None
        if name in ("press", "release"):
            if argument is None:
                return (name, 1)
            if argument.isdigit() and int(argument) in self.buttons:
                return (name, int(argument))
            return None
        if name == "sensor" and argument in ("open", "close"):
            return (name, argument)
        if name == "tamper" and argument in (None, "on", "off"):
            return (name, argument or "on")
        if name in ("hangup", "exit", "help", "quit") and argument is None:
            return (name,)
        return None


class StdinSource:
    """stdin as a loop reader on both interpreters.

    CPython: poll fd 0 and os.read what is there. MicroPython has no os.read
    and its stream reads block until the buffer is full, so it reads one
    byte at a time while its own poll says more is waiting.
    """

    def __init__(self, on_data, on_eof):
        self.on_data = on_data
        self.on_eof = on_eof
        if read_fd is not None:
            self.poll_object = 0
            self.more = None
        else:
            self.poll_object = sys.stdin
            self.more = select.poll()
            self.more.register(sys.stdin, select.POLLIN)

    def readable(self, source, poll_events):
        try:
            if read_fd is not None:
                data = read_fd(0, STDIN_CHUNK)
            else:
                data = self.read_available(poll_events)
        except OSError:  # stdin was closed under us (EBADF): as good as EOF
            data = b""
        if data:
            self.on_data(data)
        else:
            self.on_eof()

    def read_available(self, poll_events):
        if not poll_events & select.POLLIN:
            return b""  # hang-up with nothing left
        data = bytearray()
        stream = sys.stdin.buffer
        while len(data) < STDIN_BURST:
            byte = stream.read(1)
            if not byte:
                break
            data.extend(byte)
            ready = self.more.poll(0)
            if not ready or not ready[0][1] & select.POLLIN:
                break
        return bytes(data)


class SimBoard(BoardBase):
    name = "sim"

    output_names = OUTPUTS

    def __init__(self, config, log_mode):
        BoardBase.__init__(self, log_mode)
        self.relay_on = False
        self.led = "off"
        self.outputs = {}
        self.runtime = None
        buttons = tuple(button["id"] for button in config["button"])
        self.commands = CommandReader(buttons=buttons)
        self.stdin = None
        audio = config["audio"]
        frame_samples = 8 * audio["ptime"]
        self.source = open_input(audio["input"], frame_samples)
        self.file_input = isinstance(self.source, audio_files.WavSource)
        try:
            self.sink = open_output(audio["output"], frame_samples)
        except audio_files.AudioError:
            self.source.close()
            raise
        self.messages = MessageStore(config["voicemail"], default_prompt_folder())
        self.room = None
        room = config["sim"]
        if room is not None and room["echo_path"]:
            self.room = open_room(room, frame_samples)

    def attach(self, runtime):
        self.runtime = runtime
        self.stdin = StdinSource(self.on_stdin, self.on_stdin_closed)
        runtime.loop.add_reader(self.stdin, self.stdin.readable)
        runtime.loop.call_later(0, lambda: runtime.input("door_contact", False))  # shut

    def on_stdin(self, data):
        for command in self.commands.feed(data):
            name = command[0]
            runtime = self.runtime
            if name in ("press", "release"):
                runtime.button(name == "press", command[1])
            elif name == "hangup":
                runtime.hangup()
            elif name == "sensor":
                runtime.input("door_contact", command[1] == "open")
            elif name == "exit":
                runtime.input("exit_button", True)
                runtime.input("exit_button", False)
            elif name == "tamper":
                runtime.input("tamper", command[1] == "on")
            elif name == "help":
                log(HELP)
            else:
                runtime.request_exit("quit")

    def on_stdin_closed(self):
        self.runtime.loop.remove_reader(self.stdin)
        if self.runtime.exit_reason is None:
            log("sim: stdin closed; the door keeps running (quit, a signal or a call end stop it)")

    def set_relay(self, on):
        self.relay_on = on
        log("sim: relay %s" % ("ON" if on else "off"))

    def set_led(self, pattern):
        self.led = pattern
        self.emit({"ts_ms": self.runtime.now_ms(), "event": LED_EVENT, "pattern": pattern})

    def set_output(self, name, on):
        self.outputs[name] = on
        event = {"ts_ms": self.runtime.now_ms(), "event": OUTPUT_EVENT, "output": name, "on": on}
        self.emit(event)

    def read_mic_frame(self, buffer):
        if self.file_input and not self.runtime.station.mic_live:
            audio_files.fill_silence(buffer, 0)  # the visitor speaks once someone listens
        else:
            self.source.read_frame(buffer)
        if self.room is not None:
            self.room.mic_frame(buffer, buffer)

    def play_frame(self, pcm):
        self.sink.write_frame(pcm)
        if self.room is not None:
            self.room.played(pcm)

    def close(self):
        self.source.close()
        self.sink.close()


def open_room(room, frame_samples):
    """The simulated acoustic echo path of [sim] (boards.audio.echo_path)."""
    try:
        from boards.audio.echo_path import EchoPath
    except ImportError as error:  # MicroPython, or no numpy
        raise audio_files.AudioError(
            "sim.echo_path: the simulated room needs CPython with numpy (%s)" % error
        ) from None
    return EchoPath(
        frame_samples,
        delay_ms=room["room_delay_ms"],
        gain_db=room["room_gain_db"],
        decay_ms=room["room_decay_ms"],
        noise_db=room["room_noise_db"],
        seed=room["room_seed"],
    )


def run(config, log_mode="json", exit_after_call=False, local_host=None):
    """Run the sim door until quit/signal/exit_after_call; the exit status."""
    try:
        board = SimBoard(config, log_mode)
    except audio_files.AudioError as error:
        BoardBase(log_mode).emit(events.error(Clock().now_ms(), str(error)))
        log("intercom: %s" % error)
        return EXIT_FAILURE
    return Runtime(
        config,
        board,
        local_host,
        exit_after_call,
        services_factory=build_services,
        echo_factory=open_echo_control,
    ).run()
