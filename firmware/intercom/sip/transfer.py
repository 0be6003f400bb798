# Call transfer at the door, the transferee's side (RFC 3515 REFER, RFC
# 3891 Replaces, RFC 5589 call transfer): the party the door talks to asks
# it to call someone else and reports how that goes by NOTIFY; the app
# leaves the old call (BYE) once the new party answered. One Transfer per
# REFER; the call (call.py) reads the REFER and sends the NOTIFYs, the
# agent places the new call, which tells the transfer its outcome.
#
#   state      event                             action                             next
#   ---------- --------------------------------- ---------------------------------- --------
#   (REFER)    not exactly one Refer-To, not a   400 (read_refer)                   -
#              sip:/sips: URI, or a Replaces
#              that is not call-id;to-tag;from-tag
#              embedded headers other than one   403 (read_refer)                   -
#              Replaces (RFC 3515 2.1 lets a
#              Refer-To carry any header field;
#              the door takes Replaces alone)
#              the call is not confirmed, or     403 (call.py)                      -
#              comes from another host than the
#              call's signalling peer
#              a transfer of this call is under  491 (call.py)                      -
#              way
#   asked      the app refuses (the target is    403 / 603 (refuse)                 done
#              not in call.transfer_to, ...)
#              the app accepts (accept)          202, NOTIFY sipfrag "100 Trying"   trying
#                                                (Subscription-State active,
#                                                RFC 3515 2.4.5)
#              ... and there is no room for the  NOTIFY "503", terminated           done
#              new call (the agent's table)
#   trying     the new call is answered          NOTIFY "200 OK", terminated        done
#              the new call failed (status)      NOTIFY that status, terminated     done
#              either, the old call has ended    (no NOTIFY: no dialog to send it)  done
#              (the transferor hung up first,
#              RFC 5589 6)
#
# NOTIFYs go in the old dialog: Event: refer;id=<the REFER's CSeq> (RFC
# 3515 2.4.6), Content-Type: message/sipfrag;version=2.0 (RFC 3420), the
# new call's status line as the body. The new INVITE carries the Replaces
# of an attended transfer (RFC 3891 4; rebuilt from its call-id and tags)
# and Referred-By (RFC 3892) naming
# the referrer: the REFER's Referred-By URI when it has a SIP one, else its
# From (only the URI: nothing else a peer wrote goes into our INVITE).

from intercom.sip.grammar import SipParseError, new_params, parse_params
from intercom.sip.message import parse_cseq, parse_name_addr, reason_phrase
from intercom.sip.uri import parse_uri

ASKED = "asked"
TRYING = "trying"
DONE = "done"

SUBSCRIPTION_EXPIRES_S = 60
SIPFRAG = "message/sipfrag;version=2.0"


class Transfer:
    """One REFER of a call (see the top); call: the old call (call.py)."""

    def __init__(self, call, transaction, target, replaces, referred_by):
        self.call = call
        self.transaction = transaction
        self.target = target  # the Refer-To URI without its embedded headers
        self.replaces = replaces  # the Replaces value of an attended transfer, or None
        self.referred_by = referred_by
        self.refer_id = parse_cseq(transaction.request.headers.get("CSeq"))[0]
        self.state = ASKED

    def accept(self, now_ms):
        """202, then NOTIFY 100 Trying: the door calls the target now."""
        self._check_asked()
        self.call.respond_refer(self.transaction, 202, now_ms)
        self.state = TRYING
        self._notify(100, "active;expires=%d" % SUBSCRIPTION_EXPIRES_S, now_ms)

    def refuse(self, status, now_ms):
        self._check_asked()
        self.call.respond_refer(self.transaction, status, now_ms)
        self.state = DONE

    def on_outcome(self, status, now_ms):
        """The new call's final status: 200 when it was answered."""
        if self.state != TRYING:
            return
        self.state = DONE
        if not self.call.ended:
            self._notify(status, "terminated;reason=noresource", now_ms)

    def _check_asked(self):
        """accept() and refuse() answer the REFER once (our misuse raises)."""
        if self.state != ASKED:
            raise ValueError("transfer in call %s is %s" % (self.call.call_id, self.state))

    def _notify(self, status, subscription_state, now_ms):
        call = self.call
        request = call.dialog_request("NOTIFY")
        headers = request.headers
        headers.add("Event", "refer;id=%d" % self.refer_id)
        headers.add("Subscription-State", subscription_state)
        headers.add("Content-Type", SIPFRAG)
        request.body = ("SIP/2.0 %d %s\r\n" % (status, reason_phrase(status))).encode()
        call.send_in_dialog(request, now_ms)


def read_refer(request):
    """(target, replaces, referred_by) of a REFER, or the status to refuse
    it with (see the top: 400 malformed, 403 embedded headers we refuse)."""
    values = request.headers.get_all("Refer-To")
    if len(values) != 1:
        return 400  # RFC 3515 2.4.1: exactly one
    try:
        uri = parse_uri(parse_name_addr(values[0]).uri)
    except SipParseError:
        return 400
    if uri.scheme not in ("sip", "sips"):
        return 400
    replaces = None
    for name in uri.headers:
        if name.lower() != "replaces" or replaces is not None:
            return 403
        read = read_replaces(uri.headers[name])
        if read is None:
            return 400
        replaces = "%s;to-tag=%s;from-tag=%s" % read[:3]  # rebuilt: nothing else goes on
        if read[3]:
            replaces += ";early-only"
    uri.headers = new_params()
    return uri.to_string(), replaces, "<%s>" % _referrer(request)


def _referrer(request):
    """The URI our INVITE's Referred-By names (RFC 3892): the REFER's own
    Referred-By when it is a SIP URI (its parameters and any other text
    stay out of our INVITE), else the REFER's From."""
    value = request.headers.get("Referred-By")
    if value is not None:
        try:
            uri = parse_uri(parse_name_addr(value).uri)
        except SipParseError:
            uri = None
        if uri is not None and uri.scheme in ("sip", "sips"):
            uri.headers = new_params()
            return uri.to_string()
    return parse_name_addr(request.headers.get("From")).uri


def read_replaces(value):
    """(call_id, to_tag, from_tag, early_only) of a Replaces value (RFC
    3891 6.1), or None when it is malformed."""
    if not isinstance(value, str):
        return None
    call_id, _, rest = value.partition(";")
    call_id = call_id.strip()
    if not call_id:
        return None
    try:
        params = parse_params(rest)
    except SipParseError:
        return None
    to_tag = params.get("to-tag")
    from_tag = params.get("from-tag")
    if not to_tag or not from_tag:
        return None
    return call_id, to_tag, from_tag, "early-only" in params
