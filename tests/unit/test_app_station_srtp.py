# SRTP calls between the door and a flat station (RFC 3711 with SDES keys,
# RFC 4568): what each audio.srtp mode lets through, what crosses the wire,
# and that an attacker on the LAN who sees the stream can neither inject
# the code nor replay it. On CPython the door runs libsrtp (its board's
# implementation) and the flat the portable context, so every call here is
# also a cross-check of the two; under MicroPython both run the portable
# one. audio.srtp needs SIP over TLS: both stations say sip.transport =
# "tls", and the in-memory network carries their messages as TLS flows.

import struct

from intercom.media.g711 import ulaw_encode
from srtp_support import board_srtp, portable
from station_harness import FLAT_RTP, Pair, door_config, flat_config

CODE = "1234"


def over_tls(config, mode):
    config["sip"]["transport"] = "tls"
    config["audio"]["srtp"] = mode
    return config


def secure_pair(door_mode, flat_mode, door_cfg=None, flat_cfg=None):
    door_cfg = over_tls(door_cfg or door_config(), door_mode)
    flat_cfg = over_tls(flat_cfg or flat_config(), flat_mode)
    return Pair(door_cfg, flat_cfg, srtp={"door": board_srtp(), "flat": portable})


def door_answering(**door):
    config = door_config(show_dtmf_digits=True, **door)
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    return config


def digits(pair):
    return [event["digit"] for event in pair.events["door"] if event["event"] == "dtmf"]


def test_a_mandatory_srtp_call_carries_audio_both_ways_and_the_code_opens():
    pair = secure_pair("mandatory", "mandatory", door_cfg=door_config(show_dtmf_digits=True))
    pair.record()
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    assert max(pair.flat_heard[-20:]) > 1000000  # the visitor's tone, decrypted
    plain = ulaw_encode(bytes(pair.door_mic))
    sent = pair.sent_rtp["door"]
    assert sent and all(len(packet) == 12 + 160 + 10 for packet in sent)
    assert not any(plain in packet for packet in sent)  # no G.711 on the wire
    pair.flat.media.send_digits(CODE)
    pair.run(1500)
    assert digits(pair) == list(CODE)
    assert pair.door.relay_on is True
    stats = pair.door.stats(pair.now)["media"]
    assert stats["srtp"] == "AES_CM_128_HMAC_SHA1_80"
    assert (stats["srtp_auth_failed"], stats["srtp_replayed"], stats["srtp_malformed"]) == (0, 0, 0)
    pair.run(6000)  # RTCP went both ways as SRTCP
    assert pair.door.last_call_stats["reports_received"] >= 1
    assert pair.door.last_call_stats["remote_cname"] == "flat1@127.0.0.1"


def test_the_flat_calls_a_mandatory_door_over_srtp():
    pair = secure_pair("mandatory", "optional", door_cfg=door_answering())
    pair.press(pair.flat, 1000)
    assert pair.door.state == "talking"
    assert pair.door.stats(pair.now)["media"]["srtp"] == "AES_CM_128_HMAC_SHA1_80"
    assert max(pair.door_heard[-10:]) == 0  # the flat's mic is silent ...
    pair.flat.media.send_digits(CODE)
    pair.run(1500)
    assert pair.door.relay_on is True  # ... and its RFC 4733 code arrives


def test_a_mandatory_door_refuses_plain_rtp_both_ways():
    # the flat does not do SRTP: it refuses our RTP/SAVP offer, and its
    # plain offer gets 488 from the door
    pair = secure_pair("mandatory", "off")
    pair.press(pair.door, 1000)
    ended = pair.first("door", "call_ended")
    assert ended is not None and pair.door.media is None
    assert pair.first("flat", "answered") is None
    config = door_answering()
    pair = secure_pair("mandatory", "off", door_cfg=config)
    pair.press(pair.flat, 1000)
    failed = pair.first("flat", "call_ended")
    assert failed is not None and pair.door.state == "idle" and pair.door.media is None
    assert pair.first("door", "answered") is None


def test_optional_srtp_falls_back_to_rtp_with_a_phone_without_it():
    pair = secure_pair("optional", "off", door_cfg=door_config(show_dtmf_digits=True))
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    assert pair.door.stats(pair.now)["media"]["srtp"] is None
    pair.flat.media.send_digits(CODE)
    pair.run(1500)
    assert pair.door.relay_on is True


def rtp(payload_type, sequence, timestamp, ssrc, payload, marker=False):
    second = payload_type | (0x80 if marker else 0)
    return struct.pack(">BBHII", 0x80, second, sequence, timestamp, ssrc) + payload


def inject_code(pair, tag):
    """An attacker who sees the flat's stream continues it (its SSRC,
    sequence and timestamp, all in clear in an SRTP header) from the flat's
    own address, so the source checks pass: a loud tone and the code as
    RFC 4733 events, each packet with `tag` appended (it has no key)."""
    sender = pair.flat.media._sender
    ssrc, sequence, timestamp = sender.ssrc, sender.sequence + 3, sender.timestamp + 480
    event_pt = pair.flat.media._event_type
    loud = ulaw_encode(struct.pack("<h", 30000) * 80 + struct.pack("<h", -30000) * 80)
    packets = []
    for _ in range(25):
        packets.append(rtp(0, sequence & 0xFFFF, timestamp, ssrc, loud) + tag)
        sequence += 1
        timestamp += 160
    for digit in CODE:
        for step in range(6):
            end = 0x80 if step >= 3 else 0
            event = struct.pack(">BBH", int(digit), end | 10, 160 * (step + 1))
            packets.append(
                rtp(event_pt, sequence & 0xFFFF, timestamp, ssrc, event, step == 0) + tag
            )
            sequence += 1
        timestamp += 1600
    for packet in packets:
        pair.door.receive_rtp(packet, ("127.0.0.1", FLAT_RTP), pair.now)
        pair.run(20)
    pair.run(1000)
    return len(packets)


def test_injected_rtp_opens_a_plain_call_but_not_an_srtp_one():
    # the baseline: without SRTP nothing tells the flat's packets from the
    # attacker's (this is what the attack suite's source check cannot stop)
    pair = Pair(door_cfg=door_config(show_dtmf_digits=True, hangup_after_open=0))
    pair.press(pair.door, 1000)
    inject_code(pair, b"")
    assert digits(pair) == list(CODE) and pair.door.relay_on is True
    for tag in (b"", b"\x00" * 10, b"\x5a" * 10):
        pair = secure_pair("mandatory", "mandatory", door_cfg=door_config(show_dtmf_digits=True))
        pair.press(pair.door, 1000)
        loudest_before = max(pair.door_heard[-10:])
        sent = inject_code(pair, tag)
        assert digits(pair) == [] and pair.door.relay_on is False
        assert pair.first("door", "code_rejected") is None
        assert max(pair.door_heard[-60:]) <= loudest_before  # the tone never played
        stats = pair.door.stats(pair.now)["media"]
        assert stats["srtp_auth_failed"] + stats["srtp_malformed"] == sent
        assert pair.door.state == "talking"  # the call goes on


def test_the_flats_own_code_replayed_later_is_dropped():
    config = door_config(show_dtmf_digits=True, hangup_after_open=0)
    pair = secure_pair("mandatory", "mandatory", door_cfg=config)
    pair.press(pair.door, 1000)
    pair.record()
    pair.flat.media.send_digits(CODE)
    pair.run(1500)
    assert digits(pair) == list(CODE)
    pair.run(4000)  # the relay pulse ends
    assert pair.door.relay_on is False
    recorded = list(pair.sent_rtp["flat"])
    for packet in recorded:
        pair.door.receive_rtp(packet, ("127.0.0.1", FLAT_RTP), pair.now)
    pair.run(1000)
    assert digits(pair) == list(CODE)  # nothing new
    assert pair.door.relay_on is False
    stats = pair.door.stats(pair.now)["media"]
    assert stats["srtp_replayed"] == len(recorded) and stats["srtp_auth_failed"] == 0


def test_the_stream_survives_the_sequence_numbers_wrap():
    pair = secure_pair("mandatory", "mandatory", door_cfg=door_config(show_dtmf_digits=True))
    pair.press(pair.door, 600)
    sender = pair.flat.media._sender
    sender.sequence = 0xFFFF - 20  # the flat's stream wraps 0.4 s from now
    pair.flat_mic = bytearray(pair.door_mic)  # the flat talks: the door hears it
    pair.run(2000)
    assert sender.sequence < 100  # it wrapped: ROC 1 on both sides
    assert min(pair.door_heard[-40:]) > 1000000
    pair.flat.media.send_digits(CODE)
    pair.run(1500)
    assert pair.door.relay_on is True
    stats = pair.door.stats(pair.now)["media"]
    assert (stats["srtp_auth_failed"], stats["srtp_replayed"]) == (0, 0)


def door_sip_bodies(pair):
    bodies = []

    def keep(message):
        bodies.append(bytes(message.body or b""))

    pair.rewrite_sip("door", keep)
    return bodies


def udp_caller_and_tls_door(door_mode):
    """A door set up for TLS and a flat (or an attacker's phone) that calls
    it over plain UDP offering SRTP keys; (pair, what the door sends)."""
    door_cfg = over_tls(door_answering(), door_mode)
    pair = Pair(door_cfg, flat_config(), srtp={"door": board_srtp(), "flat": portable})
    flat = pair.flat.agent.settings
    flat.srtp, flat.secure_transports = "optional", ("udp",)  # it sends keys over UDP
    return pair, door_sip_bodies(pair)


def test_a_door_set_up_for_tls_takes_no_sip_in_clear():
    pair, bodies = udp_caller_and_tls_door("mandatory")
    pair.press(pair.flat, 1000)
    assert bodies == []  # not even a 488: nothing over UDP
    assert pair.first("door", "incoming_call") is None and pair.door.state == "idle"
    assert pair.door.agent.stats["plain_sip_dropped"] >= 1


def test_keys_never_cross_sip_over_udp():
    # behind the transport check above, each call checks it too: a door
    # that read SIP over UDP (the test's seam) still never answers with a key
    for door_mode, answered in (("mandatory", False), ("optional", True)):
        pair, bodies = udp_caller_and_tls_door(door_mode)
        pair.door.agent.settings.accepted_transports = ("udp", "tls")
        pair.press(pair.flat, 1000)
        assert all(b"a=crypto" not in body and b"RTP/SAVP" not in body for body in bodies)
        if answered:
            assert pair.door.state == "talking"
            assert pair.door.stats(pair.now)["media"]["srtp"] is None
        else:
            assert pair.first("door", "answered") is None and pair.door.media is None
