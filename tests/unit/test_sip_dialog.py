# Dialogs (RFC 3261 §12): route sets, targets, tags and CSeq numbering.

from intercom.sip.dialog import dialog_from_uac, dialog_from_uas
from intercom.sip.flow import UDP, flow_address, uri_flow
from intercom.sip.message import make_response, parse_message


def invite(extra=""):
    text = (
        "INVITE sip:flat1@example.org SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKd1;rport\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Door" <sip:door@example.org>;tag=door1\r\n'
        "To: <sip:flat1@example.org>\r\n"
        "Call-ID: dialog-1\r\n"
        "CSeq: 7 INVITE\r\n"
        "Contact: <sip:door@192.0.2.5:5060>\r\n"
        "%s"
        "Content-Length: 0\r\n\r\n" % extra
    )
    return parse_message(text.encode())


def ok_with_record_route(request):
    response = make_response(request, 200, None, "flat9")
    response.headers.add("Record-Route", "<sip:p2.example.org;lr>, <sip:p1.example.org;lr>")
    response.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    return response


def test_uac_route_set_is_the_record_route_reversed():
    request = invite()
    dialog = dialog_from_uac(request, ok_with_record_route(request))
    assert dialog.id == ("dialog-1", "door1", "flat9")
    assert dialog.route_set == ["<sip:p1.example.org;lr>", "<sip:p2.example.org;lr>"]
    assert dialog.remote_target == "sip:flat1@192.0.2.20:5062"
    bye = dialog.create_request("BYE")
    assert bye.uri == "sip:flat1@192.0.2.20:5062"  # loose routing: the target
    assert bye.headers.get_all("Route") == [
        "<sip:p1.example.org;lr>",
        "<sip:p2.example.org;lr>",
    ]
    assert bye.headers.get("CSeq") == "8 BYE"
    assert bye.headers.get("From") == '"Door" <sip:door@example.org>;tag=door1'
    assert bye.headers.get("To") == "<sip:flat1@example.org>;tag=flat9"
    assert flow_address(uri_flow(dialog.next_hop(), UDP)) == ("p1.example.org", 5060)
    assert dialog.create_request("INFO").headers.get("CSeq") == "9 INFO"
    assert dialog.create_request("ACK", 7).headers.get("CSeq") == "7 ACK"


def test_without_record_route_requests_go_to_the_contact():
    request = invite()
    response = make_response(request, 200, None, "flat9")
    response.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    dialog = dialog_from_uac(request, response)
    bye = dialog.create_request("BYE")
    assert bye.headers.get("Route") is None
    assert flow_address(uri_flow(dialog.next_hop(), UDP)) == ("192.0.2.20", 5062)


def test_strict_router_becomes_the_request_uri():
    request = invite()
    response = make_response(request, 200, None, "flat9")
    response.headers.add("Record-Route", "<sip:strict.example.org>")
    response.headers.add("Contact", "<sip:flat1@192.0.2.20:5062>")
    dialog = dialog_from_uac(request, response)
    bye = dialog.create_request("BYE")
    assert bye.uri == "sip:strict.example.org"
    assert bye.headers.get_all("Route") == ["<sip:flat1@192.0.2.20:5062>"]


def test_uas_keeps_record_route_order_and_checks_cseq():
    request = invite("Record-Route: <sip:p1.example.org;lr>, <sip:p2.example.org;lr>\r\n")
    dialog = dialog_from_uas(request, "door-side")
    assert dialog.id == ("dialog-1", "door-side", "door1")
    assert dialog.route_set == ["<sip:p1.example.org;lr>", "<sip:p2.example.org;lr>"]
    assert dialog.remote_target == "sip:door@192.0.2.5:5060"
    bye = dialog.create_request("BYE")
    assert bye.headers.get("From") == "<sip:flat1@example.org>;tag=door-side"
    assert bye.headers.get("To") == '"Door" <sip:door@example.org>;tag=door1'
    assert bye.headers.get("CSeq") == "1 BYE"
    old = parse_message(
        invite()
        .to_bytes()
        .replace(b"CSeq: 7 INVITE", b"CSeq: 7 INFO")
        .replace(b"INVITE sip", b"INFO sip")
    )
    assert dialog.accept_request(old) is False  # not above 7: out of order
    newer = parse_message(
        invite()
        .to_bytes()
        .replace(b"CSeq: 7 INVITE", b"CSeq: 8 INFO")
        .replace(b"INVITE sip", b"INFO sip")
    )
    assert dialog.accept_request(newer) is True
    assert dialog.remote_seq == 8


def test_re_invite_refreshes_the_remote_target():
    dialog = dialog_from_uas(invite(), "door-side")
    refresh = parse_message(
        invite()
        .to_bytes()
        .replace(b"CSeq: 7", b"CSeq: 9")
        .replace(b"192.0.2.5:5060>", b"192.0.2.6:5070>")
    )
    assert dialog.accept_request(refresh)
    assert dialog.remote_target == "sip:door@192.0.2.6:5070"
    assert flow_address(uri_flow(dialog.next_hop(), UDP)) == ("192.0.2.6", 5070)
