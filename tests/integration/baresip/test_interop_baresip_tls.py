# A secure door (sip.transport = "tls", audio.srtp = "mandatory") and
# baresip with its srtp module (mediaenc=srtp-mand), both registered over
# TLS with Kamailio's tls module (a CA and certificate the test makes):
# the door calls baresip and baresip calls the door; each hears the
# other's tone, baresip's RFC 4733 keypad code (inside SRTP) opens the
# door. tshark captures the call on lo (the proxy's TLS port and the
# door's RTP ports only) and finds no SIP it can read and no RTP whose
# payload decodes as G.711 to the tone that was sent (PEERS.md "TLS and
# SRTP": the tone's share of the energy: 0.9999 measured in a clear call,
# below 0.05 required here).

import time

import numpy
import pytest
from support.audio import heard_share, read_wav, tone_share, ulaw_expand
from support.baresip import baresip_calls_the_door
from support.door import DOOR_CODE
from support.secure_call import DOOR_TONE, FLAT_TONE, secure_call

pytestmark = pytest.mark.integration


def check_audio_and_wire(tmp_path, flat, door, capture):
    door.send("quit")  # its WAV is complete once it stopped
    assert door.wait() == 0, door.stderr()
    capture.stop()
    # each side decrypted the other's tone
    assert heard_share(flat.recording("dec"), DOOR_TONE) > 0.9
    assert heard_share(read_wav(tmp_path / "door" / "heard.wav"), FLAT_TONE) > 0.9
    # the wire: no SIP a dissector or a reader finds, no G.711 in the RTP
    wire = capture.path.read_bytes()
    assert capture.dissected("tls") > 0  # the signalling was there, as TLS
    assert capture.dissected("sip") == 0
    assert b"SIP/2.0" not in wire and b"a=crypto" not in wire
    shares = {DOOR_TONE: [], FLAT_TONE: []}
    for source, _, payload in capture.udp_payloads():
        if len(payload) != 12 + 160 + 10:  # a 20 ms PCMU packet and its SRTP tag
            continue
        tone = DOOR_TONE if source == door.rtp_port else FLAT_TONE
        shares[tone].append(tone_share(ulaw_expand(payload[12:172]), tone))
    for tone, values in shares.items():
        assert len(values) > 100, (tone, len(values))  # seconds of RTP each way
        assert numpy.mean(values) < 0.05, (tone, numpy.mean(values))  # clear: ~1.0


def test_the_door_calls_baresip_over_tls_and_srtp_and_its_code_opens(tmp_path, owned):
    settings = {"door": {"hangup_after_open": 1}, "device": {"show_dtmf_digits": True}}
    proxy, flat, door, capture = secure_call(tmp_path, owned, settings)
    door.send("press")
    door.send("release")
    answered = door.wait_for("answered", timeout=10, target="flat1")
    flat.wait_event("CALL_ESTABLISHED")
    time.sleep(3.0)
    for digit in DOOR_CODE:
        flat.command("sndcode", digit)
        time.sleep(0.25)
    door.wait_for("door_opened", timeout=5)
    dtmf = [event for event in door.seen if event["event"] == "dtmf"]
    assert [event["digit"] for event in dtmf] == list(DOOR_CODE), door.seen
    assert [event["source"] for event in dtmf] == ["rfc4733"] * 4
    ended = door.wait_for("call_ended", timeout=5)
    assert ended["reason"] == "door_opened", (answered, ended)
    flat.wait_event("CALL_CLOSED")
    check_audio_and_wire(tmp_path, flat, door, capture)
    assert any(line.startswith("tls INVITE sip:flat1@") for line in proxy.log_lines())


def test_baresip_calls_the_door_over_tls_and_srtp(tmp_path, owned):
    settings = {"call": {"answer_from": ["flat1"]}}
    _, flat, door, capture = secure_call(tmp_path, owned, settings)
    baresip_calls_the_door(flat, door, "sip:door@127.0.0.1;transport=tls", 3.0)
    check_audio_and_wire(tmp_path, flat, door, capture)
