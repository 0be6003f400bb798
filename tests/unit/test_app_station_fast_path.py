# The Station's media fast path (boards/runtime/runtime.py relies on it): after an
# audio frame or an audio RTP packet only RTP goes out, and needs_flush()
# says when anything else (SIP, events, timers) is waiting.

from intercom.compat import ticks_diff
from station_harness import FLAT_RTP, FRAME_MS, Pair, door_config


def talking_pair():
    pair = Pair(door_cfg=door_config(show_dtmf_digits=True))
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    flush_door(pair)
    return pair


def flush_door(pair):
    door = pair.door
    sip = door.sip_datagrams(pair.now)
    rtcp = door.rtcp_datagrams(pair.now, 0)
    events = []
    event = door.next_event()
    while event is not None:
        events.append(event)
        event = door.next_event()
    door.get_timer()
    door.flushed()
    return sip, rtcp, events


def frame(pair, flat_sends=True):
    """One frame: the flat's RTP into the door, then the door's audio frame.
    Returns the door's RTP out and whether it asks for a whole flush."""
    pair.now += FRAME_MS
    pair.flat.audio_frame(pair.flat_mic, pair.now)
    for data, _ in pair.flat.rtp_datagrams():
        if flat_sends:
            pair.door.receive_rtp(bytes(data), ("127.0.0.1", FLAT_RTP), pair.now)
    pair.door.audio_frame(pair.door_mic, pair.now)
    return pair.door.rtp_datagrams(), pair.door.needs_flush()


def test_a_steady_call_sends_only_rtp_and_needs_no_flush():
    pair = talking_pair()
    for _ in range(50):
        sent, needs_flush = frame(pair)
        assert [address for _, address in sent] == [("127.0.0.1", FLAT_RTP)]
        assert len(sent[0][0]) == 12 + 160  # RTP header and one PCMU frame
        assert needs_flush is False
    sip, rtcp, events = flush_door(pair)
    assert (sip, rtcp, events) == ([], [], [])


def test_each_rtp_packet_is_handed_out_once_and_a_list_handed_out_gets_no_later_packet():
    pair = talking_pair()
    sent = []
    numbers = []
    for _ in range(6):
        pair.now += FRAME_MS
        pair.door.audio_frame(pair.door_mic, pair.now)
        assert len(sent) <= 1  # the list handed out last: the new packet went elsewhere
        sent = pair.door.rtp_datagrams()
        assert pair.door.rtp_datagrams() == ()  # taken: nothing twice
        assert len(sent) == 1
        numbers.append((sent[0][0][2] << 8) | sent[0][0][3])
    assert numbers == [(numbers[0] + step) & 0xFFFF for step in range(6)]


def test_an_rfc4733_digit_asks_for_a_flush_and_its_event_waits():
    pair = talking_pair()
    pair.flat.media.send_digits("7")
    asked = 0
    digits = []
    for _ in range(30):
        _, needs_flush = frame(pair)
        if needs_flush:
            if asked == 0:
                # The event's first packet: the receiver's end-of-event
                # timeout is armed, so the board must re-arm its timer now.
                assert ticks_diff(pair.door.get_timer(), pair.now) <= 250
            asked += 1
            _, _, events = flush_door(pair)
            digits += [event["digit"] for event in events if event["event"] == "dtmf"]
    assert digits == ["7"]
    assert asked >= 1
    _, needs_flush = frame(pair)
    assert needs_flush is False


def test_the_rtp_timeout_asks_for_a_flush_with_the_bye_waiting():
    pair = talking_pair()
    timeout_ms = pair.door.config["call"]["media_timeout"] * 1000
    frames = 0
    needs_flush = False
    while not needs_flush:
        _, needs_flush = frame(pair, flat_sends=False)
        frames += 1
        assert frames <= timeout_ms // FRAME_MS + 2
    assert frames >= timeout_ms // FRAME_MS - 1
    sip, _, events = flush_door(pair)
    assert [bytes(data).split(b" ", 1)[0] for data, _ in sip] == [b"BYE"]
    assert "call_ended" in [event["event"] for event in events]
    assert pair.door.needs_flush() is False
