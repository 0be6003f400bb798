# A resident calls the door: a real SIPp UAC, either through a real
# Kamailio (407 digest, then routed to the door's registered contact with
# Record-Route) or peer-to-peer. The driver plays the door app: it answers
# callers whose user is in its allow list and rejects everyone else with 403.

import pytest
from support.kamailio import FLAT_PASSWORD

pytestmark = pytest.mark.integration

# What a caller through the proxy sees first: its INVITE challenged (407,
# ACKed hop by hop), sent again with its digest, and the door ringing.
CHALLENGED_THEN_RINGING = [
    ("sent", "INVITE"),
    ("received", 407),
    ("sent", "ACK"),
    ("sent", "INVITE"),
    ("received", 180),
]


def call_door(sipp, door, scenario, caller, remote, options=()):
    peer = sipp("caller_" + caller, scenario, remote=remote, options=["-s", caller] + list(options))
    # The door runs its loop while SIPp calls, until SIPp is done.
    assert door.run_until(lambda: peer.process.poll() is not None, 20), peer.report()
    door.run_for(0.3)  # let the door take what SIPp sent last
    return peer


def responses_sent(door):
    return [int(text.split(" ")[1]) for text in door.sent_text() if text.startswith("SIP/2.0")]


def call_through_proxy(kamailio, sipp, door, scenario, caller):
    """caller, with its digest, calls the door through Kamailio with
    scenario, which SIPp passed: (SIPp, Kamailio's log mark from before)."""
    mark = kamailio.log_mark()
    credentials = ["-au", caller, "-ap", FLAT_PASSWORD]
    peer = call_door(sipp, door, scenario, caller, kamailio.address, credentials)
    assert peer.wait() == 0, peer.report()
    return peer, mark


def test_allowed_caller_is_answered_through_the_proxy(kamailio, registered_door, sipp):
    door = registered_door(answer_from=["flat1"], answer_users=["flat1"])
    caller, mark = call_through_proxy(kamailio, sipp, door, "flat_calls_door.xml", "flat1")

    incoming = door.find("incoming_call")
    assert incoming["user"] == "flat1"
    assert incoming["source"] == kamailio.address
    assert incoming["media"]["codec"] == "PCMU"
    assert door.find("answered", call_id=incoming["call_id"]) is not None
    ended = door.find("call_ended", call_id=incoming["call_id"])
    assert ended["reason"] == "remote_hangup"
    assert ended["duration_ms"] >= 400  # SIPp talks 500 ms before its BYE

    # SIPp's view: its digest was asked for once, the door rang, answered,
    # took the ACK and answered the BYE.
    assert caller.flow_past_trying() == CHALLENGED_THEN_RINGING + [
        ("received", 200),
        ("sent", "ACK"),
        ("sent", "BYE"),
        ("received", 200),
    ]
    ok = [m for m in caller.messages() if m.status == 200][0]
    assert ok.header("Record-Route") == "<sip:127.0.0.1:%d;lr;ftag=%s>" % (
        kamailio.port,
        ok.header("From").split("tag=")[1],
    )
    assert ok.header("Contact") == "<sip:door@127.0.0.1:%d>" % door.port
    assert "m=audio %d RTP/AVP 0" % door.rtp_port in ok.text

    # The door's view: 180, 200 for the INVITE, 200 for the BYE; Kamailio's
    # log shows the call reached the door's registered contact.
    assert responses_sent(door) == [180, 200, 200]
    log = kamailio.log_lines(mark)
    assert "INVITE relayed to sip:door@127.0.0.1:%d" % door.port in log
    assert "reply 200 OK for INVITE from 127.0.0.1:%d" % door.port in log
    assert "reply 200 OK for BYE from 127.0.0.1:%d" % door.port in log


def test_caller_not_allowed_is_refused_through_the_proxy(kamailio, registered_door, sipp):
    door = registered_door(answer_from=["flat1"], answer_users=["flat1"])
    caller, mark = call_through_proxy(kamailio, sipp, door, "flat_calls_door_refused.xml", "flat2")

    incoming = door.find("incoming_call")
    assert incoming["user"] == "flat2"
    ended = door.find("call_ended", call_id=incoming["call_id"])
    assert ended["reason"] == "rejected"
    assert door.find("answered") is None

    assert caller.flow_past_trying() == CHALLENGED_THEN_RINGING + [
        ("received", 403),
        ("sent", "ACK"),
    ]
    assert responses_sent(door) == [180, 403]
    assert "reply 403 Forbidden for INVITE from 127.0.0.1:%d" % door.port in kamailio.log_lines(
        mark
    )


def test_caller_gives_up_while_the_door_rings(kamailio, registered_door, sipp):
    door = registered_door(answer_users=[], reject_status=None)  # nobody decides
    caller, mark = call_through_proxy(
        kamailio, sipp, door, "flat_calls_door_then_cancels.xml", "flat1"
    )

    incoming = door.find("incoming_call")
    ended = door.find("call_ended", call_id=incoming["call_id"])
    assert ended["reason"] == "cancelled"
    assert ended["duration_ms"] == 0
    assert responses_sent(door) == [180, 200, 487]
    assert caller.flow_past_trying()[-5:] == [
        ("received", 180),
        ("sent", "CANCEL"),
        ("received", 200),
        ("received", 487),
        ("sent", "ACK"),
    ]
    log = kamailio.log_lines(mark)
    assert "CANCEL sip:door@127.0.0.1:%d from 127.0.0.1:%d" % (kamailio.port, caller.port) in log
    assert "reply 487 Request Terminated for INVITE from 127.0.0.1:%d" % door.port in log


def call_door_directly(door_factory, sipp, scenario):
    """flat1 calls, from 127.0.0.1 and with scenario, a door without a
    server that answers it; SIPp and the door saw the whole call. The door."""
    door = door_factory(user="door", answer_from=["sip:flat1@127.0.0.1"], answer_users=["flat1"])
    door.start()
    remote = ("127.0.0.1", door.port)
    caller = call_door(sipp, door, scenario, "flat1", remote)
    assert caller.wait() == 0, caller.report()
    check_direct_call(door, caller)
    return door


def check_direct_call(door, caller):
    incoming = door.find("incoming_call")
    assert incoming["user"] == "flat1"
    assert incoming["source"] == ("127.0.0.1", caller.port)
    answered = door.find("answered", call_id=incoming["call_id"])
    ended = door.find("call_ended", call_id=incoming["call_id"])
    assert answered is not None, door.events
    assert door.events.index(answered) < door.events.index(ended)
    assert ended["reason"] == "remote_hangup"
    assert 1200 <= ended["duration_ms"] <= 5000  # SIPp talks 1.5 s before its BYE
    # One 200 for the INVITE: the ACK stopped its retransmissions (13.3.1.4).
    assert responses_sent(door) == [180, 200, 200]
    assert caller.flow_past_trying() == [
        ("sent", "INVITE"),
        ("received", 180),
        ("received", 200),
        ("sent", "ACK"),
        ("sent", "BYE"),
        ("received", 200),
    ]


def test_allowed_caller_is_answered_peer_to_peer(door_factory, sipp):
    call_door_directly(door_factory, sipp, "flat_calls_door_direct.xml")


def test_ack_from_an_rfc2543_caller_reaches_the_call(door_factory, sipp):
    call_door_directly(door_factory, sipp, "rfc2543_phone_calls_door.xml")


def test_a_delayed_offer_gets_our_offer_in_the_200_and_the_answer_from_the_ack(door_factory, sipp):
    # SIPp checked the offer in the 200.
    door = call_door_directly(door_factory, sipp, "flat_calls_door_delayed_offer.xml")
    assert door.find("incoming_call")["media"] is None
    media = door.find("answered")["media"]  # from the ACK's answer
    assert (media["remote_host"], media["codec"]) == ("127.0.0.1", "PCMU")
    ok = [text for text in door.sent_text() if text.startswith("SIP/2.0 200")][0]
    assert "Content-Type: application/sdp" in ok and "m=audio " in ok
