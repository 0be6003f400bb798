# An ALSA configuration of user-space plugins for a door process (rpi and
# sim boards, the doctor): "door_mic" captures from a raw file,
# "door_speaker" plays into a raw file, both `file` PCMs over `null`,
# wrapped in `plug` at 8000 Hz mono S16_LE.
# libasound reads it when ALSA_CONFIG_PATH names alsa.conf and this file
# (alsa.conf first: it defines pcm.null). Each process reads it once.

ALSA_CONF = "/usr/share/alsa/alsa.conf"

TEMPLATE = """
pcm.door_mic {
    type plug
    slave {
        pcm { type file slave.pcm "null" file "%(unused)s" infile "%(mic)s" format "raw" }
        format S16_LE
        rate 8000
        channels 1
    }
}
pcm.door_speaker {
    type plug
    slave {
        pcm { type file slave.pcm "null" file "%(speaker)s" format "raw" }
        format S16_LE
        rate 8000
        channels 1
    }
}
"""


def write_alsa_config(folder, mic_raw):
    """(env additions, speaker raw path) for a process using door_mic/door_speaker."""
    speaker = folder / "speaker.raw"
    conf = folder / "asound-test.conf"
    conf.write_text(
        TEMPLATE % {"unused": folder / "capture-unused.raw", "mic": mic_raw, "speaker": speaker}
    )
    return {"ALSA_CONFIG_PATH": "%s:%s" % (ALSA_CONF, conf)}, speaker
