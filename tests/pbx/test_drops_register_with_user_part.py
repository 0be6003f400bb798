# A FRITZ!Box drops a REGISTER whose Request-URI carries a user part
# (sip:620@fritz.box) without any answer: the door registers with the
# Request-URI sip:domain (RFC 3261 10.2: "the user name MUST be empty").

import socket

import pytest
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def test_the_door_registers_with_sip_domain_and_the_box_answers(tmp_path, owned):
    box = owned(FritzBox()).start()
    door = fritzbox_door(owned, tmp_path / "door", box)
    registers = [request for request, _ in box.requests("REGISTER")]
    assert [request.uri for request in registers] == ["sip:fritz.box", "sip:fritz.box"]
    assert registers[0].headers.get("To") == "<sip:620@fritz.box>"
    assert box.dropped == []
    assert door.names().count("registered") == 1
    assert box.contact.startswith("sip:620@127.0.0.1:"), box.contact


def test_the_box_gives_a_register_with_a_user_part_no_answer(owned):
    box = owned(FritzBox()).start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone:
        phone.bind(("127.0.0.1", 0))
        port = phone.getsockname()[1]
        phone.sendto(
            (
                "REGISTER sip:620@fritz.box SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKuser1\r\n"
                "From: <sip:620@fritz.box>;tag=a1\r\nTo: <sip:620@fritz.box>\r\n"
                "Call-ID: user-part@127.0.0.1\r\nCSeq: 1 REGISTER\r\n"
                "Contact: <sip:620@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n" % (port, port)
            ).encode(),
            box.address,
        )
        box.wait(lambda: box.dropped, what="the drop")
        phone.settimeout(0.5)
        with pytest.raises(TimeoutError):
            phone.recv(4096)
    assert box.dropped[0][0] == "REGISTER Request-URI with a user part"
