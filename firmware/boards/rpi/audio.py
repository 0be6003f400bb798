# Device-paced ALSA audio for the rpi board: the capture PCM's poll
# descriptors sit in the loop and its readiness drives the audio tick
# (DESIGN.md, principle 3). The sound card's clock paces RTP, not a timer.
#
# One tick = one period (audio.ptime ms, 8000 Hz mono S16_LE) read from the
# capture PCM -> exchange(mic) (runtime.exchange_audio: Station.audio_frame
# and the datagram flush) -> the speaker PCM written to the playback PCM.
#
# Both PCMs are PCM_NONBLOCK (boards.audio.alsa_audio.open_pcm, pyalsaaudio 0.11):
#   read()  -> (frames, data); (0, b"") = nothing ready (EAGAIN);
#              negative (-EPIPE) = overrun, data was lost and pyalsaaudio
#              has prepared the PCM again: counted, reading goes on.
#              Short reads are joined until a whole period is there.
#   write() -> frames taken; 0 = the playback buffer is full (EAGAIN): the
#              frame is dropped and counted. An underrun (XRUN state) is
#              counted; pyalsaaudio prepares the PCM again on the next write.
#              Playback starts with PREFILL_PERIODS of silence so a late
#              wake-up does not underrun at once.
#   ALSAAudioError (device gone, I/O error): logged once, the capture leaves
#              the loop and a loop timer keeps the tick going with silence,
#              so calls go on (without audio) instead of crashing the door.
#
# Echo reference: after the prefill, playback_queue_ms is what the playback
# buffer holds (buffer_size - avail(), as ALSA reports it): a speaker frame
# written at a tick is heard that long later, and one capture period after
# the tick's mic frame started (the rpi board's audio_path_delay_ms,
# boards.audio.echo_control). A device that plays at once (ALSA's null)
# holds nothing.
#
# Devices without a clock: ALSA's `null` plugin (and `file` over it, used
# by the tests) is always ready, so reads never run dry and would go as fast
# as the CPU. The pacing guard: frames read since the capture last ran dry
# may lead the loop clock by at most MAX_LEAD_MS; beyond that the capture
# leaves the poll set and comes back by a timer when the clock caught up. A
# real card runs dry after every period (we read all there is until EAGAIN),
# which re-anchors the guard, so it never throttles a clocked device. Such
# clockless devices therefore run in real time, in bursts of up to
# MAX_LEAD_MS.

from intercom import compat

from boards.audio import alsa_audio
from boards.runtime.event_log import log

PREFILL_PERIODS = 2
MAX_LEAD_MS = 60
MAX_READS_PER_WAKE = 16


class DevicePacedAudio:
    def __init__(self, capture_device, playback_device, ptime_ms):
        self.ptime_ms = ptime_ms
        self.frame_samples = 8 * ptime_ms
        self.frame_bytes = 2 * self.frame_samples
        self.capture = alsa_audio.open_pcm(True, capture_device, self.frame_samples, "audio.input")
        try:
            self.playback = alsa_audio.open_pcm(
                False, playback_device, self.frame_samples, "audio.output"
            )
        except Exception:
            self.capture.close()
            raise
        self._pending = bytearray()
        self._silence = bytes(self.frame_bytes)
        self._loop = None
        self._exchange = None
        self._fds = []
        self._polled = False
        self._resume_timer = None
        self._fallback_timer = None
        self._anchor_ms = 0
        self._frames_since_anchor = 0
        self.playback_queue_ms = 0
        self.frames = 0
        self.overruns = 0
        self.underruns = 0
        self.dropped = 0
        self.errors = 0

    def attach(self, loop, exchange):
        """Start: exchange(mic_pcm) -> speaker PCM runs once per period."""
        self._loop = loop
        self._exchange = exchange
        self._anchor_ms = loop.clock.now_ms()
        for _ in range(PREFILL_PERIODS):
            self._write(self._silence)
        self.playback_queue_ms = self._queued_ms()
        self._fds = [fd for fd, _mask in self.capture.polldescriptors()]
        self._poll_capture(True)

    def _queued_ms(self):
        """ms of audio in the playback buffer, as ALSA reports it."""
        try:
            queued = self.playback.info()["buffer_size"] - self.playback.avail()
        except alsa_audio.alsaaudio.ALSAAudioError:
            return 0
        return max(0, queued) * self.ptime_ms // self.frame_samples

    def _poll_capture(self, on):
        if on == self._polled:
            return
        self._polled = on
        for fd in self._fds:
            if on:
                self._loop.add_reader(fd, self._on_capture)
            else:
                self._loop.remove_reader(fd)

    def _on_capture(self, fd, poll_events):
        for _ in range(MAX_READS_PER_WAKE):
            now = self._loop.clock.now_ms()
            elapsed = compat.ticks_diff(now, self._anchor_ms)
            lead = self._frames_since_anchor * self.ptime_ms - elapsed
            if lead > MAX_LEAD_MS:
                self._pause(lead - MAX_LEAD_MS + self.ptime_ms)
                return
            try:
                count, data = self.capture.read()
            except alsa_audio.alsaaudio.ALSAAudioError as error:
                self._fail(error)
                return
            if count == 0:
                self._anchor_ms = now
                self._frames_since_anchor = 0
                return
            if count < 0:
                self.overruns += 1
                continue
            self._pending.extend(data)
            while len(self._pending) >= self.frame_bytes:
                mic = bytes(self._pending[: self.frame_bytes])
                del self._pending[: self.frame_bytes]
                self._frames_since_anchor += 1
                self._tick(mic)

    def _tick(self, mic):
        self.frames += 1
        self._write(self._exchange(mic))

    def _write(self, pcm):
        try:
            if self.playback.state() == alsa_audio.alsaaudio.PCM_STATE_XRUN:
                self.underruns += 1
            written = self.playback.write(pcm)
        except alsa_audio.alsaaudio.ALSAAudioError as error:
            self.errors += 1
            if self.errors == 1:
                log("rpi: playback: %s" % error)
            return
        if written * 2 < len(pcm):
            self.dropped += 1

    def _pause(self, delay_ms):
        self._poll_capture(False)
        self._resume_timer = self._loop.call_later(delay_ms, self._resume)

    def _resume(self):
        self._resume_timer = None
        self._poll_capture(True)

    def _fail(self, error):
        self.errors += 1
        log("rpi: capture failed (%s); audio continues as silence" % error)
        self._poll_capture(False)
        self._fallback_timer = self._loop.call_every(self.ptime_ms, self._silent_tick)

    def _silent_tick(self):
        self._tick(self._silence)

    def close(self):
        if self._loop is not None:
            self._poll_capture(False)
            for timer in (self._resume_timer, self._fallback_timer):
                if timer is not None:
                    timer.cancel()
            self._loop = None
        self.capture.close()
        self.playback.close()
