# audio.symmetric_rtp (RFC 4961) on the whole door: it lets a flat behind
# NAT, whose SDP names an address its RTP does not come from, be heard and
# hear the door; it never lets a stray or hostile packet take the call's
# audio. The flat station runs at 127.0.0.1 (its SIP and its RTP); datagrams
# to ports nobody listens on are lost, as behind a NAT.

from intercom.media import g711
from media_signals import render, tone_function, tone_power
from station_harness import FLAT_RTP, Pair, door_config

FLAT_HZ = 1000
ATTACK_HZ = 3300
PRIVATE_PORT = FLAT_RTP + 100  # what a NATed flat's SDP says; nothing listens there


def flat_sine():
    return bytearray(render(160, tone_function([(FLAT_HZ, 8000)])))


def attack_packet(sequence, ssrc=0xBADBAD00):
    """PCMU of a loud 3300 Hz tone, as a LAN attacker would inject it."""
    pcm = render(160, tone_function([(ATTACK_HZ, 20000)], start=160 * sequence))
    timestamp = 160 * sequence
    header = bytes([0x80, 0, sequence >> 8, sequence & 0xFF])
    header += timestamp.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
    return header + g711.ulaw_encode(pcm)


def answered_pair(symmetric_rtp, rewrite=None):
    config = door_config()
    config["audio"]["symmetric_rtp"] = symmetric_rtp
    pair = Pair(door_cfg=config)
    if rewrite is not None:
        pair.rewrite_sip("flat", rewrite)
    pair.flat_mic = flat_sine()
    pair.door.button(True, pair.now)
    pair.route()  # answered; no RTP has flowed yet (frames come with run())
    assert pair.door.state == "talking" and pair.door.media is not None
    return pair


def heard(frames, frequency):
    return sum(tone_power(frame, frequency) for frame in frames)


def private_address(message):
    """The flat behind NAT: its SDP names the private port, not FLAT_RTP."""
    if message.body:
        public, private = b"m=audio %d " % FLAT_RTP, b"m=audio %d " % PRIVATE_PORT
        message.body = message.body.replace(public, private)


def test_a_stray_packet_before_the_flats_first_does_not_take_the_call():
    pair = answered_pair(True)
    door = pair.door
    # Before the flat's first packet: a stream from another host of the LAN,
    # and one packet from another port of the flat's own host.
    for sequence in range(1, 11):
        door.receive_rtp(attack_packet(sequence), ("127.0.0.9", FLAT_RTP), pair.now)
    door.receive_rtp(attack_packet(11), ("127.0.0.1", 41000), pair.now)
    pair.record()
    pair.run(1000)
    assert door.media.rtp_address == ("127.0.0.1", FLAT_RTP)
    played = pair.played["door"][-25:]
    assert heard(played, FLAT_HZ) > 100 * heard(played, ATTACK_HZ)
    assert heard(played, FLAT_HZ) > 0.5 * 25 * (8000 * 80) ** 2  # the flat, at its level
    assert heard(pair.played["door"], ATTACK_HZ) < 1e-3 * heard(played, FLAT_HZ)


def test_a_flat_behind_nat_is_heard_and_hears_the_door_with_symmetric_rtp():
    pair = answered_pair(True, rewrite=private_address)
    assert pair.door.media.rtp_address == ("127.0.0.1", PRIVATE_PORT)
    pair.record()
    pair.run(1000)
    # Its RTP comes from FLAT_RTP: the door took that stream and sends there.
    assert pair.door.media.rtp_address == ("127.0.0.1", FLAT_RTP)
    assert pair.door.media.rtcp_address == ("127.0.0.1", FLAT_RTP + 1)
    assert heard(pair.played["door"][-25:], FLAT_HZ) > 0.5 * 25 * (8000 * 80) ** 2
    assert max(pair.flat_heard[-25:]) > 1000000  # the door's tone reaches the flat


def test_without_symmetric_rtp_only_the_negotiated_address_is_heard():
    pair = answered_pair(False, rewrite=private_address)
    pair.record()
    pair.run(1000)
    assert pair.door.media.rtp_address == ("127.0.0.1", PRIVATE_PORT)
    assert heard(pair.played["door"], FLAT_HZ) == 0
    assert pair.door.media.stats(pair.now)["dropped"] >= 40
