# What the visitor hears and may say when nobody answered: the "nobody
# answered" prompt, then, with voicemail.record, "leave a message after the
# tone": a beep and the visitor's message recorded to a WAV on the door.
#
# One state machine, driven frame by frame by the station's audio_frame
# (so the prompt and the message are sample-exact, whatever the clock
# does). Sans-I/O: the files are the board's, through `messages`:
#   open_prompt() -> reader or None   reader.read_into(buffer) -> bytes
#                                     written (fewer at its end, then 0),
#                                     reader.close(); None: no prompt file
#                                     (voicemail.prompt = "tone", or the
#                                     file is missing): the special
#                                     information tone plays instead
#   open_message() -> writer          writer.write(pcm), writer.close() ->
#                                     the message's path
# Either may raise OSError (a full or missing disk): the sequence ends with
# an `error` event, nothing is left open. messages None: no files at all
# (the tone, and no recording).
#
#   state      input                          action                              next
#   ---------- ------------------------------ ----------------------------------- ---------
#   idle       start (the doorbell gave up:   open the prompt (else the tone)     prompt
#              no_answer, refused)
#   prompt     frame                          the prompt's samples to the speaker prompt
#              the prompt ran out, record     the beep                            beep
#              the prompt ran out, no record  -                                   idle
#   beep       frame                          the beep to the speaker             beep
#              the beep ran out               open a message                      recording
#   recording  frame                          the mic's frame into the message,
#                                             silence on the speaker              recording
#              max_seconds of audio in it     close it, `message_recorded`        idle
#   any        stop (the doorbell left idle:  close what is open; a message:
#              a press rang again, a call     `message_recorded` with what it
#              came in; the door stops)       holds                               idle
#   any        OSError from a file            close what is open, `error`         idle
#
# `message_recorded` (path, duration_ms) follows every message opened,
# however short. The messages' number on disk is the board's
# (voicemail.keep, oldest removed).

from intercom import events
from intercom.media import tones

IDLE = "idle"
PROMPT = "prompt"
BEEP = "beep"
RECORDING = "recording"
SAMPLES_PER_MS = 8


class Voicemail:
    def __init__(self, settings, messages):
        self._record = settings["record"]
        self._max_samples = settings["max_seconds"] * 1000 * SAMPLES_PER_MS
        self._messages = messages
        self.state = IDLE
        self._source = None  # the prompt's reader, or a tone generator
        self._writer = None
        self._recorded = 0  # samples in the message so far
        self._events = []

    @property
    def active(self):
        return self.state != IDLE

    @property
    def recording(self):
        return self.state == RECORDING

    def start(self, now_ms):
        self.stop(now_ms)
        reader = None
        if self._messages is not None:
            try:
                reader = self._messages.open_prompt()
            except OSError as error:
                self._emit(now_ms, events.ERROR, {"reason": "voicemail prompt: %s" % error})
        self._source = reader if reader is not None else tones.call_failed()
        self.state = PROMPT

    def stop(self, now_ms):
        writer = self._writer
        if writer is not None:
            self._close_message(writer, now_ms)
        self._close_source()
        self.state = IDLE

    def frame(self, mic_pcm, speaker, now_ms):
        """One audio frame: mic_pcm is what the door's mic heard; speaker
        (the frame's size) gets what the speaker plays. Returns whether it
        wrote speaker samples (else the speaker plays silence)."""
        writer = self._writer
        if writer is not None:  # recording
            self._write(writer, mic_pcm, now_ms)
            return False
        source = self._source
        if source is None:  # idle
            return False
        try:
            written = source.read_into(speaker)
        except OSError as error:
            self._fail(now_ms, "voicemail prompt: %s" % error)
            return False
        for index in range(written, len(speaker)):
            speaker[index] = 0
        if written < len(speaker):
            self._source_ended(now_ms)
        return written > 0

    def _source_ended(self, now_ms):
        self._close_source()
        if self.state == PROMPT and self._record:
            self._source = tones.message_beep()
            self.state = BEEP
        elif self.state == BEEP:
            self._open_message(now_ms)
        else:
            self.state = IDLE

    def _open_message(self, now_ms):
        if self._messages is None:
            self.state = IDLE
            return
        try:
            self._writer = self._messages.open_message()
        except OSError as error:
            self._fail(now_ms, "voicemail message: %s" % error)
            return
        self._recorded = 0
        self.state = RECORDING

    def _write(self, writer, pcm, now_ms):
        room = self._max_samples - self._recorded
        samples = len(pcm) >> 1
        if samples > room:
            samples = room
            pcm = memoryview(pcm)[: room << 1]
        try:
            writer.write(pcm)
        except OSError as error:
            self._fail(now_ms, "voicemail message: %s" % error)
            return
        self._recorded += samples
        if self._recorded >= self._max_samples:
            self._close_message(writer, now_ms)
            self.state = IDLE

    def _close_message(self, writer, now_ms):
        self._writer = None
        try:
            path = writer.close()
        except OSError as error:
            self._emit(now_ms, events.ERROR, {"reason": "voicemail message: %s" % error})
            return
        duration_ms = self._recorded // SAMPLES_PER_MS
        self._events.append(events.message_recorded(now_ms, path, duration_ms))

    def _close_source(self):
        source = self._source
        self._source = None
        close = getattr(source, "close", None)  # a tone has nothing to close
        if close is not None:
            try:
                close()
            except OSError:
                pass  # a prompt that cannot even close has nothing more to give

    def _fail(self, now_ms, reason):
        self._emit(now_ms, events.ERROR, {"reason": reason})
        writer = self._writer
        self._writer = None
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass  # already reported
        self._close_source()
        self.state = IDLE

    def _emit(self, now_ms, name, fields):
        self._events.append(events.make_event(now_ms, name, fields))

    @property
    def has_events(self):
        return bool(self._events)

    def next_event(self):
        return self._events.pop(0) if self._events else None
