# Half-duplex echo control (intercom.media.half_duplex) in a small simulated
# room: what the door plays comes back into its mic one frame later (the
# runtime plays after it reads), then through a few delayed, weaker copies;
# a visitor talks at the mic too. Asserts what a listener would notice: the
# echo is gone, the visitor's words are there and start on time. Runs under
# pytest and under the MicroPython runner (there on the viper loops).

import math
from array import array

from intercom.media import half_duplex
from intercom.media.half_duplex import MUTE, PASS, HalfDuplex

FRAME = 160
PTIME = 20
# the room: (delay ms after the frame reached the mic, gain)
ROOM = ((20, 0.7), (40, 0.35), (80, 0.15))


def speech(frequencies, peak, bursts, total_ms):
    """Samples of tone bursts [(start ms, length ms)] of a two-tone voice."""
    out = [0] * (8 * total_ms)
    steps = [2 * math.pi * frequency / 8000 for frequency in frequencies]
    for start_ms, length_ms in bursts:
        for index in range(8 * start_ms, min(len(out), 8 * (start_ms + length_ms))):
            value = 0.0
            for step in steps:
                value += math.sin(step * index)
            out[index] = int(peak * value / len(steps))
    return out


def far_voice(bursts, total_ms):
    return speech((450, 1150), 9000, bursts, total_ms)


def near_voice(bursts, total_ms):
    return speech((700, 1600), 7000, bursts, total_ms)


def pcm(samples):
    return bytes(array("h", samples))


def run(stage, far, near, room=ROOM, noise=30):
    """(mic samples, output samples, echo samples) of the runtime's loop:
    mic frame in, stage, speaker frame out and heard one frame later."""
    count = len(far)
    echo = [0] * count
    for delay_ms, gain in room:
        shift = FRAME + 8 * delay_ms
        for index in range(shift, count):
            echo[index] += int(gain * far[index - shift])
    seed = 12345
    mic = [0] * count
    for index in range(count):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        value = near[index] + echo[index] + (seed >> 16) % (2 * noise + 1) - noise
        mic[index] = max(-32768, min(32767, value))
    out = []
    for first in range(0, count, FRAME):
        processed = stage.process(pcm(mic[first : first + FRAME]))
        out.extend(array("h", bytes(processed)))
        stage.played(pcm(far[first : first + FRAME]))
    return mic, out, echo


def energy(samples, start_ms, end_ms):
    total = 0
    for value in samples[8 * start_ms : 8 * end_ms]:
        total += value * value
    return total


def db(ratio):
    return 10 * math.log10(ratio)


def new_stage(suppress_db=40, fast=True):
    return HalfDuplex(FRAME, PTIME, PTIME, 160, suppress_db, fast)


def test_the_echo_of_the_far_end_is_attenuated_by_the_configured_amount():
    far = far_voice([(0, 700), (800, 600), (1500, 900)], 2600)
    near = [0] * len(far)
    mic, out, _ = run(new_stage(), far, near)
    down = db(energy(mic, 0, 2600) / energy(out, 0, 2600))
    assert down > 30, down  # 40 dB asked; the first frames ramp
    steady = db(energy(mic, 300, 2400) / energy(out, 300, 2400))
    assert 39 < steady < 41, steady
    lighter = run(new_stage(suppress_db=20), far, near)
    assert 19 < db(energy(lighter[0], 300, 2400) / energy(lighter[1], 300, 2400)) < 21


def test_a_visitor_alone_passes_unchanged():
    near = near_voice([(100, 500), (800, 700)], 1600)
    stage = new_stage()
    mic, out, _ = run(stage, [0] * len(near), near)
    assert out == mic
    assert stage.muted_frames == 0


def test_the_visitor_starting_100_ms_after_the_far_end_loses_at_most_50_ms():
    far = far_voice([(0, 600), (700, 800)], 3000)
    near = near_voice([(1600, 1200)], 3000)  # the far end stopped at 1500 ms
    stage = new_stage()
    mic, out, _ = run(stage, far, near)
    assert stage.muted_frames > 0
    # from 50 ms after the onset on, the visitor comes through at full level
    assert out[8 * 1650 : 8 * 2800] == mic[8 * 1650 : 8 * 2800]
    # and the echo before the onset stayed down
    assert db(energy(mic, 300, 1500) / energy(out, 300, 1500)) > 30


def test_a_visitor_louder_than_the_echo_breaks_in():
    far = far_voice([(0, 2400)], 2400)
    near = [4 * value for value in near_voice([(1000, 600)], 2400)]
    stage = new_stage()
    mic, out, _ = run(stage, far, near)
    assert stage.break_ins >= 1
    kept = energy(out, 1020, 1580) / energy(mic, 1020, 1580)
    assert kept > 0.9, kept
    assert db(energy(mic, 300, 950) / energy(out, 300, 950)) > 30  # echo before it


def test_an_echo_louder_than_the_speaker_is_learnt_and_attenuated():
    hot = ((20, 2.0), (40, 1.0), (80, 0.5))  # a mic gain that puts the echo at +6 dB
    far = far_voice([(0, 700), (800, 600), (1500, 900)], 2600)
    stage = new_stage()
    mic, out, _ = run(stage, [value // 2 for value in far], [0] * len(far), room=hot)
    assert db(energy(mic, 400, 2400) / energy(out, 400, 2400)) > 25
    assert stage.coupling > half_duplex.COUPLING_UNITY


def test_the_mic_opens_again_once_the_echo_has_faded():
    far = far_voice([(0, 500)], 1500)
    stage = new_stage()
    run(stage, far, [0] * len(far))
    assert stage.state == PASS and stage.gain == half_duplex.UNITY
    states = []
    stage = new_stage()
    for first in range(0, len(far), FRAME):
        stage.process(bytes(2 * FRAME))
        stage.played(pcm(far[first : first + FRAME]))
        states.append(stage.state)
    assert MUTE in states and states[-1] == PASS


def test_switching_ramps_instead_of_clicking():
    far = far_voice([(0, 400)], 1200)
    steady = [8000] * len(far)  # a constant on the mic shows the gain curve
    _, out, _ = run(new_stage(), far, steady, room=())
    steps = [abs(out[index + 1] - out[index]) for index in range(len(out) - 1)]
    assert max(steps) < 8000 // half_duplex.RAMP_SAMPLES + 2


def test_the_fast_loops_give_the_same_frames_as_the_plain_ones():
    far = far_voice([(0, 600), (700, 800)], 2200)
    near = near_voice([(300, 200), (1600, 500)], 2200)
    fast = new_stage(fast=True)
    plain = new_stage(fast=False)
    assert plain.path == "plain" and fast.path in ("viper", "array")
    assert run(fast, far, near)[1] == run(plain, far, near)[1]
    odd = bytearray(2 * FRAME + 1)
    odd[1:] = pcm(near[8 * 1600 : 8 * 1600 + FRAME])
    view = memoryview(odd)[1:]  # a buffer at an odd address
    path, level, apply_gain = half_duplex.loops(True)
    assert level(view, FRAME) == half_duplex.level_plain(view, FRAME)
    one = bytearray(2 * FRAME)
    other = bytearray(2 * FRAME)
    apply_gain(view, one, FRAME, 300, half_duplex.UNITY)
    half_duplex.apply_gain_plain(view, other, FRAME, 300, half_duplex.UNITY)
    assert one == other
