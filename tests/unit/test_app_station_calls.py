# Which call gets the door's microphone and the door code, whatever arrives
# on the wire: an incoming call only once the ACK matching our To tag came
# (RFC 3261 13.3.1.4: a spoofed INVITE never sees our 200, so never ACKs
# it); a call the door has hung up not a moment longer (no digits after
# our BYE); a peer-to-peer caller only from its own address, with its
# media there too; in server mode only the server speaks, and callers may
# be identified by the server's P-Asserted-Identity (RFC 3325).

from intercom.sip.flow import flow_address
from intercom.sip.message import parse_message
from sip_harness import udp
from station_harness import DOOR_SIP, FLAT_RTP, FLAT_SIP, Pair, door_config

SDP = (
    "v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {media}\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


def invite(source, from_uri, media_host=None, call_id="forged-1", extra=""):
    """An INVITE to the door as sent from source (host, port)."""
    body = SDP.format(host=source[0], media=media_host or source[0], port=41000)
    lines = [
        "INVITE sip:door@127.0.0.1:%d SIP/2.0" % DOOR_SIP[1],
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s" % (source[0], source[1], call_id),
        "Max-Forwards: 70",
        "From: <%s>;tag=caller1" % from_uri,
        "To: <sip:door@127.0.0.1>",
        "Call-ID: %s" % call_id,
        "CSeq: 1 INVITE",
        "Contact: <sip:caller@%s:%d>" % source,
    ]
    text = "\r\n".join(lines) + "\r\n" + extra
    text += "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    return text.encode()


def responses_to(pair, source, now_ms):
    """Status codes the door sent to source."""
    statuses = []
    for data, flow in pair.door.sip_datagrams(now_ms):
        message = parse_message(bytes(data))
        if flow_address(flow) == source and getattr(message, "status", None):
            statuses.append(message.status)
    return statuses


def answering_door(**sip):
    config = door_config(show_dtmf_digits=True)
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    config["door"]["open_from"] = ["sip:flat1@127.0.0.1"]
    config["sip"].update(sip)
    return config


def rtp_sent_by_door(pair, frames):
    sent = []
    for _ in range(frames):
        pair.now += 20
        pair.door.audio_frame(pair.door_mic, pair.now)
        sent += pair.door.rtp_datagrams()
    return sent


def test_an_incoming_call_gets_no_audio_and_no_digits_before_the_ack():
    pair = Pair(door_cfg=answering_door())
    flat_out = pair.flat.sip_datagrams
    holding = {"acks": True}

    def without_acks(now_ms):
        out = []
        for data, address in flat_out(now_ms):
            if holding["acks"] and bytes(data).startswith(b"ACK "):
                continue  # the ACK is lost (or, for a spoofed INVITE, never comes)
            out.append((data, address))
        return out

    pair.flat.sip_datagrams = without_acks
    pair.press(pair.flat, 600)
    assert pair.first("door", "incoming_call")["accepted"] is True
    assert pair.flat.state == "talking" and pair.door.state == "talking"
    # Answered but not ACKed: the flat's digits do nothing, no audio leaves.
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.media is None
    assert "dtmf" not in pair.names("door") and pair.door.relay_on is False
    assert pair.door.policy.in_call is False
    assert rtp_sent_by_door(pair, 10) == []
    # The ACK arrives (for a retransmitted 200): media and the code work.
    holding["acks"] = False
    pair.run(4000)
    assert pair.door.media is not None
    assert [packet for packet in rtp_sent_by_door(pair, 3)] != []
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.relay_on is True


def test_after_the_door_hangs_up_no_digit_counts_and_no_audio_leaves():
    pair = Pair(door_cfg=door_config(show_dtmf_digits=True))
    pair.press(pair.door, 1000)
    door_out = pair.door.sip_datagrams

    def without_bye(now_ms):
        return [(d, a) for d, a in door_out(now_ms) if not bytes(d).startswith(b"BYE ")]

    pair.door.sip_datagrams = without_bye  # the flat never hears the BYE
    pair.door.hangup(pair.now)
    pair.route()
    assert pair.door.state == "ending" and pair.door.media is None
    assert pair.door.policy.in_call is False
    marker = len(pair.events["door"])
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    later = [e["event"] for e in pair.events["door"][marker:]]
    assert "dtmf" not in later and "door_opened" not in later, later
    assert pair.door.relay_on is False
    assert rtp_sent_by_door(pair, 10) == []


def test_peer_to_peer_a_caller_claiming_another_flats_identity_is_refused():
    pair = Pair(door_cfg=answering_door(trusted=["127.0.0.2"]))
    impostor = ("127.0.0.2", 5070)
    pair.door.receive_sip(invite(impostor, "sip:flat1@127.0.0.1"), udp(impostor), pair.now)
    assert responses_to(pair, impostor, pair.now) == [180, 403]
    pair.collect()
    incoming = pair.first("door", "incoming_call")
    assert incoming["accepted"] is False and pair.door.state == "idle"
    # The real flat, from its own address, is answered.
    flat = ("127.0.0.1", FLAT_SIP[1])
    pair.door.receive_sip(
        invite(flat, "sip:flat1@127.0.0.1", call_id="real-1"), udp(flat), pair.now
    )
    assert responses_to(pair, flat, pair.now) == [180, 200]


def test_peer_to_peer_media_must_come_from_the_callers_own_host():
    pair = Pair(door_cfg=answering_door())
    flat = ("127.0.0.1", FLAT_SIP[1])
    elsewhere = invite(flat, "sip:flat1@127.0.0.1", media_host="127.0.0.9")
    pair.door.receive_sip(elsewhere, udp(flat), pair.now)
    assert responses_to(pair, flat, pair.now) == [488]
    assert pair.door.state == "idle"


def test_peer_to_peer_media_elsewhere_when_the_config_allows_it():
    pair = Pair(door_cfg=answering_door(peer_media_same_host=False))
    flat = ("127.0.0.1", FLAT_SIP[1])
    elsewhere = invite(flat, "sip:flat1@127.0.0.1", media_host="127.0.0.9")
    pair.door.receive_sip(elsewhere, udp(flat), pair.now)
    assert responses_to(pair, flat, pair.now) == [180, 200]


def test_peer_to_peer_an_answer_with_media_elsewhere_is_hung_up():
    pair = Pair()
    flat_out = pair.flat.sip_datagrams

    def media_elsewhere(now_ms):
        out = []
        for data, address in flat_out(now_ms):
            data = bytes(data)
            if data.startswith(b"SIP/2.0 200") and b"c=IN IP4 127.0.0.1" in data:
                data = data.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 127.0.0.9")
            out.append((data, address))
        return out

    pair.flat.sip_datagrams = media_elsewhere
    pair.press(pair.door, 1000)
    assert "answered" not in pair.names("door")
    assert pair.door.state == "idle" and pair.door.media is None
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"


SERVER = ("127.0.0.5", 5060)


def server_door(**sip):
    config = door_config(show_dtmf_digits=True)
    config["sip"].update({"server": "127.0.0.5", "domain": "example.org", "register": False})
    config["sip"].update(sip)
    config["call"]["answer_from"] = ["flat1"]
    config["door"]["open_from"] = ["flat1"]
    from intercom.config import validate

    return validate(config)


def test_server_mode_trusts_no_target_or_answer_from_host():
    config = server_door()
    config["call"]["targets"] = ["sip:flat1@127.0.0.1:%d" % FLAT_SIP[1]]
    pair = Pair(door_cfg=config)
    flat = ("127.0.0.1", FLAT_SIP[1])
    pair.door.receive_sip(invite(flat, "sip:flat1@example.org"), udp(flat), pair.now)
    assert responses_to(pair, flat, pair.now) == []
    assert pair.door.agent.stats["untrusted_dropped"] == 1


def test_server_mode_callers_by_p_asserted_identity():
    pair = Pair(door_cfg=server_door(asserted_identity=True))
    asserted = 'P-Asserted-Identity: "Flat 1" <sip:flat1@example.org>, <tel:+4930123>\r\n'
    spoof = invite(SERVER, "sip:flat1@example.org", call_id="spoof", extra="")
    pair.door.receive_sip(spoof, udp(SERVER), pair.now)
    assert responses_to(pair, SERVER, pair.now) == [180, 403]  # From alone is not enough
    real = invite(SERVER, "sip:anyone@example.org", call_id="real", extra=asserted)
    pair.door.receive_sip(real, udp(SERVER), pair.now)
    assert responses_to(pair, SERVER, pair.now) == [180, 200]
    stranger = "P-Asserted-Identity: <sip:mallory@example.org>\r\n"
    pair2 = Pair(door_cfg=server_door(asserted_identity=True))
    other = invite(SERVER, "sip:flat1@example.org", call_id="other", extra=stranger)
    pair2.door.receive_sip(other, udp(SERVER), pair2.now)
    assert responses_to(pair2, SERVER, pair2.now) == [180, 403]


def test_server_mode_without_the_option_ignores_p_asserted_identity():
    pair = Pair(door_cfg=server_door())
    stranger = "P-Asserted-Identity: <sip:mallory@example.org>\r\n"
    call = invite(SERVER, "sip:flat1@example.org", extra=stranger)
    pair.door.receive_sip(call, udp(SERVER), pair.now)
    assert responses_to(pair, SERVER, pair.now) == [180, 200]
    assert FLAT_RTP  # the flat station is not part of these calls


def test_the_door_hangs_up_on_a_caller_after_hangup_after_wrong_entries():
    pair = Pair(door_cfg=door_config(max_attempts=10, hangup_after_wrong=3))
    pair.press(pair.door, 1000)
    pair.flat.media.send_digits("000011112222")
    pair.run(4000)
    rejected = [e["reason"] for e in pair.events["door"] if e["event"] == "code_rejected"]
    assert rejected == ["wrong_code"] * 3
    ended = pair.first("door", "call_ended")
    assert (ended["reason"], ended["detail"]) == ("local_hangup", "wrong_codes")
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"
    assert pair.door.state == "idle" and pair.door.relay_on is False
