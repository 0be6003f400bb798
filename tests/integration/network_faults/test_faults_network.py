# A door call across a bad network: every datagram between the sim door and
# the flat phone (SIP both ways, RTP and RTCP both ways) passes through
# host_tools/netem_relay with 5 % loss, 40 ms jitter, 2 % duplicates and
# 3 % extra reordering on a fixed seed. And a flat that vanishes mid-call
# without a BYE: the door's RTP timeout ends the call.

import time

import numpy
from faults_rig import (
    door_sections,
    free_port,
    free_rtp_pair,
    piece_similarity,
    read_wav,
    speech_like,
    start_door,
    write_wav,
)

from host_tools.netem_relay import Impairment

SEED = 20260
VISITOR_S = 6.0
# Measured on this rig with SEED (see the report): the median 0.5 s piece
# keeps a normalised cross-correlation of ~0.998 with what the door sent
# (each piece at its own best lag), the worst piece 0.5-0.96 from run to run
# (one where the jitter buffer re-sized mid-piece). Calibration of the same
# measure: another speech-like signal scores 0.23, noise 0.05, and the
# signal with every fifth frame silenced (20 % loss, no concealment) 0.905.
MEDIAN_PIECE_NCC = 0.95
GOOD_PIECE_NCC = 0.8
GOOD_PIECE_SHARE = 0.75


def relayed_pair(tmp_path, rig, impairment, visitor_s=VISITOR_S):
    """(door, flat, relay): the door reaches the flat only through the relay."""
    door_sip, door_rtp = free_port(), free_rtp_pair()
    relay_sip, relay_rtp = free_port(), free_rtp_pair()
    write_wav(tmp_path / "visitor.wav", speech_like(visitor_s))
    flat = rig.flat(
        sip_port=relay_sip, rtp_port=relay_rtp, media_port=relay_rtp, answer_after_ms=300
    )
    relay = rig.relay(SEED, impairment)
    host = "127.0.0.1"
    # SIP also loses the first datagram each way: the INVITE and the 180 must
    # be retransmitted (RFC 3261 17.1.1.2 Timer A, 17.2.1 for the 180/200).
    sip_rules = None
    if impairment.loss:
        sip_rules = Impairment(loss=impairment.loss, jitter_ms=impairment.jitter_ms, drop_first=1)
    relay.add_pipe((host, relay_sip), flat.sip_address, peer=(host, door_sip), impairment=sip_rules)
    relay.add_pipe((host, relay_rtp), flat.rtp_address, peer=(host, door_rtp))
    rtcp = (host, flat.rtp_address[1] + 1)
    relay.add_pipe((host, relay_rtp + 1), rtcp, peer=(host, door_rtp + 1))
    relay.start()
    target = "sip:flat1@127.0.0.1:%d" % relay_sip
    door = rig.door(start_door(tmp_path, door_sections(door_sip, door_rtp, [target])))
    return door, flat, relay


def test_a_call_over_a_lossy_jittery_network_completes_and_conceals(tmp_path, rig):
    impairment = Impairment(loss=0.05, jitter_ms=40, duplicate=0.02, reorder=0.03)
    door, flat, relay = relayed_pair(tmp_path, rig, impairment)
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=20)
    flat.wait_for("media_started")
    time.sleep(VISITOR_S + 1.5)
    door.send("hangup")
    assert door.wait_for("call_ended", timeout=10)["reason"] == "local_hangup"
    stats = flat.wait_for("media_stopped", timeout=15)["stats"]  # the BYE got through
    counters = relay.counters()
    dropped = sum(c[d]["dropped"] for c in counters.values() for d in c)
    duplicated = sum(c[d]["duplicated"] for c in counters.values() for d in c)
    assert dropped > 10 and duplicated > 2  # the relay really damaged the call
    sip = counters[relay.pipes[0].address[1]]
    assert sip["forward"]["dropped"] >= 1 and sip["back"]["dropped"] >= 1
    assert stats["concealed"] > 0  # the jitter buffer filled the holes
    heard = numpy.frombuffer(bytes(flat.phone.heard), dtype="<i2").astype(float)
    sent = read_wav(tmp_path / "visitor.wav")
    lag, scores = piece_similarity(sent, heard)
    print(
        "lossy call: relay %r; flat stats %r; lag %d ms; piece NCC median %.3f min %.3f"
        % (counters, stats, lag // 8, numpy.median(scores), min(scores))
    )
    assert numpy.median(scores) >= MEDIAN_PIECE_NCC, scores
    assert numpy.mean(numpy.asarray(scores) >= GOOD_PIECE_NCC) >= GOOD_PIECE_SHARE, scores
    door.send("quit")
    assert door.wait() == 0


def test_a_flat_that_vanishes_mid_call_is_dropped_by_the_rtp_timeout(tmp_path, rig):
    door, flat, relay = relayed_pair(tmp_path, rig, Impairment(), visitor_s=1.0)
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=20)
    flat.wait_for("media_started")
    time.sleep(1.0)
    relay.pause()  # the flat is gone: no BYE, no RTP, nothing
    vanished = time.monotonic()
    ended = door.wait_for("call_ended", timeout=40)
    took = time.monotonic() - vanished
    print("rtp timeout ended the call %.1f s after the flat vanished" % took)
    assert ended["reason"] == "rtp_timeout"
    assert 29.0 <= took <= 33.0  # RTP_TIMEOUT_MS = 30000, checked on a 20 ms tick
    relay.resume()  # the flat is back: the door's BYE gets through (retransmitted)
    flat.wait_for("media_stopped", timeout=10)
    time.sleep(0.5)  # its 200 back: the door is idle again and calls
    seen = len(flat.events)
    door.send("press")
    door.send("release")
    flat.wait_for("incoming_call", timeout=10, after=seen)
    flat.wait_for("media_started", timeout=10, after=seen)  # answered: a real call again
    door.send("quit")
    assert door.wait() == 0
