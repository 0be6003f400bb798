# A FRITZ!Box may answer an INVITE the door already CANCELled with 200
# (the phone was picked up as the CANCEL came) instead of 487, while the
# door rings the next number. The door ACKs that stale 200 and ends it
# with BYE (RFC 3261 15), and never takes it for the answer to the next
# INVITE: the call is answered by the next number.

import pytest
from intercom.sip.message import parse_name_addr
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def test_a_200_after_cancel_is_acked_and_byed_and_the_next_number_answers(tmp_path, owned):
    box = owned(FritzBox(answer={"**610": "never", "**620": "answer"}, stale_200=True)).start()
    door = fritzbox_door(
        owned, tmp_path / "door", box, targets=["**610", "**620"], call={"ring_timeout": 5}
    )
    door.send("press")
    answered = door.wait_for("answered", timeout=20)
    assert answered["target"] == "**620"
    first_call = box.requests("INVITE")[0][0].headers.get("Call-ID")
    box.wait(
        lambda: [r for r, _ in box.requests("BYE") if r.headers.get("Call-ID") == first_call],
        what="BYE for the stale 200",
    )
    stale = [
        message
        for message, _ in box.sent
        if getattr(message, "status", None) == 200
        and message.headers.get("CSeq").endswith("INVITE")
        and message.headers.get("Call-ID") == first_call
    ]
    assert stale, "the box sent no 200 for the cancelled INVITE"
    to_tag = parse_name_addr(stale[0].headers.get("To")).tag
    acks = [r for r, _ in box.requests("ACK") if r.headers.get("Call-ID") == first_call]
    assert any(parse_name_addr(ack.headers.get("To")).tag == to_tag for ack in acks)
    assert [r.uri for r, _ in box.requests("CANCEL")] == ["sip:**610@fritz.box"]
    assert door.names().count("answered") == 1
    door.send("hangup")
    assert door.wait_for("call_ended", timeout=10)["reason"] == "local_hangup"
