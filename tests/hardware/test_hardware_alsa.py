"""The Pi's asound.conf files give an 8 kHz mono S16_LE PCM "intercom" that works.

libasound parses the real file; only the two PCMs that sit on the sound card
(the dmix "intercom_amp" and the dsnoop "intercom_mic") are swapped for
`file` PCMs over `null` by a small override loaded after it. Playback then
lands in a raw file in the card's own format (so the plug conversion to
48 kHz stereo is checked), and capture reads the card format from a raw file.
Each open runs in a fresh process: libasound reads its configuration once.
"""

import pathlib
import struct
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
I2S_CONF = ROOT / "hardware" / "rpi" / "asound.conf"
USB_CONF = ROOT / "hardware" / "rpi" / "asound-usb.conf"
ALSA_CONF = "/usr/share/alsa/alsa.conf"
PERIOD = 160  # 20 ms at 8 kHz, what the firmware uses
SLAVE_RATIO = 6  # the card runs at 48 kHz

OVERRIDE = """
pcm.!intercom_amp {
	type file
	slave.pcm "null"
	file "%(played)s"
	format "raw"
}
pcm.!intercom_mic {
	type file
	slave.pcm "null"
	file "%(unused)s"
	infile "%(recorded)s"
	format "raw"
}
"""

PROBE = """
import struct, sys
import alsaaudio

direction, periods, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kind = alsaaudio.PCM_PLAYBACK if direction == "playback" else alsaaudio.PCM_CAPTURE
pcm = alsaaudio.PCM(
    kind, device="intercom", rate=8000, channels=1,
    format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=%(period)d,
)
if direction == "playback":
    frame = struct.pack("<%(period)dh", *([value] * %(period)d))
    for _ in range(periods):
        pcm.write(frame)
else:
    for _ in range(periods):
        count, data = pcm.read()
        sys.stdout.write(" ".join(str(s) for s in struct.unpack("<%%dh" %% count, data)))
        sys.stdout.write("\\n")
pcm.close()
""" % {"period": PERIOD}


def run_probe(tmp_path, config, direction, periods, value=0, recorded=b""):
    (tmp_path / "recorded.raw").write_bytes(recorded)
    override = tmp_path / "override.conf"
    override.write_text(
        OVERRIDE
        % {
            "played": tmp_path / "played.raw",
            "unused": tmp_path / "unused.raw",
            "recorded": tmp_path / "recorded.raw",
        }
    )
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    return subprocess.run(
        [sys.executable, str(probe), direction, str(periods), str(value)],
        env={"ALSA_CONFIG_PATH": "%s:%s:%s" % (ALSA_CONF, config, override), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def played_frames(tmp_path, fmt):
    data = (tmp_path / "played.raw").read_bytes()
    size = struct.calcsize("<" + fmt)
    return [struct.unpack("<" + fmt, data[i : i + size]) for i in range(0, len(data), size)]


def test_i2s_config_plays_8k_mono_as_48k_stereo_s32_on_the_card(tmp_path):
    result = run_probe(tmp_path, I2S_CONF, "playback", 25, value=1000)
    assert result.returncode == 0, result.stderr
    frames = played_frames(tmp_path, "ii")
    assert len(frames) == 25 * PERIOD * SLAVE_RATIO
    # The rate converter ramps up over the first frames, then holds the value,
    # duplicated to both channels, in the top 16 bits of the 32-bit sample.
    assert frames[-1000:] == [(1000 << 16, 1000 << 16)] * 1000
    assert all(left == right for left, right in frames)


def test_i2s_config_captures_the_left_slot_only_as_8k_mono(tmp_path):
    left, right = 0x1234 << 16, 0x7000 << 16
    recorded = struct.pack("<ii", left, right) * (PERIOD * SLAVE_RATIO * 10)
    result = run_probe(tmp_path, I2S_CONF, "capture", 3, recorded=recorded)
    assert result.returncode == 0, result.stderr
    periods = [[int(s) for s in line.split()] for line in result.stdout.splitlines()]
    assert [len(samples) for samples in periods] == [PERIOD] * 3
    assert periods[-1] == [0x1234] * PERIOD


def test_usb_config_plays_8k_mono_as_48k_stereo_s16(tmp_path):
    result = run_probe(tmp_path, USB_CONF, "playback", 25, value=-1234)
    assert result.returncode == 0, result.stderr
    frames = played_frames(tmp_path, "hh")
    assert len(frames) == 25 * PERIOD * SLAVE_RATIO
    assert frames[-1000:] == [(-1234, -1234)] * 1000


def test_usb_config_captures_the_mono_mic_as_8k(tmp_path):
    recorded = struct.pack("<h", -4321) * (PERIOD * SLAVE_RATIO * 10)
    result = run_probe(tmp_path, USB_CONF, "capture", 3, recorded=recorded)
    assert result.returncode == 0, result.stderr
    last = [int(s) for s in result.stdout.splitlines()[-1].split()]
    assert last == [-4321] * PERIOD


def test_a_syntax_error_in_the_config_makes_the_open_fail(tmp_path):
    broken = tmp_path / "asound.conf"
    text = I2S_CONF.read_text()
    # Drop the brace that closes intercom_playback's slave block.
    closing = "\t\tchannels 2\n\t}\n}\n\npcm.intercom_capture"
    assert closing in text
    broken.write_text(text.replace(closing, "\t\tchannels 2\n}\n\npcm.intercom_capture"))
    result = run_probe(tmp_path, broken, "playback", 1)
    assert result.returncode != 0
    assert "ALSAAudioError" in result.stderr
    assert not (tmp_path / "played.raw").exists()
