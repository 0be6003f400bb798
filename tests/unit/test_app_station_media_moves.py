# A call whose media moves while it goes on, between two stations on a
# virtual clock: the flat holds and takes the call back, then moves its
# media to another port (a PBX switching to direct media), each by UPDATE
# (RFC 3311); the door's RTP stops, comes back and follows the new address
# from its next frame, and the call never ends.

from station_harness import FLAT_RTP, Pair

SDP = (
    "v=0\r\no=flat 5 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio %d RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n"
)
MOVED_RTP = FLAT_RTP + 10


def flat_updates(pair, call_id, version, port, direction):
    """The flat's phone sends an UPDATE with this SDP offer in the call."""
    agent = pair.flat.agent
    call = agent.calls[call_id]
    request = call.dialog.create_request("UPDATE")
    request.headers.add("Contact", agent.context.contact_value(call.transport))
    request.headers.add("Content-Type", "application/sdp")
    request.body = (SDP % (version, port, direction)).encode()
    flow = agent.context.dialog_flow(call.dialog, call.transport)
    agent.context.send_request(request, flow, pair.now, None)
    pair.route()


def test_hold_and_back_and_a_new_address_by_update_without_ending_the_call():
    pair = Pair()
    pair.press(pair.door, 2000)
    assert "answered" in pair.names("door")
    [call_id] = list(pair.door.agent.calls)
    sent = []  # (time, address) of every RTP packet the door sends
    original = pair.door.rtp_datagrams

    def watched():
        out = original()
        for _, address in out:
            sent.append((pair.now, address))
        return out

    pair.door.rtp_datagrams = watched
    pair.run(200)
    assert sent and all(address[1] == FLAT_RTP for _, address in sent)
    # hold: the flat only sends; the door sends nothing while held
    flat_updates(pair, call_id, 2, FLAT_RTP, "sendonly")
    held_at = pair.now
    pair.run(400)
    assert [when for when, _ in sent if when > held_at] == []
    # back, at another port: the door's next frame goes there
    flat_updates(pair, call_id, 3, MOVED_RTP, "sendrecv")
    moved_at = pair.now
    pair.run(200)
    after = [(when, address[1]) for when, address in sent if when > moved_at]
    assert after and all(port == MOVED_RTP for _, port in after)
    assert after[0][0] - moved_at <= 20  # within one packet time
    assert "call_ended" not in pair.names("door") + pair.names("flat")
