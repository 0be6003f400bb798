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
    from boards.audio import alsa_audio

    if spec == "default":
        if not alsa_audio.available():
            return audio_files.SilenceSource()
        try:
            return alsa_audio.AlsaSource(spec, frame_samples)
        except audio_files.AudioError as error:
            log("audio: %s; the mic is silence" % error)
            return audio_files.SilenceSource()
    return alsa_audio.AlsaSource(spec, frame_samples)


def open_output(spec, frame_samples):
    sink = audio_files.open_sink(spec)
    if sink is not None:
        return sink
    from boards.audio import alsa_audio

    if spec == "default":
        if not alsa_audio.available():
            return audio_files.NullSink()
        try:
            return alsa_audio.AlsaSink(spec, frame_samples)
        except audio_files.AudioError as error:
            log("audio: %s; the speaker is off" % error)
            return audio_files.NullSink()
    return alsa_audio.AlsaSink(spec, frame_samples)
