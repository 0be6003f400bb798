# A flat phone (or PBX) that calls the door with a delayed offer: its INVITE
# carries no SDP, the door's 200 carries the door's offer and the flat's ACK
# the answer (RFC 3264 §4, RFC 3261 §13.2.1). The flat station of
# station_harness is rewritten on the wire to behave so. The door starts its
# media and lets the door code in only once the ACK's answer arrived.

from intercom import sdp
from intercom.sip.message import parse_message
from station_harness import FLAT_RTP, Pair, door_config


def delayed_offer_pair(ack_answers=True):
    config = door_config(show_dtmf_digits=True)
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    pair = Pair(door_cfg=config)
    door_offers = []
    door_out = pair.door.sip_datagrams
    flat_out = pair.flat.sip_datagrams

    def door_rewritten(now_ms):
        out = []
        for data, address in door_out(now_ms):
            message = parse_message(bytes(data))
            if getattr(message, "status", None) == 200 and message.body:
                door_offers.append(message.body)
            out.append((data, address))
        return out

    def flat_rewritten(now_ms):
        out = []
        for data, address in flat_out(now_ms):
            message = parse_message(bytes(data))
            method = getattr(message, "method", None)
            if method == "INVITE":
                message.body = b""
                message.headers.remove("Content-Type")
            elif method == "ACK" and ack_answers and door_offers:
                codecs = pair.flat.agent.settings.codecs
                answer, _ = sdp.answer(door_offers[-1], 77, 1, "127.0.0.1", FLAT_RTP, codecs)
                message.body = answer
                message.headers.set("Content-Type", "application/sdp")
            out.append((message.to_bytes(), address))
        return out

    pair.door.sip_datagrams = door_rewritten
    pair.flat.sip_datagrams = flat_rewritten
    pair.press(pair.flat, 600)
    return pair, door_offers


def test_a_delayed_offer_call_gets_media_from_the_ack_and_the_code_opens():
    pair, door_offers = delayed_offer_pair()
    assert len(door_offers) == 1 and b"m=audio 20000 RTP/AVP" in door_offers[0]
    assert pair.first("door", "incoming_call")["accepted"] is True
    assert pair.door.state == "talking" and pair.door.media is not None
    assert pair.door.media.rtp_address == ("127.0.0.1", FLAT_RTP)
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert [e["digit"] for e in pair.events["door"] if e["event"] == "dtmf"] == list("1234")
    assert pair.door.relay_on is True


def test_an_ack_without_an_answer_ends_the_call_and_no_code_opens():
    pair, door_offers = delayed_offer_pair(ack_answers=False)
    assert len(door_offers) == 1
    # No answer in the ACK: no session, the door hangs up at once (BYE).
    assert pair.door.media is None and pair.door.state == "idle"
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"
    # The door policy never saw an answered call: the right code, however
    # it arrives now, is refused as coming outside a call.
    policy = pair.door.policy
    for key in "1234":
        policy.receive_digit(key, "rfc4733", pair.now)
    reasons = []
    event = policy.next_event()
    while event is not None:
        reasons.append(event.get("reason"))
        event = policy.next_event()
    assert reasons == ["no_call"] * 4
    assert policy.relay_on is False and pair.door.relay_on is False
    assert "door_opened" not in pair.names("door")
