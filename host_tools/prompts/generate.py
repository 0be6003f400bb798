"""The voicemail's default prompts, synthesised at build time.

Nobody's voice is recorded: espeak-ng (Debian package espeak-ng) speaks the
texts below, sox (Debian package sox) makes each an 8000 Hz mono 16-bit PCM
WAV (the door's format, intercom.media.wav) band-limited to the telephone
band (200-3400 Hz), peaking at -3 dBFS, with 200 ms of silence before and
after; sox -R seeds its dither, so every build writes the same bytes. The
repository holds this generator, never the WAVs: `make prompts` (a
prerequisite of make setup, sim, test, bench and flash) writes them into
firmware/boards/audio/prompts/, where the sim and rpi boards find them
(boards.audio.messages.default_prompt_folder) and make flash takes the
Pico W's from.

    PROMPTS[language][file name] = text
      no_answer.wav           voicemail.prompt = "default", no recording
      no_answer_message.wav   the same with voicemail.record: asks for a
                              message after the tone
"""

import os
import pathlib
import shutil
import subprocess
import tempfile

from boards.audio.messages import DEFAULT_MESSAGE_PROMPT, DEFAULT_PROMPT, default_prompt_folder

PROMPTS = {
    "en": {
        DEFAULT_PROMPT: "Sorry, nobody is answering.",
        DEFAULT_MESSAGE_PROMPT: (
            "Sorry, nobody is answering. Please leave a message after the tone."
        ),
    },
    "de": {
        DEFAULT_PROMPT: "Leider meldet sich niemand.",
        DEFAULT_MESSAGE_PROMPT: (
            "Leider meldet sich niemand. Bitte hinterlassen Sie eine Nachricht nach dem Ton."
        ),
    },
}
VOICES = {"en": "en-gb", "de": "de"}
WORDS_PER_MINUTE = 150
TOOLS = (("espeak-ng", "espeak-ng"), ("sox", "sox"))  # (command, Debian package)
# -R: repeatable (the dither seeded); the door's format; the telephone band.
SOX_FORMAT = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
SOX_EFFECTS = ("highpass", "200", "lowpass", "3400", "norm", "-3", "pad", "0.2", "0.2")


class PromptError(Exception):
    """A prompt could not be made; the message says what to install or fix."""


def default_folder():
    return pathlib.Path(default_prompt_folder())


def check_tools():
    missing = [package for command, package in TOOLS if shutil.which(command) is None]
    if missing:
        raise PromptError(
            "the prompts are synthesised with %s: sudo apt-get install %s (requirements/apt.txt)"
            % (" and ".join(missing), " ".join(missing))
        )


def synthesise(text, voice, target):
    """espeak-ng's speech of text, as the door's WAV at target."""
    with tempfile.TemporaryDirectory(prefix="intercom-prompt-") as work:
        spoken = os.path.join(work, "spoken.wav")
        _run(["espeak-ng", "-v", voice, "-s", str(WORDS_PER_MINUTE), "-w", spoken, text])
        converted = os.path.join(work, "door.wav")
        _run(["sox", "-R", spoken, *SOX_FORMAT, converted, *SOX_EFFECTS])
        shutil.move(converted, target)


def _run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise PromptError(
            "%s failed (%d): %s" % (command[0], result.returncode, result.stderr.strip())
        )


def generate(folder=None, language="en"):
    """Write every prompt of language into folder; returns their paths."""
    if language not in PROMPTS:
        raise PromptError("no prompts for language %r (known: %s)" % (language, ", ".join(PROMPTS)))
    check_tools()
    folder = pathlib.Path(folder) if folder is not None else default_folder()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in PROMPTS[language].items():
        target = folder / name
        synthesise(text, VOICES[language], target)
        written.append(target)
    return written
