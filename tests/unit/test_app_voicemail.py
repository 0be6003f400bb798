# The voicemail sequence after nobody answered (intercom.app.voicemail),
# frame by frame with in-memory prompt and message files: the prompt's
# samples reach the speaker unchanged, the beep follows, the mic's frames
# go into the message up to voicemail.max_seconds, and every message ends
# with message_recorded; a file error ends it with an error event.

from intercom.app.voicemail import BEEP, IDLE, PROMPT, RECORDING, Voicemail
from intercom.media import tones
from machine_events import drain
from media_signals import rms, tone_share

FRAME_BYTES = 320


class MemoryPrompt:
    def __init__(self, pcm):
        self.pcm = pcm
        self.offset = 0
        self.closed = False

    def read_into(self, buffer):
        chunk = self.pcm[self.offset : self.offset + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.offset += len(chunk)
        return len(chunk)

    def close(self):
        self.closed = True


class MemoryMessage:
    def __init__(self, number):
        self.number = number
        self.pcm = bytearray()
        self.closed = False

    def write(self, pcm):
        self.pcm.extend(pcm)

    def close(self):
        self.closed = True
        return "messages/%d.wav" % self.number


class MemoryMessages:
    """The board's side: a prompt from memory, messages into memory."""

    def __init__(self, prompt_pcm=None, full=False):
        self.prompt_pcm = prompt_pcm
        self.full = full
        self.prompts = []
        self.messages = []

    def open_prompt(self):
        if self.prompt_pcm is None:
            return None
        prompt = MemoryPrompt(self.prompt_pcm)
        self.prompts.append(prompt)
        return prompt

    def open_message(self):
        if self.full:
            raise OSError(28, "No space left on device")
        message = MemoryMessage(len(self.messages) + 1)
        self.messages.append(message)
        return message


def ramp(samples):
    """16-bit PCM whose sample n is n % 997 - 498 (no two frames alike)."""
    out = bytearray(2 * samples)
    for index in range(samples):
        value = index % 997 - 498
        out[2 * index] = value & 0xFF
        out[2 * index + 1] = (value >> 8) & 0xFF
    return bytes(out)


def mic_frame(number):
    frame = bytearray(FRAME_BYTES)
    for index in range(0, FRAME_BYTES, 2):
        frame[index] = number & 0xFF
        frame[index + 1] = (index >> 1) & 0x7F
    return frame


def voicemail(messages, record=True, max_seconds=5):
    settings = {"record": record, "max_seconds": max_seconds}
    return Voicemail(settings, messages)


def run_frames(machine, count, now_ms=0, mic=None):
    """count frames; returns (what the speaker got, whether it was written)."""
    played = []
    for number in range(count):
        speaker = bytearray(FRAME_BYTES)
        frame = mic(number) if mic is not None else bytearray(FRAME_BYTES)
        wrote = machine.frame(frame, speaker, now_ms + 20 * number)
        played.append((bytes(speaker), wrote))
    return played


def test_the_prompt_plays_unchanged_then_the_sequence_ends_without_recording():
    prompt = ramp(8000 + 37)  # a second and a bit: the last frame is short
    messages = MemoryMessages(prompt)
    machine = voicemail(messages, record=False)
    machine.start(0)
    assert machine.state == PROMPT and machine.active
    played = run_frames(machine, 52)
    speaker = b"".join(frame for frame, _ in played)
    assert speaker[: len(prompt)] == prompt
    assert speaker[len(prompt) :] == bytes(len(speaker) - len(prompt))
    assert [wrote for _, wrote in played[:51]] == [True] * 51
    assert machine.state == IDLE and messages.prompts[0].closed
    assert messages.messages == [] and drain(machine) == []


def test_with_record_a_beep_then_the_mic_goes_into_the_message_up_to_max_seconds():
    prompt = ramp(1600)  # 200 ms
    messages = MemoryMessages(prompt)
    machine = voicemail(messages, record=True, max_seconds=5)
    machine.start(0)
    played = run_frames(machine, 10)
    assert b"".join(frame for frame, _ in played) == prompt
    assert machine.state == PROMPT
    run_frames(machine, 1)  # the prompt's end: a silent frame
    assert machine.state == BEEP
    beep = run_frames(machine, 25)
    tone = b"".join(frame for frame, _ in beep)
    assert all(wrote for _, wrote in beep)
    assert tone_share(tone, 1000) > 0.95  # a 1 kHz beep...
    assert rms(tone) > 0.6 * tones.DEFAULT_AMPLITUDE  # ...at the tones' level
    run_frames(machine, 1)  # the beep's end opens the message
    assert machine.state == RECORDING and machine.recording
    sent = bytearray()
    frames = run_frames(machine, 260, mic=lambda number: mic_frame(number))
    for number in range(250):
        sent.extend(mic_frame(number))
    assert all(not wrote for _, wrote in frames)
    message = messages.messages[0]
    assert bytes(message.pcm) == bytes(sent) and len(message.pcm) == 5 * 16000
    assert message.closed and machine.state == IDLE
    recorded = drain(machine)
    assert [event["event"] for event in recorded] == ["message_recorded"]
    assert recorded[0]["path"] == "messages/1.wav" and recorded[0]["duration_ms"] == 5000


def recording_for(frames):
    """A short prompt, its beep, then `frames` mic frames into the message:
    the messages and the machine, still recording."""
    messages = MemoryMessages(ramp(800))
    machine = voicemail(messages, record=True, max_seconds=30)
    machine.start(0)
    for _ in range(200):
        if machine.recording:
            run_frames(machine, frames, mic=mic_frame)
            return messages, machine
        run_frames(machine, 1)
    raise AssertionError("never recorded")


def test_a_stop_keeps_what_the_message_holds():
    messages, machine = recording_for(100)
    machine.stop(5000)
    assert machine.state == IDLE and messages.messages[0].closed
    recorded = drain(machine)
    assert recorded[0]["event"] == "message_recorded" and recorded[0]["duration_ms"] == 2000
    assert recorded[0]["ts_ms"] == 5000


def test_without_a_prompt_file_the_special_information_tone_plays():
    messages = MemoryMessages(None)
    machine = voicemail(messages, record=False)
    machine.start(0)
    reference = tones.call_failed()
    expected = bytearray(FRAME_BYTES)
    for frame, wrote in run_frames(machine, 40):
        reference.read_into(expected)
        assert frame == bytes(expected) and wrote


def test_a_full_disk_is_an_error_event_and_the_sequence_ends():
    messages = MemoryMessages(ramp(800), full=True)
    machine = voicemail(messages, record=True)
    machine.start(0)
    run_frames(machine, 60)
    assert machine.state == IDLE and messages.messages == []
    reported = drain(machine)
    assert [event["event"] for event in reported] == ["error"]
    assert "No space left" in reported[0]["reason"]


def test_no_files_at_all_gives_the_tone_and_no_message():
    machine = voicemail(None, record=True)
    machine.start(0)
    run_frames(machine, 300)
    assert machine.state == IDLE and drain(machine) == []


def test_a_new_start_ends_the_message_being_recorded():
    messages, machine = recording_for(50)
    machine.start(3000)
    assert machine.state == PROMPT and messages.messages[0].closed
    assert drain(machine)[0]["duration_ms"] == 1000
