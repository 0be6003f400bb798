"""A whole call on the Pico W board under the MicroPython unix port: stand-in
machine/network modules (tests/fakes/micropython), the button pressed
through the Pin stand-in, a SIPp UAS as the flat (tests/fakes/flat_uas.xml)
with a test RTP endpoint. Runs once from .py sources and once from .mpy
files (mpy-cross -march=x64), each with a bounded heap.

Checked: SIPp's scenario succeeds; the door's events; the flat's u-law
reaches the I2S amplifier sample-exact after G.711; the I2S mic (32-bit
stereo frames) reaches the flat sample-exact after G.711; the watchdog is
started at 8 s and fed; the relay is driven 0 first and never opens.
"""

import pathlib
import signal
import sys

import numpy
from intercom.media import g711
from pico_door import BUTTON, RELAY, compile_firmware, control, pin_writes, start_door, write_config

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))

from flat_peer import EventReader, FlatMedia, find, free_udp_port, start_flat, ulaw_expand  # noqa: E402

TALK_MS = 3000
# -X heapsize for the whole call. Smallest heaps that passed this call
# (binary search to 8 KiB, 2026-11-26, unix port x64 = 64-bit objects,
# roughly twice a Pico's): 553 KiB from .py sources, 547 KiB from .mpy.
# The peak is at run time (the SIP agent alone holds ~108 KiB after import),
# not while compiling. Both heaps below leave ~15 % margin; a Pico W has
# about 160-190 KiB free, so the core must shrink before it fits.
HEAP_SOURCES = "640k"
HEAP_MPY = "640k"


def run_call(folder, heap, mpy_folder=None):
    rng = numpy.random.default_rng(77)
    mic = rng.integers(-9000, 9000, size=8000 * 20).astype(numpy.int16)
    (folder / "mic.raw").write_bytes(mic.astype("<i2").tobytes())
    stream = rng.integers(0, 256, size=8000 * 2).astype(numpy.uint8)
    door_port, flat_port = free_udp_port(), free_udp_port()
    media_port = free_udp_port(even=True)
    write_config(folder, door_port, flat_port)
    media = FlatMedia(media_port, stream.tobytes())
    flat = start_flat(folder, flat_port, media_port, TALK_MS)
    door = start_door(folder, heap, mpy_folder)
    try:
        events = EventReader(door.stdout)
        events.wait_for("started", timeout=30)
        control(folder, "bounce %d pressed 5\n" % BUTTON)
        events.wait_for("call_started")
        control(folder, "release %d\n" % BUTTON)
        events.wait_for("answered")
        events.wait_for("call_ended", timeout=TALK_MS / 1000 + 15)
        assert flat.wait(timeout=20) == 0, flat.stderr.read().decode()
        door.send_signal(signal.SIGINT)  # KeyboardInterrupt: the runtime stops
        assert door.wait(timeout=15) == 0
        events.drain()
    finally:
        for process in (door, flat):
            if process.poll() is None:
                process.kill()
                process.wait()
        media.close()
    return events, mic, stream, media


def check_call(folder, events, mic, stream, media):
    stderr = (folder / "door.stderr").read_text()
    names = events.names()
    for name in ("started", "button", "call_started", "answered", "call_ended"):
        assert name in names, (names, stderr)
    assert [e["state"] for e in events.events if e["event"] == "button"] == ["pressed", "released"]
    assert "MemoryError" not in stderr

    played = numpy.frombuffer((folder / "amp.raw").read_bytes(), dtype="<i2")
    expected = ulaw_expand(stream)
    start = find(played, expected[4000 : 4000 + 160])
    assert start >= 0, "the flat's audio is not in the amplifier output"
    assert numpy.array_equal(played[start : start + 8000], expected[4000 : 4000 + 8000])

    heard = ulaw_expand(numpy.frombuffer(media.payload(), dtype=numpy.uint8))
    assert len(heard) >= 8000
    encoded = g711.ulaw_encode(mic.astype("<i2").tobytes())
    reference = ulaw_expand(numpy.frombuffer(encoded, dtype=numpy.uint8))
    offset = find(reference, heard[2000 : 2000 + 160])
    assert offset >= 0, "the door's RTP does not carry the I2S mic signal"
    assert numpy.array_equal(heard[2000 : 2000 + 6000], reference[offset : offset + 6000])

    wdt = (folder / "wdt.log").read_text().split("\n")
    assert wdt[0] == "start 8000"
    feeds = [int(line) for line in wdt[1:] if line]
    assert len(feeds) >= 3
    assert max(b - a for a, b in zip(feeds, feeds[1:], strict=False)) < 8000

    writes = pin_writes(folder)
    assert writes[0][1:] == (RELAY, 0)  # the relay pin is the first one driven
    assert [level for _, pin, level in writes if pin == RELAY and level] == []


def test_pico_w_call_from_sources(tmp_path):
    events, mic, stream, media = run_call(tmp_path, HEAP_SOURCES)
    check_call(tmp_path, events, mic, stream, media)


def test_pico_w_call_from_mpy_files(tmp_path):
    mpy = compile_firmware(tmp_path / "lib", "x64")
    events, mic, stream, media = run_call(tmp_path, HEAP_MPY, mpy)
    check_call(tmp_path, events, mic, stream, media)
