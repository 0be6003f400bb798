# The I2S microphone stand-in (tests/support/micropython/machine.py) loses
# the oldest samples when its ring is full, as rp2's DMA ring does, and says
# which (PICO_I2S_MIC_LOST): the Pico call tests leave those samples out of
# what the door must have sent, so a door stalled by a busy machine is held
# to exactly what its microphone delivered.

import os
import struct
import subprocess

from support.paths import MICROPYTHON, STAND_INS

SCRIPT = """
import time
from machine import I2S, Pin
mic = I2S(0, sck=Pin(16), ws=Pin(17), sd=Pin(18), mode=I2S.RX, bits=32,
          format=I2S.STEREO, rate=8000, ibuf=1024)
mic.ioctl(3, 1)  # the first poll: the driver's asyncio mode from here on
frame = bytearray(8 * 160)
time.sleep_ms(10)
first = mic.readinto(frame)
print(first, bytes(frame[:first]).hex())
time.sleep_ms(400)  # 3200 frames arrive, the ring holds 128
second = mic.readinto(frame)
print(second, bytes(frame[:second]).hex())
"""


def samples_of(line):
    """The 16-bit samples in the left slots of the stand-in's stereo frames."""
    count, data = line.split()
    raw = bytes.fromhex(data)
    return [struct.unpack_from("<h", raw, index + 2)[0] for index in range(0, int(count), 8)]


def test_a_full_ring_loses_the_oldest_samples_and_says_which(tmp_path):
    ramp = list(range(8000))  # sample n is n: positions can be read back
    (tmp_path / "mic.raw").write_bytes(struct.pack("<8000h", *ramp))
    (tmp_path / "probe.py").write_text(SCRIPT)
    env = dict(
        os.environ,
        MICROPYPATH=str(STAND_INS),
        PICO_I2S_MIC=str(tmp_path / "mic.raw"),
        PICO_I2S_MIC_LOST=str(tmp_path / "lost.log"),
    )
    done = subprocess.run(
        [str(MICROPYTHON), "probe.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    read = samples_of(first) + samples_of(second)
    lost_lines = (tmp_path / "lost.log").read_text().splitlines()
    losses = [tuple(int(field) for field in line.split()) for line in lost_lines]
    assert losses and all(count > 0 for _, count in losses)  # 400 ms: far over the ring
    # what was read is the file with exactly the logged samples left out
    delivered = list(ramp)
    for start, count in reversed(losses):
        del delivered[start : start + count]
    assert read == delivered[: len(read)]
    assert 0 < len(samples_of(second)) <= 128  # at most the ring's 1024 bytes of stereo frames
