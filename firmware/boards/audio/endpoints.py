# The door's microphone and speaker from the audio.input / audio.output
# specs, for the boards whose audio is not always a device of their own
# (sim, and rpi when a spec names a file, a tone or silence):
#
#   spec                          open_input            open_output
#   file:PATH, tone, silence,     audio_files source /  audio_files sink
#   null                          sink
#   default                       ALSA "default" when pyalsaaudio works and
#                                 the device opens, else silence / null
#   any other text                that ALSA PCM (CPython with pyalsaaudio);
#                                 AudioError when it cannot be opened
#
# File paths arrive resolved from the config's folder (boards.cli.config_file).

from boards.audio import audio_files
from boards.runtime.event_log import log


def open_input(spec, frame_samples):
    source = audio_files.open_source(spec)
    if source is not None:
        return source
    return _open_alsa(spec, frame_samples, True)


def open_output(spec, frame_samples):
    sink = audio_files.open_sink(spec)
    if sink is not None:
        return sink
    return _open_alsa(spec, frame_samples, False)


def _open_alsa(spec, frame_samples, capture):
    """The ALSA PCM spec names as the mic (capture) or the speaker; for
    "default", silence or no sound when ALSA is missing or will not open."""
    from boards.audio import alsa_audio

    device = alsa_audio.AlsaSource if capture else alsa_audio.AlsaSink
    if spec != "default":
        return device(spec, frame_samples)
    fallback = audio_files.SilenceSource if capture else audio_files.NullSink
    if not alsa_audio.available():
        return fallback()
    try:
        return device(spec, frame_samples)
    except audio_files.AudioError as error:
        log("audio: %s; %s" % (error, "the mic is silence" if capture else "the speaker is off"))
        return fallback()
