# Call diagnosis on the whole door: every call_ended carries its reason from
# the closed set of intercom.events and the media summary of the call's
# session (codec, packet time, DTMF method, packets both ways, where the
# phone's audio came from, the verdict ok / no_rx / no_tx / one_way); the
# media timeout (call.media_timeout) never fires while the call is held and
# counts its silence from the end of a hold.

from intercom.sip.message import Headers, Request
from station_harness import FLAT_RTP, Pair, door_config, flat_config, tone_frame

PRIVATE_PORT = FLAT_RTP + 100  # what a flat behind NAT names; nobody listens there


def talking(config=None, rewrite_flat=None, flat_hears=True):
    flat = flat_config()
    flat["call"]["media_timeout"] = 0  # the flat itself never hangs up
    pair = Pair(door_cfg=config or door_config(), flat_cfg=flat)
    if rewrite_flat is not None:
        pair.rewrite_sip("flat", rewrite_flat)
    if not flat_hears:
        pair.flat.receive_rtp = lambda data, addr, now_ms: None  # lost on the way
    pair.flat_mic = tone_frame(320)
    pair.press(pair.door, 1000)
    assert pair.door.state == "talking"
    return pair


def hang_up(pair):
    pair.door.hangup(pair.now)
    pair.route()
    pair.run(200)
    return pair.first("door", "call_ended")


def sdp_rewrite(old, new):
    def rewrite(message):
        if message.body:
            message.body = message.body.replace(old, new)

    return rewrite


def behind_nat():
    return sdp_rewrite(b"m=audio %d " % FLAT_RTP, b"m=audio %d " % PRIVATE_PORT)


def test_a_good_call_ends_with_its_media_summary():
    pair = talking()
    pair.flat.media.send_digits("5")
    pair.run(12000)  # the flat's RTCP reports count the door's packets
    ended = hang_up(pair)
    assert (ended["reason"], ended["detail"], ended["sip_code"]) == ("local_hangup", "hangup", None)
    media = ended["media"]
    assert media["codec"] == "PCMU" and media["ptime"] == 20
    assert media["telephone_event"] is True and media["dtmf"] == "rfc4733"
    assert media["packets_sent"] >= 500 and media["packets_received"] >= 500
    assert media["sdp_address"] == "127.0.0.1:%d" % FLAT_RTP
    assert media["rx_from"] == "sdp" and media["stray_address"] is None
    assert media["stray_packets"] == 0
    assert media["phone_reports"] >= 2 and media["phone_heard_us"] is True
    assert media["audio"] == "ok"


def test_a_call_nobody_answered_has_no_media_summary():
    pair = Pair(flat_cfg=flat_config(answer=False))
    pair.press(pair.door, 1000)
    ended = pair.first("door", "call_ended")
    assert ended["reason"] == "refused" and ended["media"] is None


def test_a_phone_behind_nat_is_named_no_rx_with_the_address_its_audio_came_from():
    # Its SDP names PRIVATE_PORT, its RTP comes from FLAT_RTP (the NAT's
    # mapping): the door drops that audio and sends where nobody listens.
    pair = talking(rewrite_flat=behind_nat())
    pair.run(3000)
    media = hang_up(pair)["media"]
    assert media["audio"] == "no_rx" and media["packets_received"] == 0
    assert media["rx_from"] == "elsewhere"
    assert media["sdp_address"] == "127.0.0.1:%d" % PRIVATE_PORT
    assert media["stray_address"] == "127.0.0.1:%d" % FLAT_RTP
    assert media["stray_packets"] >= 100


def test_with_symmetric_rtp_the_same_phone_is_latched_and_ok():
    config = door_config()
    config["audio"]["symmetric_rtp"] = True
    pair = talking(config, rewrite_flat=behind_nat())
    pair.run(12000)
    media = hang_up(pair)["media"]
    assert media["rx_from"] == "latched" and media["audio"] == "ok"
    assert media["phone_heard_us"] is True


def test_a_phone_whose_reports_never_count_the_door_is_one_way():
    pair = talking(flat_hears=False)
    pair.run(15000)
    media = hang_up(pair)["media"]
    assert media["packets_received"] >= 500 and media["packets_sent"] >= 500
    assert media["phone_reports"] >= 2 and media["phone_heard_us"] is False
    assert media["audio"] == "one_way"


def test_a_door_held_throughout_is_no_tx():
    # The flat answers a=sendonly: it sends, the door may not.
    pair = talking(rewrite_flat=sdp_rewrite(b"a=sendrecv", b"a=sendonly"))
    pair.run(2000)
    media = hang_up(pair)["media"]
    assert media["packets_sent"] == 0 and media["packets_received"] >= 50
    assert media["audio"] == "no_tx"


def test_digits_by_sip_info_are_the_dtmf_method_and_a_phone_without_telephone_event_says_so():
    pair = talking(rewrite_flat=sdp_rewrite(b" 101\r\n", b"\r\n"))
    pair.flat_sends_info("5", 140)
    pair.run(500)
    media = hang_up(pair)["media"]
    assert media["telephone_event"] is False and media["dtmf"] == "info"


def test_a_call_without_digits_says_none():
    pair = talking()
    pair.run(500)
    assert hang_up(pair)["media"]["dtmf"] == "none"


# -- the media timeout ---------------------------------------------------------------


def reinvite(pair, direction):
    """The flat re-INVITEs with its SDP at `direction` and ACKs the 2xx."""
    agent = pair.flat.agent
    call = list(agent.calls.values())[0]
    dialog = call.dialog
    request = dialog.create_request("INVITE")
    headers = Headers()
    for name, value in request.headers.items():
        headers.add(name, value)
    headers.add("Contact", "<sip:flat1@127.0.0.1:5064>")
    headers.add("Content-Type", "application/sdp")
    body = call.local_sdp.replace(b"a=sendrecv", b"a=" + direction.encode())
    context = agent.context
    flow = context.dialog_flow(dialog, call.transport)
    context.send_request(Request("INVITE", request.uri, headers, body), flow, pair.now, None)
    pair.route()
    cseq = int(request.headers.get("CSeq").split()[0])
    context.send_stateless(dialog.create_request("ACK", cseq), flow)
    pair.route()


def flat_sends(pair, on):
    """Whether the flat's RTP leaves it (a phone on hold may send nothing)."""
    station = pair.flat
    if on:
        station.__dict__.pop("rtp_datagrams", None)
    else:
        original = type(station).rtp_datagrams

        def nothing():
            original(station)
            return []

        station.rtp_datagrams = nothing


def long_calls():
    config = door_config()
    config["call"]["max_duration"] = 600
    return config


def test_a_silent_hold_by_sendonly_never_times_the_call_out():
    pair = talking(long_calls())
    reinvite(pair, "sendonly")
    assert pair.door.media.rtp_address == ("127.0.0.1", FLAT_RTP)
    flat_sends(pair, False)
    pair.run(90000)  # three media timeouts on hold, nothing from the flat
    assert pair.door.state == "talking" and pair.first("door", "call_ended") is None


def test_after_a_long_hold_the_silence_counts_from_the_resume():
    pair = talking(long_calls())
    reinvite(pair, "inactive")
    flat_sends(pair, False)
    pair.run(60000)
    assert pair.door.state == "talking"
    reinvite(pair, "sendrecv")  # resumed, and still silent: 30 s from here
    pair.run(29000)
    assert pair.door.state == "talking" and pair.first("door", "call_ended") is None
    pair.run(2000)
    ended = pair.first("door", "call_ended")
    assert ended["reason"] == "rtp_timeout" and ended["media"]["audio"] == "ok"


def silent_flat(media_timeout):
    """A talking pair with call.media_timeout set, the flat sending nothing."""
    config = long_calls()
    config["call"]["media_timeout"] = media_timeout
    pair = talking(config)
    flat_sends(pair, False)
    return pair


def test_the_media_timeout_is_configurable_and_zero_turns_it_off():
    pair = silent_flat(8)
    pair.run(7500)
    assert pair.door.state == "talking"
    pair.run(1000)
    assert pair.first("door", "call_ended")["reason"] == "rtp_timeout"
    pair = silent_flat(0)
    pair.run(50000)
    assert pair.door.state == "talking"
