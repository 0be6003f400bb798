# ALSA capture and playback through pyalsaaudio (CPython only), 8000 Hz mono
# S16_LE, one period per audio frame, non-blocking so the loop never waits
# on the sound card. Shared by the sim board; the rpi board may use it too.
#
#   AlsaSource(device, frame_samples).read_frame(buffer)
#       the captured period when one is ready, else silence (a late card
#       costs a frame, never the loop)
#   AlsaSink(device, frame_samples).write_frame(pcm)
#       queues the frame; when the card's buffer is full the frame is dropped
#   .pcm  the alsaaudio.PCM (polldescriptors() for boards that let the card
#         pace the audio)
#
# available() tells whether pyalsaaudio imports; opening raises AudioError
# naming the device and ALSA's reason.

from boards.audio.audio_files import AudioError, fill_silence

try:
    import alsaaudio
except ImportError:
    alsaaudio = None

SAMPLE_RATE = 8000


def available():
    return alsaaudio is not None


def open_pcm(capture, device, frame_samples, what):
    if alsaaudio is None:
        raise AudioError("%s: '%s' needs pyalsaaudio (not installed)" % (what, device))
    try:
        return alsaaudio.PCM(
            alsaaudio.PCM_CAPTURE if capture else alsaaudio.PCM_PLAYBACK,
            alsaaudio.PCM_NONBLOCK,
            device=device,
            channels=1,
            rate=SAMPLE_RATE,
            format=alsaaudio.PCM_FORMAT_S16_LE,
            periodsize=frame_samples,
        )
    except alsaaudio.ALSAAudioError as error:
        raise AudioError("%s: cannot open ALSA PCM '%s': %s" % (what, device, error)) from None


class AlsaSource:
    def __init__(self, device, frame_samples):
        self.pcm = open_pcm(True, device, frame_samples, "audio.input")

    def read_frame(self, buffer):
        try:
            length, data = self.pcm.read()
        except alsaaudio.ALSAAudioError:  # overrun: the next read restarts it
            length, data = 0, b""
        count = min(len(data), len(buffer)) if length > 0 else 0
        buffer[:count] = data[:count]
        fill_silence(buffer, count)

    def close(self):
        self.pcm.close()


class AlsaSink:
    def __init__(self, device, frame_samples):
        self.pcm = open_pcm(False, device, frame_samples, "audio.output")

    def write_frame(self, pcm):
        try:
            self.pcm.write(bytes(pcm))
        except alsaaudio.ALSAAudioError:  # underrun recovery failed: drop the frame
            pass

    def close(self):
        self.pcm.close()
