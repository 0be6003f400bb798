# Acoustic echo cancellation for the CPython boards (rpi, sim): libspeexdsp's
# adaptive canceller (boards.audio.echo_speex) fed with the far-end
# reference exactly as played.
#
#   stage = EchoCanceller.open(frame_samples, ptime_ms, delay_ms, tail_ms,
#                              suppress_db, noise_suppress_db)
#           None when libspeexdsp is not installed
#   out = stage.process(mic_pcm)    the mic frame with the echo taken out
#                                   (the stage's buffer, valid until the
#                                   next call)
#   stage.played(speaker_pcm)       the frame the speaker plays this tick
#   stage.close()
#
# Alignment. The runtime reads a mic frame, then plays the speaker frame of
# the same tick, so what a speaker frame sends into the room reaches the mic
# delay_ms after the start of the tick that played it: at least one frame
# (ptime, the sim board), plus what the sound card holds queued (the rpi
# board measures it, boards.rpi.audio) or audio.echo_delay_ms. The stage
# keeps the speaker samples in a delay line and gives the canceller, with
# each mic frame, the speaker samples played delay_ms before it: the
# reference lines up with the echo's start, and the adaptive filter's
# tail_ms covers the rest (the distance from speaker to mic, the housing,
# the room's decay, an error in delay_ms). A delay_ms under one frame is
# taken as one frame (the future is not known yet); one too long puts the
# echo before its reference, where no canceller can find it: measure it, or
# give less rather than more.
#
# suppress_db: the most libspeexdsp's residual echo suppressor takes off
# what the adaptive filter left (0 = off); noise_suppress_db: its noise
# suppressor (0 = off). Either one adds the preprocessor, and with it one
# frame (ptime) of delay to the mic path.

from boards.audio import echo_speex

SAMPLE_RATE = 8000
SAMPLES_PER_MS = 8


class EchoCanceller:
    @classmethod
    def open(cls, frame_samples, ptime_ms, delay_ms, tail_ms, suppress_db, noise_suppress_db):
        library = echo_speex.load()
        if library is None:
            return None
        canceller = echo_speex.SpeexEchoCanceller(
            library,
            frame_samples,
            tail_ms * SAMPLES_PER_MS,
            SAMPLE_RATE,
            suppress_db,
            noise_suppress_db,
        )
        return cls(canceller, frame_samples, delay_ms)

    def __init__(self, canceller, frame_samples, delay_ms):
        self.canceller = canceller
        self.frame_bytes = 2 * frame_samples
        delay_samples = max(frame_samples, delay_ms * SAMPLES_PER_MS)
        self.delay_ms = delay_samples // SAMPLES_PER_MS
        # the last delay_samples speaker samples: the reference of the next
        # mic frame starts at its beginning
        self._line = bytearray(2 * delay_samples)
        self.out = bytearray(self.frame_bytes)

    def process(self, mic_pcm):
        self.canceller.process(mic_pcm, self._line, self.out)
        return self.out

    def played(self, speaker_pcm):
        line = self._line
        size = self.frame_bytes
        line[:-size] = line[size:]
        line[-size:] = speaker_pcm[:size]

    def close(self):
        self.canceller.close()
