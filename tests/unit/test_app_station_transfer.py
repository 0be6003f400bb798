# Call transfer through the station (RFC 3515, RFC 3891): the door calls
# flat 1, flat 1 answers and transfers the visitor to flat 2 by REFER (sent
# here through flat 1's own stack, in its dialog); the door calls flat 2,
# talks with it, and the door policy judges flat 2 from then on. Refusals:
# a target outside call.transfer_to, a new party that does not answer, a
# new party that may not open, an INVITE with Replaces from a stranger.

from intercom.config import validate
from station_harness import DOOR_SIP, FLAT2_RTP, FLAT2_SIP, FLAT_SIP, Pair, flat_config

FLAT1_URI = "sip:flat1@127.0.0.1:%d" % FLAT_SIP[1]
FLAT2_URI = "sip:flat2@127.0.0.1:%d" % FLAT2_SIP[1]


def door_config(transfer_to=None, open_from=None):
    call = {"targets": [FLAT1_URI], "ring_timeout": 10, "max_duration": 60}
    if transfer_to is not None:
        call["transfer_to"] = transfer_to
    door = {"code": "1234", "pulse": 3, "hangup_after_open": 0}
    if open_from is not None:
        door["open_from"] = open_from
    return validate(
        {
            "device": {"name": "Front door", "board": "sim", "show_dtmf_digits": True},
            "sip": {"user": "door", "local_port": DOOR_SIP[1]},
            "call": call,
            "door": door,
            "audio": {"input": "silence", "output": "null"},
        },
        "door.toml",
    )


def talking_trio(transfer_to=(FLAT2_URI,), open_from=None, flat2_answers=True):
    pair = Pair(
        door_cfg=door_config(list(transfer_to), open_from),
        flat2_cfg=flat_config(flat2_answers, "flat2", FLAT2_SIP[1]),
    )
    pair.press(pair.door, 600)
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    return pair


def flat1_refers(pair, refer_to):
    """Flat 1 sends REFER in its call with the door (its own dialog)."""
    flat_agent = pair.flat.agent
    (call,) = [call for call in flat_agent.calls.values() if not call.ended]
    request = call.dialog_request("REFER")
    request.headers.add("Refer-To", refer_to)
    call.send_in_dialog(request, pair.now)
    pair.route()


def door_events(pair, name):
    return [event for event in pair.events["door"] if event["event"] == name]


def wire_of(pair, what):
    """SIP messages the door sent that contain `what` (bytes), by spying."""
    return [data for data in pair.door_wire if what in data]


def spy_door(pair):
    pair.door_wire = []
    original = pair.door.sip_datagrams

    def spied(now_ms):
        out = original(now_ms)
        for data, _ in out:
            pair.door_wire.append(bytes(data))
        return out

    pair.door.sip_datagrams = spied


def test_a_blind_transfer_moves_the_visitor_to_flat_2_whose_code_opens():
    pair = talking_trio(open_from=[FLAT1_URI, FLAT2_URI])
    spy_door(pair)
    flat1_refers(pair, "<%s>" % FLAT2_URI)
    pair.run(600)
    requested = door_events(pair, "transfer_requested")
    assert requested == [
        {
            "ts_ms": requested[0]["ts_ms"],
            "event": "transfer_requested",
            "target": FLAT2_URI,
            "attended": False,
            "accepted": True,
        }
    ]
    assert len(wire_of(pair, b"SIP/2.0 202 ")) == 1
    notifies = wire_of(pair, b"NOTIFY sip:")
    assert [n.split(b"\r\n\r\n")[1] for n in notifies] == [
        b"SIP/2.0 100 Trying\r\n",
        b"SIP/2.0 200 OK\r\n",
    ]
    assert door_events(pair, "transferred")[0]["target"] == FLAT2_URI
    assert pair.flat2.state == "talking"
    # flat 1 is out of the call: the door ended it
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"
    assert pair.door.state == "talking"
    assert pair.door.media.rtp_address == ("127.0.0.1", FLAT2_RTP)
    pair.run(400)
    assert max(pair.flat2_heard[-10:]) > 0  # flat 2 hears the visitor
    pair.flat2.media.send_digits("1234")
    pair.run(1500)
    opened = door_events(pair, "door_opened")
    assert len(opened) == 1 and opened[0]["caller"] == "flat2@127.0.0.1"
    assert pair.door.relay_on is True


def test_after_a_transfer_only_the_new_party_is_judged_and_it_may_not_open():
    pair = talking_trio(open_from=[FLAT1_URI])  # flat 2 may talk, not open
    flat1_refers(pair, "<%s>" % FLAT2_URI)
    pair.run(600)
    assert door_events(pair, "transferred")
    pair.flat2.media.send_digits("1234#")  # '#' ends the entry
    pair.run(2000)
    assert door_events(pair, "door_opened") == []
    assert pair.door.relay_on is False
    rejected = door_events(pair, "code_rejected")
    assert rejected and rejected[0]["reason"] == "caller_not_allowed"


def test_a_transfer_to_a_target_outside_transfer_to_is_refused_and_the_call_goes_on():
    pair = talking_trio()
    spy_door(pair)
    flat1_refers(pair, "<sip:premium@127.0.0.1:5099>")
    pair.run(600)
    requested = door_events(pair, "transfer_requested")
    assert requested[0]["accepted"] is False
    assert requested[0]["reason"] == "target_not_allowed"
    assert len(wire_of(pair, b"SIP/2.0 403 ")) == 1
    assert wire_of(pair, b"INVITE sip:") == [] and wire_of(pair, b"NOTIFY") == []
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.relay_on is True  # flat 1 still holds the call


def test_an_empty_transfer_to_refuses_every_transfer():
    pair = talking_trio(transfer_to=())
    flat1_refers(pair, "<%s>" % FLAT2_URI)
    pair.run(600)
    assert door_events(pair, "transfer_requested")[0]["accepted"] is False
    assert pair.flat2.state == "idle"


def test_a_new_party_that_declines_leaves_the_door_with_flat_1():
    pair = talking_trio(flat2_answers=False)
    spy_door(pair)
    flat1_refers(pair, "<%s>" % FLAT2_URI)
    pair.run(600)
    failed = door_events(pair, "transfer_failed")
    assert failed and failed[0]["reason"] == "declined" and failed[0]["target"] == FLAT2_URI
    notifies = wire_of(pair, b"NOTIFY sip:")
    assert notifies[-1].split(b"\r\n\r\n")[1] == b"SIP/2.0 403 Forbidden\r\n"
    assert door_events(pair, "transferred") == []
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    assert pair.door.media.rtp_address[1] != FLAT2_RTP


def test_flat_1_hanging_up_after_the_202_leaves_the_visitor_waiting_for_flat_2():
    pair = talking_trio(open_from=[FLAT2_URI])
    flat1_refers(pair, "<%s>" % FLAT2_URI)
    pair.flat.hangup(pair.now)  # RFC 5589 6: the transferor may leave at once
    pair.route()
    pair.run(600)
    assert door_events(pair, "transferred")
    assert pair.door.state == "talking" and pair.flat2.state == "talking"
    pair.flat2.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.relay_on is True


def replacing_call(pair, identity_user):
    """Flat 2 calls the door with Replaces naming the door's call with flat 1
    (RFC 3891: what flat 2 does when flat 1 hands the door over to it)."""
    (door_call,) = [call for call in pair.door.agent.calls.values() if not call.ended]
    dialog = door_call.dialog
    replaces = "%s;to-tag=%s;from-tag=%s" % (dialog.call_id, dialog.local_tag, dialog.remote_tag)
    agent = pair.flat2.agent
    agent.settings.user = identity_user
    agent.call(
        "sip:door@127.0.0.1:%d" % DOOR_SIP[1],
        FLAT2_RTP,
        pair.now,
        extra_headers=[("Replaces", replaces)],
    )
    pair.route()


def test_an_invite_with_replaces_from_an_allowed_party_takes_the_call_over():
    pair = talking_trio(open_from=[FLAT2_URI])
    replacing_call(pair, "flat2")
    incoming = door_events(pair, "incoming_call")
    assert incoming[-1]["accepted"] is True and incoming[-1]["replaces"] is True
    transferred = door_events(pair, "transferred")
    assert transferred and transferred[0]["attended"] is True
    assert pair.first("flat", "call_ended")["reason"] == "remote_hangup"


def test_an_invite_with_replaces_from_a_stranger_is_refused_and_the_call_goes_on():
    pair = talking_trio()
    replacing_call(pair, "stranger")
    incoming = door_events(pair, "incoming_call")
    assert incoming[-1]["accepted"] is False
    assert door_events(pair, "transferred") == []
    assert pair.door.state == "talking" and pair.flat.state == "talking"
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert pair.door.relay_on is True


def test_the_door_dials_its_own_entry_never_the_uri_the_phone_wrote():
    pair = talking_trio()
    spy_door(pair)
    # flat 2's identity, but another port and a maddr that would send the
    # INVITE elsewhere (and a method the door must not use)
    flat1_refers(pair, "<sip:flat2@127.0.0.1:5999;maddr=198.51.100.9;method=BYE>")
    pair.run(600)
    invites = wire_of(pair, b"INVITE sip:")
    assert len(invites) == 1
    assert invites[0].startswith(("INVITE %s SIP/2.0\r\n" % FLAT2_URI).encode())
    transferred = door_events(pair, "transferred")
    assert transferred and transferred[0]["target"] == FLAT2_URI
    assert pair.flat2.state == "talking"


def test_when_flat_1_left_and_flat_2_declines_the_visitors_call_ends():
    pair = talking_trio(flat2_answers=False)
    flat_agent = pair.flat.agent
    (call,) = [call for call in flat_agent.calls.values() if not call.ended]
    request = call.dialog_request("REFER")
    request.headers.add("Refer-To", "<%s>" % FLAT2_URI)
    call.send_in_dialog(request, pair.now)
    pair.flat.hangup(pair.now)  # its BYE leaves right behind the REFER
    pair.route()
    pair.run(600)
    assert door_events(pair, "transfer_requested")[0]["accepted"] is True
    assert door_events(pair, "transfer_failed")[0]["reason"] == "declined"
    ended = door_events(pair, "call_ended")
    assert len(ended) == 1 and ended[0]["reason"] == "remote_hangup"
    assert pair.door.state == "idle" and pair.door.media is None


def test_a_resident_who_called_the_door_transfers_it_too():
    config = door_config([FLAT2_URI], [FLAT2_URI])
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    pair = Pair(door_cfg=config, flat2_cfg=flat_config(True, "flat2", FLAT2_SIP[1]))
    pair.press(pair.flat, 600)  # flat 1 calls the door, which answers
    assert pair.first("door", "incoming_call")["accepted"] is True
    flat1_refers(pair, "<%s>" % FLAT2_URI)
    pair.run(600)
    assert door_events(pair, "transferred")[0]["target"] == FLAT2_URI
    assert pair.flat2.state == "talking" and pair.flat.state == "idle"
    pair.flat2.media.send_digits("1234")
    pair.run(1500)
    assert door_events(pair, "door_opened")[0]["caller"] == "flat2@127.0.0.1"
