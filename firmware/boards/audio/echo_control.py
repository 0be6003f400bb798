# Echo control between the board's microphone and the Station, chosen from
# audio.echo (intercom.config). Portable: runs wherever the runtime runs;
# the canceller is imported only when asked for, on CPython.
#
#   stage = open_echo_control(config, path_delay_ms, log)
#       None for "off"; else an object with
#         process(mic_pcm) -> the mic frame to send (its own buffer)
#         played(speaker_pcm)   the frame the speaker plays this tick
#         close()
#   The runtime calls process() before Station.audio_frame and played()
#   with the speaker frame it returns, every frame, in or out of a call:
#   the reference is exactly what the board plays, on the same clock.
#
#   audio.echo     stage
#   -------------  ----------------------------------------------------------
#   aec            boards.audio.echo_canceller.EchoCanceller (libspeexdsp),
#                  where it imports and libspeexdsp.so.1 loads; otherwise
#                  a line on stderr and half_duplex (the door must not
#                  send its own speaker back because a package is missing)
#   half_duplex    intercom.media.half_duplex.HalfDuplex
#   off            None
#
# delay_ms (where a played frame's echo starts, counted from the tick that
# played it) is audio.echo_delay_ms when given, else path_delay_ms: the
# board's own figure (BoardBase.audio_path_delay_ms: one frame on a timer-
# paced board; the rpi board adds what its ALSA playback queue held, as
# measured when its audio started; the Pico W its I2S buffering).

from intercom.media.half_duplex import HalfDuplex

AEC_MISSING = (
    'audio.echo = "aec", but libspeexdsp is not usable here (%s): half-duplex '
    "echo control instead (install libspeexdsp1)"
)


def open_echo_control(config, path_delay_ms, log):
    audio = config["audio"]
    mode = audio["echo"]
    if mode == "off":
        return None
    ptime = audio["ptime"]
    frame_samples = 8 * ptime
    delay_ms = audio["echo_delay_ms"]
    if delay_ms is None:
        delay_ms = path_delay_ms
    tail_ms = audio["echo_tail_ms"]
    suppress_db = audio["echo_suppress_db"]
    if mode == "aec":
        try:
            from boards.audio.echo_canceller import EchoCanceller
        except ImportError as error:  # MicroPython: no ctypes
            stage, reason = None, str(error)
        else:
            stage = EchoCanceller.open(
                frame_samples, ptime, delay_ms, tail_ms, suppress_db, audio["noise_suppress_db"]
            )
            reason = "libspeexdsp.so.1 not found"
        if stage is not None:
            log(
                "intercom: echo control aec (libspeexdsp), tail %d ms, reference delay %d ms"
                % (tail_ms, stage.delay_ms)
            )
            return stage
        log("intercom: " + AEC_MISSING % reason)
    log("intercom: echo control half-duplex, tail %d ms, delay %d ms" % (tail_ms, delay_ms))
    return HalfDuplex(frame_samples, ptime, delay_ms, tail_ms, suppress_db)
