# The listen notice and the message beep (intercom.media.tones), and passing
# over a tone's silence without writing it: skip() lands where reading
# would have, sample for sample.

from intercom.media import tones
from media_signals import tone_share


def frames(generator, count, size=320):
    out = []
    for _ in range(count):
        buffer = bytearray(size)
        generator.read_into(buffer)
        out.append(bytes(buffer))
    return out


def test_the_listen_notice_beeps_twice_then_keeps_quiet_to_the_interval():
    played = b"".join(frames(tones.listen_notice(1000), 100))  # 2 s
    beep = 2 * 8 * 120
    assert tone_share(played[:beep], 1200) > 0.95
    assert played[beep : 2 * 8 * 200] == bytes(2 * 8 * 80)
    assert tone_share(played[2 * 8 * 200 : 2 * 8 * 320], 1200) > 0.95
    assert played[2 * 8 * 320 : 2 * 8000] == bytes(2 * 8 * 680)
    assert played[2 * 8000 :] == played[: 2 * 8000]  # and again after 1 s


def test_skipping_the_silence_gives_the_same_samples_as_reading_it():
    read = tones.listen_notice(2000)
    skipped = tones.listen_notice(2000)
    reference = frames(read, 300)
    for number in range(300):
        if skipped.silent_for(160):
            skipped.skip(160)
            assert reference[number] == bytes(320), number
        else:
            assert frames(skipped, 1)[0] == reference[number], number
    assert not skipped.silent_for(160)  # 6 s in: the next beeps are due


def test_skip_over_sound_is_our_misuse():
    notice = tones.listen_notice(1000)
    try:
        notice.skip(160)
    except ValueError:
        return
    raise AssertionError("no ValueError")


def test_an_interval_shorter_than_the_beeps_is_refused():
    try:
        tones.listen_notice(300)
    except ValueError:
        return
    raise AssertionError("no ValueError")


def test_the_message_beep_is_half_a_second_of_1_khz_once():
    beep = tones.message_beep()
    played = b"".join(frames(beep, 26))
    assert tone_share(played[: 2 * 4000], 1000) > 0.95
    assert played[2 * 4000 :] == bytes(320) and beep.finished
