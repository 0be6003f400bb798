# The voicemail's files ([voicemail], intercom.app.voicemail): the "nobody
# answered" prompt it plays and the visitors' messages it records, as WAV
# files (8000 Hz mono 16-bit PCM, intercom.media.wav), on the sim and rpi
# boards (CPython and the MicroPython unix port). A Pico W plays its prompt
# with boards.pico_w.board.FlashPrompt and records nothing (the config
# refuses voicemail.record there).
#
#   default_prompt_folder()   boards/audio/prompts, where `make prompts`
#                             (host_tools/prompts) writes the default
#                             prompts (a Pico W plays its prompt with
#                             boards.pico_w.board.FlashPrompt)
#   MessageStore(voicemail, prompt_folder, clock=time.localtime)
#       voicemail: the effective [voicemail] section (paths resolved);
#       prompt_folder: where the firmware's default prompts are (the
#       generated files of host_tools/prompts: DEFAULT_PROMPT without
#       voicemail.record, DEFAULT_MESSAGE_PROMPT with it, which asks for a
#       message after the tone).
#     .prompt_path          the WAV the prompt plays (None: "tone")
#     .problem              why that file cannot play (missing, not a usable
#                           WAV), checked at start, or None: the tone plays
#                           instead, and the runtime reports it
#     open_prompt() -> reader or None   (intercom.app.voicemail's contract)
#     open_message() -> writer          a new message in voicemail.folder
#                                       (made when missing); the oldest go
#                                       so that voicemail.keep remain with it
#     messages() -> [dict]  newest first: name, path, time ("YYYY-MM-DD
#                           HH:MM:SS", the door's clock when it started),
#                           duration_ms (from the file's size)
#
# Message names: message-N-YYYYMMDD-HHMMSS.wav, N counting up from the
# highest one in the folder (the order survives a clock that jumps).
# Errors are OSError (PromptError for a prompt that is not a usable WAV).

import os
import time

from intercom.media.wav import HEADER_BYTES, WavError, WavReader, WavWriter

from boards.runtime.state_file import folder_of

DEFAULT_PROMPT = "no_answer.wav"
DEFAULT_MESSAGE_PROMPT = "no_answer_message.wav"
PREFIX = "message-"
SUFFIX = ".wav"
BYTES_PER_MS = 16


def default_prompt_folder():
    return folder_of(__file__) + "/prompts"


class PromptError(OSError):
    """A prompt file that is not 8000 Hz mono 16-bit PCM WAV."""


class PromptReader:
    def __init__(self, path):
        self._file = open(path, "rb")
        try:
            self._reader = WavReader(self._file, path)
        except WavError as error:
            self._file.close()
            raise PromptError(str(error)) from None

    def read_into(self, buffer):
        return self._reader.read_into(buffer)

    def close(self):
        self._file.close()


class MessageWriter:
    def __init__(self, path):
        self.path = path
        self._file = open(path, "wb")
        self._writer = WavWriter(self._file, path)

    def write(self, pcm):
        self._writer.write(pcm)

    def close(self):
        try:
            self._writer.close()
        finally:
            self._file.close()
        return self.path


class MessageStore:
    def __init__(self, voicemail, prompt_folder, clock=time.localtime):
        self._folder = voicemail["folder"]
        self._keep = voicemail["keep"]
        self._clock = clock
        prompt = voicemail["prompt"]
        if prompt == "tone":
            self.prompt_path = None
        elif prompt == "default":
            name = DEFAULT_MESSAGE_PROMPT if voicemail["record"] else DEFAULT_PROMPT
            self.prompt_path = prompt_folder + "/" + name
        else:
            self.prompt_path = prompt
        self.problem = None
        if self.prompt_path is not None:
            try:
                self.open_prompt().close()
            except OSError as error:
                self.problem = "voicemail.prompt %s cannot play (%s): the tone plays instead" % (
                    self.prompt_path,
                    error,
                )

    def open_prompt(self):
        if self.prompt_path is None:
            return None
        return PromptReader(self.prompt_path)

    def open_message(self):
        try:
            os.mkdir(self._folder)
        except OSError:
            pass  # there already (else opening the file below says why)
        numbered = self._numbered()
        while len(numbered) >= self._keep:
            os.remove(self._folder + "/" + numbered.pop(0)[1])
        number = numbered[-1][0] + 1 if numbered else 1
        stamp = "%04d%02d%02d-%02d%02d%02d" % tuple(self._clock()[:6])
        name = "%s%d-%s%s" % (PREFIX, number, stamp, SUFFIX)
        return MessageWriter(self._folder + "/" + name)

    def messages(self):
        out = []
        for _, name in reversed(self._numbered()):
            path = self._folder + "/" + name
            try:
                size = os.stat(path)[6]
            except OSError:
                continue  # removed meanwhile
            stamp = name[len(PREFIX) :].split("-", 1)[1][: -len(SUFFIX)]
            out.append(
                {
                    "name": name,
                    "path": path,
                    "time": "%s-%s-%s %s:%s:%s"
                    % (stamp[0:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15]),
                    "duration_ms": max(0, size - HEADER_BYTES) // BYTES_PER_MS,
                }
            )
        return out

    def _numbered(self):
        """[(number, name)] of the messages in the folder, oldest first."""
        try:
            names = os.listdir(self._folder)
        except OSError:
            return []
        found = []
        for name in names:
            if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
                continue
            parts = name[len(PREFIX) : -len(SUFFIX)].split("-")
            if len(parts) == 3 and parts[0].isdigit() and len(parts[1]) == 8 and len(parts[2]) == 6:
                found.append((int(parts[0]), name))
        found.sort()
        return found
