# A FRITZ!Box challenges the door's INVITE with 401 and drops an
# authenticated INVITE that reuses the challenged transaction's branch
# (it takes it for a retransmission). The door ACKs the 401 on the
# challenged INVITE's branch (RFC 3261 17.1.1.3) and sends the credentials
# in a new transaction: new branch, CSeq + 1, same Call-ID and From tag
# (RFC 3261 22.2). The call to **610 (a FRITZ!Fon) is answered.

import pytest
from intercom.sip.message import parse_cseq, parse_name_addr, parse_via
from support.fritzbox import FritzBox, fritzbox_door

pytestmark = pytest.mark.integration


def _branch(request):
    return parse_via(request.headers.get("Via")).branch


def _from_tag(request):
    return parse_name_addr(request.headers.get("From")).tag


def test_the_retry_is_a_new_transaction_and_the_401_is_acked_on_the_old_branch(tmp_path, owned):
    box = owned(FritzBox()).start()
    door = fritzbox_door(owned, tmp_path / "door", box)
    door.send("press")
    door.wait_for("answered", timeout=10)
    invites = [request for request, _ in box.requests("INVITE")]
    first, retry = invites[0], invites[-1]
    assert first.headers.get("Authorization") is None
    assert retry.headers.get("Authorization") is not None
    first_number = parse_cseq(first.headers.get("CSeq"))[0]
    assert _branch(retry) != _branch(first)
    assert parse_cseq(retry.headers.get("CSeq")) == (first_number + 1, "INVITE")
    assert retry.headers.get("Call-ID") == first.headers.get("Call-ID")
    assert _from_tag(retry) == _from_tag(first)
    ack_401 = [request for request, _ in box.requests("ACK")][0]
    assert _branch(ack_401) == _branch(first)
    assert ack_401.headers.get("CSeq") == "%d ACK" % first_number
    assert box.dropped == []
    door.send("hangup")
    assert door.wait_for("call_ended")["reason"] == "local_hangup"
    box.wait_request("BYE")
