# Packet times between the door and a flat phone station (RFC 3264 5.1 and
# 6.1, RFC 4566 6: a=ptime is what a side would like to receive, a=maxptime
# the most it takes in one packet). Each side offers or answers its own
# audio.ptime, sends its frames at that packet time (shorter when the other
# side's maxptime asks for it) with timestamps that count the samples sent,
# receives whatever packet time the other side uses, and its board frame
# stays its own ptime. Audio is checked both ways as samples: each side's
# microphone plays a sine, and in every 10 ms block of what the other side's
# speaker plays once the call runs, that sine must carry the energy at its
# level. Odd values a peer writes (a=ptime:10 in a 183, a 200 or an INVITE;
# absurd ptime or maxptime) neither stop the door nor change its frame.

import math

from intercom import sdp
from media_signals import render, rms, tone_function, tone_share
from station_harness import DOOR_RTP, FLAT_RTP, Pair, door_config, flat_config

DOOR_HZ = 400  # whole periods in every 10 ms block (20 samples each)
FLAT_HZ = 1000
PEAK = 8000


def sine_frame(ptime, frequency):
    return bytearray(render(8 * ptime, tone_function([(frequency, PEAK)])))


def configs(door_ptime, flat_ptime, flat_calls=False):
    door = door_config()
    door["audio"]["ptime"] = door_ptime
    if flat_calls:
        door["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    flat = flat_config()
    flat["audio"]["ptime"] = flat_ptime
    return door, flat


def talking_pair(door_ptime, flat_ptime, flat_calls=False, rewrite=None):
    """A call, answered, each microphone playing its sine. rewrite:
    (side, change) applied to that side's SIP messages before the call."""
    door, flat = configs(door_ptime, flat_ptime, flat_calls)
    pair = Pair(door_cfg=door, flat_cfg=flat)
    if rewrite is not None:
        pair.rewrite_sip(*rewrite)
    pair.door_mic = sine_frame(door_ptime, DOOR_HZ)
    pair.flat_mic = sine_frame(flat_ptime, FLAT_HZ)
    pair.press(pair.flat if flat_calls else pair.door, 600)
    assert pair.door.state == "talking" and pair.flat.state == "talking", pair.events
    pair.record()
    pair.run(1600)
    return pair


def assert_hears_sine(frames, frequency, what):
    """The last second of `frames`: every 10 ms block is the sine."""
    pcm = b"".join(frames)
    assert len(pcm) >= 16000, what
    expected = PEAK / math.sqrt(2)
    for start in range(len(pcm) - 16000, len(pcm), 160):
        block = pcm[start : start + 160]
        share = tone_share(block, frequency)
        level = rms(block)
        assert share > 0.99, (what, start, share)
        assert 0.89 * expected < level < 1.12 * expected, (what, start, level)


def assert_heard_both_ways(pair, what):
    assert_hears_sine(pair.played["flat"], DOOR_HZ, "flat hears the door, " + what)
    assert_hears_sine(pair.played["door"], FLAT_HZ, "door hears the flat, " + what)


def audio_packets(datagrams):
    """(timestamp, payload length) of each PCMU packet sent (PT 0)."""
    found = []
    for data in datagrams:
        if data[1] & 0x7F == 0:
            timestamp = (data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7]
            found.append((timestamp, len(data) - 12))
    return found


def assert_timestamps_count_the_samples(datagrams, packet_samples, what):
    packets = audio_packets(datagrams)
    assert len(packets) > 10, what
    for index in range(1, len(packets)):
        previous, length = packets[index - 1]
        assert length == packet_samples, (what, index, length)
        assert (packets[index][0] - previous) & 0xFFFFFFFF == length, (what, index)


def sdp_bodies(pair, side):
    """Start collecting the SDP bodies `side` sends: {first line: body}."""
    bodies = {}

    def keep(message):
        if message.body:
            start = message.to_bytes().split(b"\r\n", 1)[0].decode()
            bodies[start.split(" sip:")[0] if " sip:" in start else start] = message.body

    pair.rewrite_sip(side, keep)
    return bodies


def packet_times_in_sdp(attributes):
    """A change for rewrite_sip: the SDP's a=ptime and a=maxptime lines
    replaced by `attributes` (bytes, lines joined by CRLF)."""

    def change(message):
        if not message.body:
            return
        lines = []
        for line in message.body.split(b"\r\n"):
            if line.startswith(b"a=ptime:"):
                lines.append(attributes)
            elif not line.startswith(b"a=maxptime:"):
                lines.append(line)
        message.body = b"\r\n".join(lines)

    return change


def test_the_door_and_a_flat_at_10_30_40_ms_hear_each_other_when_the_door_calls():
    for flat_ptime in (10, 30, 40):
        pair = talking_pair(20, flat_ptime)
        assert_heard_both_ways(pair, "door 20 ms, flat %d ms" % flat_ptime)


def test_the_door_and_a_flat_at_10_30_40_ms_hear_each_other_when_the_flat_calls():
    for flat_ptime in (10, 30, 40):
        pair = talking_pair(20, flat_ptime, flat_calls=True)
        assert_heard_both_ways(pair, "flat %d ms calls the door" % flat_ptime)


def test_a_door_configured_at_10_or_60_ms_talks_with_a_flat_at_20():
    for door_ptime in (10, 60):
        pair = talking_pair(door_ptime, 20)
        assert_heard_both_ways(pair, "door %d ms, flat 20 ms" % door_ptime)
        assert all(len(frame) == 16 * door_ptime for frame in pair.played["door"])


def test_audio_ptime_is_what_the_offer_and_the_answer_ask_for():
    door, flat = configs(30, 40)
    pair = Pair(door_cfg=door, flat_cfg=flat)
    offers = sdp_bodies(pair, "door")
    answers = sdp_bodies(pair, "flat")
    pair.press(pair.door, 600)
    assert b"a=ptime:30\r\n" in offers["INVITE"]
    assert b"a=ptime:40\r\n" in answers["SIP/2.0 200 OK"]


def test_rtp_timestamps_advance_by_the_samples_each_packet_carries():
    pair = talking_pair(20, 30)
    assert_timestamps_count_the_samples(pair.sent_rtp["door"], 160, "door at 20 ms")
    assert_timestamps_count_the_samples(pair.sent_rtp["flat"], 240, "flat at 30 ms")
    pair = talking_pair(40, 10, flat_calls=True)
    assert_timestamps_count_the_samples(pair.sent_rtp["door"], 320, "door at 40 ms")
    assert_timestamps_count_the_samples(pair.sent_rtp["flat"], 80, "flat at 10 ms")


def test_a_ptime_of_10_in_the_flats_200_or_invite_leaves_the_door_at_its_own():
    # The flat runs at 20 ms but writes 10 in its SDP: a wish for what it
    # receives; the door still sends its own 20 ms frames and plays on.
    for flat_calls in (False, True):
        change = packet_times_in_sdp(b"a=ptime:10")
        pair = talking_pair(20, 20, flat_calls, rewrite=("flat", change))
        assert_heard_both_ways(pair, "a=ptime:10 from the flat, flat calls: %s" % flat_calls)
        assert_timestamps_count_the_samples(pair.sent_rtp["door"], 160, "door")


def test_early_media_in_a_183_with_ptime_10_does_not_stop_the_door():
    # The flat's 180 becomes a 183 whose SDP answer asks for 10 ms: the door
    # starts its media on it (receive only), then the 200 answers the call.
    door, flat = configs(20, 20)
    pair = Pair(door_cfg=door, flat_cfg=flat)
    offers = sdp_bodies(pair, "door")
    early = []

    def ringing_with_early_media(message):
        if getattr(message, "status", None) == 180:
            message.status = 183
            message.reason = "Session Progress"
            codecs = pair.flat.agent.settings.codecs
            body, _ = sdp.answer(offers["INVITE"], 7, 1, "127.0.0.1", FLAT_RTP, codecs, ptime=10)
            message.body = body
            message.headers.set("Content-Type", "application/sdp")
            early.append(body)

    pair.rewrite_sip("flat", ringing_with_early_media)
    pair.door_mic = sine_frame(20, DOOR_HZ)
    pair.flat_mic = sine_frame(20, FLAT_HZ)
    pair.press(pair.door, 600)
    assert len(early) == 1 and b"a=ptime:10\r\n" in early[0]
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    pair.record()
    pair.run(1600)
    assert_heard_both_ways(pair, "183 with ptime 10")
    assert all(len(frame) == 320 for frame in pair.played["door"])


def test_a_maxptime_below_our_ptime_gets_packets_no_longer_than_it():
    # RFC 4566 6: the flat takes at most 20 ms per packet; the door's board
    # frame stays 40 ms, sent as two 20 ms packets.
    change = packet_times_in_sdp(b"a=ptime:20\r\na=maxptime:20")
    pair = talking_pair(40, 20, rewrite=("flat", change))
    assert_timestamps_count_the_samples(pair.sent_rtp["door"], 160, "door at 40 ms, maxptime 20")
    assert_heard_both_ways(pair, "maxptime 20")
    assert all(len(frame) == 640 for frame in pair.played["door"])


def test_absurd_ptime_and_maxptime_values_are_ignored():
    for attributes in (
        b"a=ptime:10000\r\na=maxptime:0",
        b"a=ptime:0\r\na=maxptime:5",
        b"a=ptime:99999999\r\na=maxptime:99999999",
        b"a=ptime:7",
    ):
        change = packet_times_in_sdp(attributes)
        pair = talking_pair(20, 20, rewrite=("flat", change))
        assert all(len(frame) == 320 for frame in pair.played["door"]), attributes
        assert_heard_both_ways(pair, repr(attributes))
        assert_timestamps_count_the_samples(pair.sent_rtp["door"], 160, repr(attributes))
        assert pair.door.media.rtp_address == ("127.0.0.1", FLAT_RTP)
        assert pair.flat.media.rtp_address == ("127.0.0.1", DOOR_RTP)
