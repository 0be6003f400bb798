# Two agents (door and flat) in memory on a virtual clock: whole calls,
# what goes over the wire and which events the apps see.

from intercom.sip.flow import flow_address
from intercom.sip.message import Headers, Request, make_response, parse_message
from sip_harness import DOOR, FLAT, FLAT_URI, event, labels, pair, udp


def ring(network, door, flat):
    call_id = door.call(FLAT_URI, 40000, network.now)
    network.pump()
    return call_id


def test_door_calls_flat_answer_and_hang_up():
    network, door, flat = pair()
    call_id = ring(network, door, flat)
    incoming = event(network, FLAT, "incoming_call")
    assert incoming["call_id"] == call_id
    assert incoming["user"] == "door"
    assert incoming["from_uri"] == "sip:door@192.0.2.5"
    assert network.names(DOOR) == ["ringing"]
    network.now = 2000
    flat.answer(call_id, 50000, network.now)
    network.pump()
    assert labels(network, DOOR, FLAT) == ["INVITE", "ACK"]
    assert labels(network, FLAT, DOOR) == ["180", "200"]
    door_media = event(network, DOOR, "answered")["media"]
    assert door_media["remote_host"] == FLAT[0]
    assert door_media["remote_port"] == 50000
    assert door_media["codec"] == "PCMU"
    assert door_media["telephone_event_pt"] == 101
    flat_media = event(network, FLAT, "answered")["media"]
    assert flat_media["remote_port"] == 40000
    # ACK of a 2xx is its own transaction: a new branch (§17.1.1.3).
    sent = network.sent(DOOR, FLAT)
    invite, ack = sent[0][1], sent[1][1]
    assert ack.headers.get("CSeq") == "1 ACK"
    assert ack.uri == "sip:flat1@192.0.2.20:5062"  # the flat's Contact
    assert invite.headers.get("Via") != ack.headers.get("Via")
    network.now = 10000
    door.hangup(call_id, network.now)
    network.pump()
    assert labels(network, DOOR, FLAT)[-1] == "BYE"
    assert network.sent(DOOR, FLAT)[-1][1].headers.get("CSeq") == "2 BYE"
    assert labels(network, FLAT, DOOR)[-1] == "200"
    ended = event(network, DOOR, "call_ended")
    assert ended["reason"] == "local_hangup"
    assert ended["duration_ms"] == 8000
    assert event(network, FLAT, "call_ended")["reason"] == "remote_hangup"
    network.run_until(100000)
    assert door.transactions == {} and flat.transactions == {}
    assert door.calls == {} and flat.calls == {}
    assert door.get_timer() is None and flat.get_timer() is None
    assert door.stats.get("internal_errors", 0) == 0
    assert flat.stats.get("internal_errors", 0) == 0


def test_lost_and_duplicated_invite_rings_once():
    network, door, flat = pair()
    dropped = []

    def drop_first_invite(data, source, dest):
        if data.startswith(b"INVITE") and not dropped:
            dropped.append(data)
            return True
        return False

    network.drop = drop_first_invite
    call_id = ring(network, door, flat)
    assert network.names(FLAT) == []
    assert door.get_timer() == 500
    network.run_until(500)
    assert network.names(FLAT) == ["incoming_call"]
    # A duplicate of the INVITE (same branch) is absorbed, answered with 180.
    flat.receive_datagram(dropped[0], udp(DOOR), 600)
    network.now = 600
    network.pump()
    assert network.names(FLAT) == ["incoming_call"]
    assert labels(network, FLAT, DOOR) == ["180", "180"]
    assert flat.stats["retransmissions_in"] == 1
    flat.answer(call_id, 50000, 700)
    network.pump()
    assert "answered" in network.names(DOOR)


def test_busy_flat_reports_busy_and_the_door_acks_on_the_invite_branch():
    network, door, flat = pair()
    call_id = ring(network, door, flat)
    flat.reject(call_id, 486, network.now)
    network.pump()
    failed = event(network, DOOR, "call_failed")
    assert failed["reason"] == "busy" and failed["status"] == 486
    sent = network.sent(DOOR, FLAT)
    assert [summary[1].method for summary in sent] == ["INVITE", "ACK"]
    assert sent[1][1].headers.get("Via") == sent[0][1].headers.get("Via")
    assert event(network, FLAT, "call_ended")["reason"] == "rejected"


def test_ring_timeout_cancels_and_reports_timeout():
    network, door, flat = pair()
    call_id = door.call(FLAT_URI, 40000, 0, ring_timeout_ms=20000)
    network.run_until(19999)
    assert labels(network, DOOR, FLAT) == ["INVITE"]
    network.run_until(20000)
    assert labels(network, DOOR, FLAT) == ["INVITE", "CANCEL", "ACK"]
    assert labels(network, FLAT, DOOR) == ["180", "200", "487"]
    failed = event(network, DOOR, "call_failed")
    assert failed["call_id"] == call_id
    assert failed["reason"] == "timeout" and failed["status"] == 487
    assert event(network, FLAT, "call_ended")["reason"] == "cancelled"
    cancel = network.sent(DOOR, FLAT)[1][1]
    invite = network.sent(DOOR, FLAT)[0][1]
    assert cancel.headers.get("Via") == invite.headers.get("Via")
    assert cancel.headers.get("CSeq") == "1 CANCEL"


def test_a_2xx_crossing_the_cancel_gets_ack_then_bye():
    network, door, flat = pair()
    call_id = ring(network, door, flat)
    flat.answer(call_id, 50000, 100)
    door.hangup(call_id, 100)  # CANCEL leaves before the 200 arrives
    network.now = 100
    network.pump()
    assert labels(network, DOOR, FLAT) == ["INVITE", "CANCEL", "ACK", "BYE"]
    assert labels(network, FLAT, DOOR) == ["180", "200", "200", "200"]
    assert event(network, DOOR, "call_failed")["reason"] == "local_hangup"
    assert "answered" not in network.names(DOOR)
    assert event(network, FLAT, "call_ended")["reason"] == "remote_hangup"


def test_missing_ack_retransmits_the_2xx_then_byes_after_64_t1():
    network, door, flat = pair()
    network.drop = lambda data, source, dest: data.startswith(b"ACK")
    call_id = ring(network, door, flat)
    flat.answer(call_id, 50000, 0)
    network.run_until(40000)
    oks = [when for when, message in network.sent(FLAT, DOOR) if summary_is(message, 200, "INVITE")]
    assert oks == [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    byes = [when for when, message in network.sent(FLAT, DOOR) if summary_is(message, "BYE")]
    assert byes == [32000]
    assert event(network, FLAT, "call_ended")["reason"] == "no_ack"
    # Each retransmitted 2xx got the door's ACK again (all lost here).
    acks = [when for when, message in network.sent(DOOR, FLAT) if summary_is(message, "ACK")]
    assert acks == oks


def summary_is(message, what, method=None):
    if isinstance(what, str):
        return getattr(message, "method", None) == what
    if getattr(message, "status", None) != what:
        return False
    return method is None or message.headers.get("CSeq").endswith(method)


def test_flat_hangs_up_with_bye():
    network, door, flat = pair()
    call_id = ring(network, door, flat)
    flat.answer(call_id, 50000, 0)
    network.pump()
    network.now = 5000
    flat.hangup(call_id, network.now)
    network.pump()
    assert labels(network, FLAT, DOOR)[-1] == "BYE"
    assert event(network, DOOR, "call_ended")["reason"] == "remote_hangup"
    assert event(network, FLAT, "call_ended")["reason"] == "local_hangup"


def test_second_incoming_call_is_busy():
    network, door, flat = pair()
    ring(network, door, flat)
    door.call(FLAT_URI, 40002, network.now)
    network.pump()
    assert labels(network, FLAT, DOOR) == ["180", "486"]
    assert network.names(FLAT) == ["incoming_call"]
    assert event(network, DOOR, "call_failed")["reason"] == "busy"


def test_final_responses_map_to_reasons_the_app_can_act_on():
    expected = {404: "not_found", 480: "unavailable", 408: "timeout", 600: "busy"}
    expected[603] = "declined"
    expected[500] = "error"
    for status in sorted(expected):
        network, door, flat = pair()
        call_id = ring(network, door, flat)
        flat.reject(call_id, status, network.now)
        network.pump()
        failed = event(network, DOOR, "call_failed")
        assert (failed["status"], failed["reason"]) == (status, expected[status])


def test_unanswered_invite_times_out_with_timer_b():
    network, door, flat = pair()
    network.drop = lambda data, source, dest: True  # the flat is unreachable
    door.call(FLAT_URI, 40000, 0)
    network.run_until(60000)
    invites = [when for when, message in network.sent(DOOR, FLAT) if summary_is(message, "INVITE")]
    assert invites == [0, 500, 1500, 3500, 7500, 15500, 31500]
    failed = event(network, DOOR, "call_failed")
    assert failed["reason"] == "timeout" and failed["status"] == 408
    assert door.calls == {} and door.get_timer() is None


def response_with_sdp(invite, status, to_tag, contact, payload_type, codec):
    """status to invite (wire bytes) from contact, with an SDP answer on
    192.0.2.20:52000 offering codec as payload_type and RFC 4733 events."""
    response = make_response(invite, status, None, to_tag)
    response.headers.add("Contact", "<%s>" % contact)
    response.headers.add("Content-Type", "application/sdp")
    response.body = (
        b"v=0\r\no=- 5 5 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
        b"m=audio 52000 RTP/AVP %d 101\r\na=rtpmap:%d %s/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n" % (payload_type, payload_type, codec.encode())
    )
    return response.to_bytes()


def test_183_with_sdp_reports_early_media():
    network, door, flat = pair()
    door.call(FLAT_URI, 40000, 0)
    wire, dest = door.datagrams_to_send(0)[0]
    invite = parse_message(wire)
    progress = response_with_sdp(invite, 183, "flat9", FLAT_URI, 8, "PCMA")
    door.receive_datagram(progress, udp(FLAT), 50)
    early = door.next_event()
    assert early["event"] == "early_media"
    media = early["media"]
    assert (media["remote_host"], media["remote_port"]) == ("192.0.2.20", 52000)
    assert (media["codec"], media["payload_type"], media["telephone_event_pt"]) == ("PCMA", 8, 101)


def test_cancel_without_any_final_response_gives_up_after_64_t1():
    network, door, flat = pair()
    door.call(FLAT_URI, 40000, 0, ring_timeout_ms=10000)
    invite = parse_message(door.datagrams_to_send(0)[0][0])
    door.receive_datagram(make_response(invite, 100).to_bytes(), udp(FLAT), 20)
    assert door.get_timer() == 70  # the flat's token bucket is full again
    door.handle_timer(70)
    assert door.get_timer() == 10000  # the ring timeout; timers A/B stopped
    door.handle_timer(10000)
    [(cancel, dest)] = door.datagrams_to_send(10000)
    assert cancel.startswith(b"CANCEL sip:flat1@192.0.2.20:5062 SIP/2.0")
    # The flat answers neither the CANCEL nor the INVITE, ever.
    while door.get_timer() is not None:
        now = door.get_timer()
        door.handle_timer(now)
        door.datagrams_to_send(now)
    assert now == 10000 + 32000
    failed = door.next_event()
    assert failed["event"] == "call_failed" and failed["reason"] == "timeout"
    assert door.transactions == {} and door.calls == {}


def forked_ok(invite, to_tag, contact):
    """A 200 with SDP from one fork of a forking proxy (its own To tag)."""
    return response_with_sdp(invite, 200, to_tag, contact, 0, "PCMU")


def sent_by_door(door, now):
    return [(parse_message(wire), flow_address(flow)) for wire, flow in door.datagrams_to_send(now)]


def test_a_second_forked_2xx_gets_ack_and_bye_and_the_first_call_goes_on():
    network, door, flat = pair()
    call_id = door.call(FLAT_URI, 40000, 0)
    invite = parse_message(door.datagrams_to_send(0)[0][0])
    second_phone = "sip:flat2@192.0.2.21:5070"
    door.receive_datagram(forked_ok(invite, "fork1", FLAT_URI), udp(FLAT), 100)
    ((ack, ack_to),) = sent_by_door(door, 100)
    assert ack.method == "ACK" and "tag=fork1" in ack.headers.get("To")
    assert ack_to == FLAT
    assert door.next_event()["event"] == "answered"

    # Another phone behind the proxy answered too (§13.2.2.4).
    door.receive_datagram(forked_ok(invite, "fork2", second_phone), udp(FLAT), 150)
    out = sent_by_door(door, 150)
    assert [message.method for message, _ in out] == ["ACK", "BYE"]
    for message, dest in out:
        assert "tag=fork2" in message.headers.get("To")
        assert message.uri == second_phone
        assert dest == ("192.0.2.21", 5070)
    assert out[0][0].headers.get("CSeq") == "1 ACK"
    assert out[1][0].headers.get("CSeq") == "2 BYE"
    assert door.next_event() is None  # no second answered, no call_ended

    # Its 2xx retransmitted: the same ACK again, no second BYE.
    door.receive_datagram(forked_ok(invite, "fork2", second_phone), udp(FLAT), 650)
    again = sent_by_door(door, 650)
    assert [message.method for message, _ in again] == ["ACK"]
    assert again[0][0].headers.get("Via") == out[0][0].headers.get("Via")

    # The first phone's call is the one that goes on; hanging up ends it.
    door.hangup(call_id, 5000)
    bye = [message for message, _ in sent_by_door(door, 5000) if message.method == "BYE"]
    assert len(bye) == 1 and "tag=fork1" in bye[0].headers.get("To")


def test_a_flood_of_forked_2xx_gets_answers_for_the_first_few_only():
    # A LAN host sending 2xx with ever new To tags: each would cost an ACK,
    # a BYE transaction and a stored ACK; after MAX_REFUSED_FORKS (4) they
    # are dropped, and the call that was answered goes on.
    network, door, flat = pair()
    call_id = door.call(FLAT_URI, 40000, 0)
    invite = parse_message(door.datagrams_to_send(0)[0][0])
    door.receive_datagram(forked_ok(invite, "real", FLAT_URI), udp(FLAT), 100)
    sent_by_door(door, 100)
    assert door.next_event()["event"] == "answered"
    answered = []
    for number in range(40):
        phone = "sip:x@192.0.2.%d:5070" % (30 + number)
        door.receive_datagram(forked_ok(invite, "f%d" % number, phone), udp(FLAT), 200 + number)
        answered.append([message.method for message, _ in sent_by_door(door, 200 + number)])
    assert answered[:4] == [["ACK", "BYE"]] * 4
    assert answered[4:] == [[]] * 36
    assert len(door.transactions) <= 1 + 4  # the INVITE's and the four BYEs
    assert door.next_event() is None
    door.hangup(call_id, 5000)
    bye = [message for message, _ in sent_by_door(door, 5000) if message.method == "BYE"]
    assert len(bye) == 1 and "tag=real" in bye[0].headers.get("To")


def test_the_2xx_contact_is_the_remote_target_after_a_180_without_one():
    # A PBX's 180 (a FRITZ!Box's, relayed) made the early dialog with no
    # Contact, so its remote target is the Request-URI (a name the core
    # cannot send to). The 2xx's Contact replaces it (RFC 3261 12.2.1.2,
    # 13.2.2.4): the ACK and the BYE go there.
    network, door, flat = pair()
    call_id = door.call(FLAT_URI, 40000, 0)
    invite = parse_message(door.datagrams_to_send(0)[0][0])
    door.receive_datagram(make_response(invite, 180, None, "pbx1").to_bytes(), udp(FLAT), 50)
    phone = "sip:flat1@192.0.2.21:5070"
    door.receive_datagram(forked_ok(invite, "pbx1", phone), udp(FLAT), 100)
    ((ack, ack_to),) = sent_by_door(door, 100)
    assert (ack.method, ack.uri, ack_to) == ("ACK", phone, ("192.0.2.21", 5070))
    door.hangup(call_id, 2000)
    [(bye, bye_to)] = sent_by_door(door, 2000)
    assert (bye.method, bye.uri, bye_to) == ("BYE", phone, ("192.0.2.21", 5070))


def delayed_offer_answered(answer_body):
    """The flat calls the door with an INVITE without SDP (delayed offer);
    the door answers; the flat ACKs with answer_body. Returns (door, the
    door's 200, what the door sent after the ACK, the door's events)."""
    network, door, flat = pair()
    flat.call("sip:door@192.0.2.5:5060", 50000, 0)
    invite = parse_message(flat.datagrams_to_send(0)[0][0])
    invite.body = b""
    invite.headers.remove("Content-Type")
    door.receive_datagram(invite.to_bytes(), udp(FLAT), 10)
    incoming = door.next_event()
    assert incoming["event"] == "incoming_call" and incoming["media"] is None
    door.answer(incoming["call_id"], 40000, 20)
    ok = [message for message, _ in sent_by_door(door, 20) if message.status == 200][0]
    ack = Request("ACK", "sip:door@192.0.2.5:5060", Headers(), answer_body)
    ack.headers.add("Via", "SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKdelayedack")
    for name in ("From", "To", "Call-ID"):
        ack.headers.add(name, ok.headers.get(name))
    ack.headers.add("CSeq", "1 ACK")
    if answer_body:
        ack.headers.add("Content-Type", "application/sdp")
    door.receive_datagram(ack.to_bytes(), udp(FLAT), 40)
    after = sent_by_door(door, 40)
    seen = []
    while True:
        item = door.next_event()
        if item is None:
            return door, ok, after, seen
        seen.append(item)


def test_an_invite_without_sdp_gets_our_offer_and_the_ack_brings_the_answer():
    answer = (
        b"v=0\r\no=- 9 9 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
        b"m=audio 52000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
    )
    door, ok, after, seen = delayed_offer_answered(answer)
    # RFC 3264 §4: with no offer in the INVITE, the 2xx carries ours.
    assert ok.headers.get("Content-Type") == "application/sdp"
    assert b"m=audio 40000 RTP/AVP" in ok.body
    assert after == []
    assert [item["event"] for item in seen] == ["answered"]
    media = seen[0]["media"]
    assert (media["remote_host"], media["remote_port"]) == ("192.0.2.20", 52000)
    assert (media["codec"], media["telephone_event_pt"]) == ("PCMA", 101)


def test_an_ack_without_the_answer_to_our_offer_ends_the_call_with_bye():
    door, ok, after, seen = delayed_offer_answered(b"")
    assert b"m=audio 40000 RTP/AVP" in ok.body
    assert [message.method for message, _ in after] == ["BYE"]
    assert after[0][1] == FLAT
    assert "answered" not in [item["event"] for item in seen]
