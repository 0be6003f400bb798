# One INVITE session (RFC 3261 §13-15), outgoing or incoming, on top of the
# transactions and the dialog. The agent routes messages here; this file
# decides what the call does with them, and acts through its session
# context (context.py): it owns its transactions as the registration does
# (on_response(transaction, response, now_ms), on_transaction_timeout(
# transaction, now_ms)) and answers challenges through credentials.py.
#
#   outgoing                event                      action / event            next
#   ----------------------- -------------------------- ------------------------- ----------
#   calling, early          1xx                        ringing / early_media     early
#                           reliable 18x (100rel), the PRACK (RFC 3262), then    early
#                           next RSeq or the first     ringing / early_media
#                           reliable 18x again         nothing                   early
#                           2xx                        ACK, answered (its        confirmed
#                                                      Contact and Record-Route
#                                                      are the dialog's, §13.2.2.4)
#   calling, hangup() done  2xx (no 1xx came, so the   ACK, BYE, call_failed     ending
#   (CANCEL waits for a 1xx) CANCEL never left)
#                           401/407 from our server    INVITE again, credentials calling
#                           422 with Min-SE (once)     INVITE again, that SE     calling
#                           300-699                    call_failed               ended
#                           INVITE timeout (B)         call_failed timeout       ended
#                           INVITE's connection fails  call_failed unavailable   ended
#                           (§8.1.3.1: as a 503)
#                           ring timeout, hangup()     CANCEL (after a 1xx,      cancelling
#                                                      §9.1)
#   cancelling              487 (or other final)       call_failed               ended
#                           2xx (crossed the CANCEL)   ACK, BYE                  ending
#   (any of the above)      1xx/2xx whose SDP names    no early media; for a 2xx
#                           another host than the      ACK, BYE (bad_sdp)
#                           peer's (peer-to-peer)
#   after our first ACK     2xx, another To tag (fork) ACK it, BYE its dialog   unchanged
#   confirmed               BYE from peer              200, call_ended remote    ended
#                           hangup()                   BYE                       ending
#                           re-INVITE                  200 with our SDP,         confirmed
#                                                      media_updated
#                           UPDATE with SDP / without  200 with our SDP,         confirmed
#                                                      media_updated / 200
#                           INFO dtmf                  200, dtmf                 confirmed
#                           refresh due (we refresh)   UPDATE if the peer allows confirmed
#                                                      it, else re-INVITE + SDP
#                           2xx to our refresh         (re-INVITE: ACK; moved    confirmed
#                                                      media: media_updated)
#                           our refresh: 408, 481, no  BYE session_expired       ending
#                           answer
#                           expiry (the peer refreshes BYE session_expired       ending
#                           and did not)
#   (any with a dialog)     re-INVITE/UPDATE with a    422 with Min-SE           unchanged
#                           Session-Expires too small
#                           UPDATE with SDP, offered   500 + Retry-After         offered
#                           (INVITE not answered yet)
#                           UPDATE with SDP while our  491                       unchanged
#                           offer or refresh is open
#                           REFER (transfer.py)        202 and NOTIFYs, or 4xx/  confirmed
#                                                      6xx; transfer_requested
#   ending                  BYE final / timeout        call_ended                ended
#
#   incoming                event                      action / event            next
#   ----------------------- -------------------------- ------------------------- ----------
#   (INVITE)                SDP we cannot use, or c=   400/488                   ended
#                           another host than the
#                           source (peer-to-peer)
#                           Session-Expires too small  422 with Min-SE           ended
#   offered                 (created)                  180, incoming_call        offered
#                           (INVITE requires 100rel)   180 reliably until its
#                                                      PRACK (reliable.py)
#                           PRACK naming our 180       200                       offered
#                           PRACK naming nothing       481                       offered
#                           no PRACK in 64*T1          504, call_ended no_prack  ended
#                           answer()                   200 + SDP, retransmit     accepted
#                           reject(code)               code, call_ended          ended
#                           CANCEL                     200, 487, call_ended      ended
#   accepted                ACK                        answered                  confirmed
#                           ACK, delayed offer: no     BYE bad_sdp               ending
#                           usable answer in it
#                           64*T1 without ACK          BYE (§13.3.1.4)           ending
#   accepted, confirmed     BYE from peer              200, call_ended remote    ended
#
# 2xx retransmission (§13.3.1.4): the UAS core resends its 2xx at T1,
# doubling up to T2, until the ACK arrives, and gives up after 64*T1.
# A 2xx retransmitted by the peer gets the same ACK again (§13.2.2.4).
#
# Transport: a call keeps the transport its INVITE came or went on (flow.py);
# in-dialog requests and the ACK go to the dialog's next hop over that hop's
# transport parameter, else over the call's; the Contact names it.
#
# SRTP keys (RFC 4568): with settings.srtp other than "off", the call draws
# its own master keys once, one per suite of sdes.SUITES, and offers or
# answers with them (intercom.sdp has the rules); a re-INVITE's answer
# keeps them (§7.1.4 lets the answerer keep its key), so our SRTP stream
# goes on unchanged. An offer without SRTP gets 488 from a door whose
# audio.srtp is mandatory. Keys only cross a transport of
# settings.secure_transports (TLS): a call over UDP or TCP (a forged
# INVITE over UDP, a target URI with ;transport=udp) carries none: with
# mandatory its INVITE gets 488, and our offer is RTP/SAVP without a key,
# which no answer can satisfy; with optional it is plain RTP.
#
# Session timers (RFC 4028): session_timer.py keeps the interval, who
# refreshes and what is due; the call sends the refreshes and the BYE.
#
# Transfer (RFC 3515, transfer.py): a REFER in the dialog becomes the call's
# Transfer (one at a time: another gets 491) and a transfer_requested event;
# the app accepts or refuses it through the agent. The call sends the
# transfer's NOTIFYs. A call the door places for a transfer (transfer_of)
# tells that transfer its final status: 200 when answered, else the
# failure's.
#
# Forking (§13.2.2.4, §19.3): behind a forking proxy a second phone can
# answer before the proxy's CANCEL reaches it; its 2xx carries another To
# tag, so another dialog. We keep the first dialog, ACK the other 2xx and
# end its dialog with BYE (§15); a retransmission of it gets its ACK again.

from intercom.compat import ticks_add, ticks_diff
from intercom.sdes import MASTER_BYTES, SUITES
from intercom.sdp import SdpError
from intercom.sip import media_session
from intercom.sip.dialog import dialog_from_uac, dialog_from_uas
from intercom.sip.message import Headers, Request, make_response, parse_cseq, parse_name_addr
from intercom.sip.reliable import (
    DONE,
    GIVE_UP,
    RETRANSMIT,
    ReliableRinging,
    new_rseq,
    prack_request,
    rseq_of,
    wants_reliable,
)
from intercom.sip.session_timer import EXPIRE, MIN_SE_S, REFRESH, SessionTimer, has_option
from intercom.sip.timers import earliest, is_due
from intercom.sip.transfer import ASKED, TRYING, Transfer, read_refer

CALLING = "calling"
EARLY = "early"
CANCELLING = "cancelling"
OFFERED = "offered"
ACCEPTED = "accepted"
CONFIRMED = "confirmed"
ENDING = "ending"
ENDED = "ended"

# Final responses to our INVITE, as the reason the app sees in call_failed.
FAILURE_REASONS = {
    403: "declined",
    404: "not_found",
    408: "timeout",
    480: "unavailable",
    486: "busy",
    487: "cancelled",
    600: "busy",
    603: "declined",
    604: "not_found",
}

# Forked 2xx we ACK and BYE per call; more are dropped (memory stays bounded).
MAX_REFUSED_FORKS = 4
DTMF_CONTENT_TYPES = ("application/dtmf-relay", "application/dtmf")


class Call:
    """An INVITE session; build with outgoing_call() or incoming_call()."""

    def __init__(self, context, call_id, outgoing, local_rtp):
        self.context = context
        self.call_id = call_id
        self.outgoing = outgoing
        self.local_rtp = local_rtp
        self.state = CALLING if outgoing else OFFERED
        self.dialog = None
        self.invite_transaction = None
        self.invite_request = None
        self.media = None
        self.target = None
        self.session_id = context.random_number()
        self.session_version = 0
        self.local_sdp = None
        self.masters = ()  # our SRTP master keys, drawn with the first SDP
        self.media_host = None  # set peer-to-peer: the host every c= must name
        self.transport = None  # the dialog's: its INVITE's flow's (flow.py)
        self.offer_in_ok = False  # incoming INVITE without SDP: we offer in the 2xx
        self.authenticated = False
        self.cancel_wanted = None
        self.ring_timeout_at = None
        self.ack_wire = None
        self.ack_flow = None
        self.forked_acks = {}  # To tag of a refused fork's 2xx -> (ACK wire, flow)
        self.ok_wire = None
        self.ok_flow = None
        self.ok_interval = 0
        self.ok_retransmit_at = None
        self.ok_give_up_at = None
        self.ended_reason = None
        self.reported = False
        self.give_up_at = None
        self.answered_ms = None
        self.timer = SessionTimer(context.settings.session_expires_s)  # RFC 4028
        self.peer_allows_update = False  # its Allow (INVITE or 2xx) names UPDATE
        self.refresh_transaction = None  # our last re-INVITE or UPDATE (a refresh)
        self.refreshing = False  # ...and it has no final response yet
        self.ringing = None  # our reliable 180 (RFC 3262, reliable.py)
        self.last_rseq = None  # the RSeq of the peer's last reliable 18x we PRACKed
        self.transfer = None  # the Transfer a REFER in this call asked for
        self.transfer_of = None  # the Transfer this call was placed for

    @property
    def ended(self):
        return self.state == ENDED

    # -- outgoing ---------------------------------------------------------

    def start_outgoing(
        self,
        target_uri,
        flow,
        ring_timeout_ms,
        now_ms,
        display_name=None,
        alert_info=None,
        extra_headers=(),
    ):
        """extra_headers: (name, value) pairs more, such as a transfer's
        Replaces and Referred-By."""
        self.target = target_uri
        self.transport = flow[0]
        context = self.context
        headers = Headers()
        headers.add("Max-Forwards", "70")
        headers.add("From", "%s;tag=%s" % (context.local_identity(display_name), context.new_tag()))
        headers.add("To", "<%s>" % target_uri)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", "1 INVITE")
        headers.add("Contact", context.contact_value(self.transport))
        if alert_info:
            headers.add("Alert-Info", alert_info)  # RFC 3261 20.4
        for name, value in extra_headers:
            headers.add(name, value)
        context.add_capabilities(headers)
        self.timer.add_offer(headers)
        headers.add("Content-Type", "application/sdp")
        self.invite_request = Request("INVITE", target_uri, headers, self._make_offer())
        self.invite_transaction = context.send_request(self.invite_request, flow, now_ms, self)
        if ring_timeout_ms:
            self.ring_timeout_at = ticks_add(now_ms, ring_timeout_ms)

    def hangup(self, now_ms, reason="local_hangup"):
        """App hangup: CANCEL before the answer, BYE after, reject if offered."""
        if self.state in (CALLING, EARLY):
            self._cancel(reason, now_ms)
        elif self.state == OFFERED:
            self.reject(603, now_ms, reason)
        elif self.state in (ACCEPTED, CONFIRMED):
            self._send_bye(now_ms, reason)

    def _cancel(self, reason, now_ms):
        self.ring_timeout_at = None
        self.cancel_wanted = reason
        if self.state == EARLY:
            self._send_cancel(now_ms)
        # In `calling`, the CANCEL waits for the first provisional (§9.1).

    def _send_cancel(self, now_ms):
        transaction = self._invite()
        invite = transaction.request
        headers = Headers()
        headers.add("Via", invite.headers.get("Via"))
        for route in invite.headers.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            headers.add(name, invite.headers.get(name))
        number = self._invite_cseq()
        headers.add("CSeq", "%d CANCEL" % number)
        cancel = Request("CANCEL", invite.uri, headers)
        self.context.send_request(cancel, transaction.flow, now_ms, self)
        self.state = CANCELLING
        # No final response 64*T1 after the CANCEL: give up (§9.1).
        self.give_up_at = ticks_add(now_ms, self.context.timers.transaction_timeout)

    def _invite_cseq(self):
        return parse_cseq(self._invite().request.headers.get("CSeq"))[0]

    def _invite(self):
        """The INVITE transaction, which every started call has."""
        transaction = self.invite_transaction
        if transaction is None:
            raise ValueError("call %s has not started" % self.call_id)
        return transaction

    def _dialog(self):
        """The dialog of a call in a state that has one (our misuse raises)."""
        dialog = self.dialog
        if dialog is None:
            raise ValueError("call %s has no dialog in state %s" % (self.call_id, self.state))
        return dialog

    def on_response(self, transaction, response, now_ms):
        method = transaction.method
        if transaction is self.refresh_transaction:
            self._refresh_response(transaction, response, now_ms)
        elif method == "INVITE":
            if transaction is self.invite_transaction:
                self._invite_response(transaction, response, now_ms)
            elif 200 <= response.status < 300 and self.ack_wire is not None:
                self.context.send(self.ack_wire, self.ack_flow)
        elif method == "BYE" and response.status >= 200 and self.state == ENDING:
            self._end(now_ms)

    def _invite_response(self, transaction, response, now_ms):
        status = response.status
        if 200 <= status < 300:
            self._invite_accepted(transaction, response, now_ms)
            return
        if status < 200:
            self._provisional(transaction, response, now_ms)
            return
        if status in (401, 407) and self.state in (CALLING, EARLY):
            if not self.authenticated and self._retry_with_credentials(
                transaction, response, now_ms
            ):
                return
            self._fail(status, response.reason, "auth", now_ms)
            return
        if status == 422 and self.state in (CALLING, EARLY) and self.timer.on_too_small(response):
            self._invite_again(transaction, now_ms)  # RFC 4028 7.4: a larger interval
            return
        if self.state == CANCELLING:
            self._fail(status, response.reason, self.cancel_wanted, now_ms)
            return
        if 300 <= status < 400:
            reason = "redirect"  # never followed: a redirect can point anywhere
        else:
            reason = FAILURE_REASONS.get(status, "error")
        self._fail(status, response.reason, reason, now_ms)

    def _provisional(self, transaction, response, now_ms):
        """A 1xx to our INVITE: the early dialog, ringing, early media."""
        status = response.status
        if self.state not in (CALLING, EARLY, CANCELLING):
            return
        if status > 100 and self.dialog is None and parse_name_addr(response.headers.get("To")).tag:
            self.dialog = dialog_from_uac(transaction.request, response)
        if self.state == CALLING:
            self.state = EARLY
            if self.cancel_wanted:
                self._send_cancel(now_ms)
                return
        if status > 100 and not self._acknowledge_reliable(transaction, response, now_ms):
            return  # a reliable 18x again: reported when it first came
        if status == 180:
            self.context.emit({"event": "ringing", "call_id": self.call_id})
        elif status == 183 and response.body:
            media = self._peer_media(media_session.read_answer(response.body, self.local_sdp))
            if media is not None:
                self.context.emit({"event": "early_media", "call_id": self.call_id, "media": media})

    def _acknowledge_reliable(self, transaction, response, now_ms):
        """PRACK a reliable 18x in its early dialog (RFC 3262 4): the next
        RSeq, or the first; False for a retransmission or one out of order
        (no PRACK, no event)."""
        rseq = rseq_of(response)
        if rseq is None:
            return True
        dialog = self.dialog
        if dialog is None or dialog.remote_tag != parse_name_addr(response.headers.get("To")).tag:
            return False  # another fork's early dialog: not ours to acknowledge
        if self.last_rseq is not None and rseq != self.last_rseq + 1:
            return False
        self.last_rseq = rseq
        number = parse_cseq(transaction.request.headers.get("CSeq"))[0]
        flow = self.context.dialog_flow(dialog, self.transport)
        self.context.send_request(prack_request(dialog, rseq, number), flow, now_ms, self)
        return True

    def _invite_accepted(self, transaction, response, now_ms):
        if self.ack_wire is not None:
            remote_tag = parse_name_addr(response.headers.get("To")).tag
            if self.dialog is not None and remote_tag != self.dialog.remote_tag:
                self._refuse_fork(transaction, response, remote_tag, now_ms)
            else:
                self.context.send(self.ack_wire, self.ack_flow)
            return
        if (
            self.dialog is None
            or self.dialog.remote_tag != parse_name_addr(response.headers.get("To")).tag
        ):
            self.dialog = dialog_from_uac(transaction.request, response)
        else:
            self.dialog.confirm(response)
        ack = self.dialog.create_request("ACK", self._invite_cseq())
        self.ack_flow = self.context.dialog_flow(self.dialog, self.transport)
        self.ack_wire = self.context.send_stateless(ack, self.ack_flow)
        self.ring_timeout_at = None
        media = self._peer_media(media_session.read_answer(response.body, self.local_sdp))
        if self.state in (CANCELLING, ENDED) or self.cancel_wanted or media is None:
            # The 2xx crossed our CANCEL (sent, or still waiting for a 1xx),
            # came after we gave up, or its SDP is unusable: the session
            # exists on the other side, so ACK and BYE (§15).
            reason = self.cancel_wanted or "bad_sdp"
            if not self.reported:
                self._fail(response.status, response.reason, reason, now_ms)
            self._send_bye(now_ms, reason)
            return
        self.media = media
        self.state = CONFIRMED
        self.answered_ms = now_ms
        self.peer_allows_update = allows_update(response)
        self.timer.on_success(response, now_ms)
        self.context.emit({"event": "answered", "call_id": self.call_id, "media": media})
        if self.transfer_of is not None:
            self.transfer_of.on_outcome(200, now_ms)

    def _refuse_fork(self, transaction, response, remote_tag, now_ms):
        """ACK a 2xx from another fork, then BYE its dialog (§13.2.2.4);
        the BYE's transaction has no owner: its outcome changes nothing."""
        known = self.forked_acks.get(remote_tag)
        if known is not None:  # a retransmission of that 2xx
            self.context.send(known[0], known[1])
            return
        if len(self.forked_acks) >= MAX_REFUSED_FORKS:
            return  # a flood of invented To tags gets no more answers
        fork = dialog_from_uac(transaction.request, response)
        flow = self.context.dialog_flow(fork, self.transport)
        ack = fork.create_request("ACK", self._invite_cseq())
        ack_wire = self.context.send_stateless(ack, flow)
        self.forked_acks[remote_tag] = (ack_wire, flow)
        self.context.send_request(fork.create_request("BYE"), flow, now_ms, None)

    def _retry_with_credentials(self, transaction, response, now_ms):
        """The INVITE again with credentials (credentials.py decides whether
        this challenge may be answered): a new transaction, CSeq + 1, same
        Call-ID and From tag (RFC 3261 22.2)."""
        credentials = self.context.credentials()
        if credentials.examine(response) is not None:
            return False
        credentials.adopt()
        self.authenticated = True
        old = transaction.request
        value = credentials.authorization("INVITE", old.uri, old.body)
        self._invite_again(transaction, now_ms, (credentials.header, value))
        return True

    def _invite_again(self, transaction, now_ms, authorization=None):
        """The INVITE again in a new transaction: CSeq + 1, same Call-ID and
        From tag (RFC 3261 22.2, RFC 4028 7.4), with new credentials or the
        session interval a 422 asked for."""
        old = transaction.request
        dropped = ("via", "cseq", "session-expires", "min-se")
        if authorization is not None:
            dropped += ("authorization", "proxy-authorization")
        headers = Headers()
        for name, value in old.headers.items():
            if name.lower() not in dropped:
                headers.add(name, value)
        headers.add("CSeq", "%d INVITE" % (self._invite_cseq() + 1))
        self.timer.add_offer(headers)
        if authorization is not None:
            headers.add(authorization[0], authorization[1])
        self.invite_request = Request("INVITE", old.uri, headers, old.body)
        self.invite_transaction = self.context.send_request(
            self.invite_request, transaction.flow, now_ms, self
        )
        self.dialog = None
        self.last_rseq = None
        self.state = CALLING

    # -- incoming ---------------------------------------------------------

    def start_incoming(self, transaction, request, now_ms):
        """Ring for an INVITE; False when its SDP offer has nothing we share.
        An INVITE without SDP (delayed offer, RFC 3261 §13.2.1, RFC 3264
        §4) gets our offer in the 2xx; the answer comes in the ACK."""
        self.invite_transaction = transaction
        self.invite_request = request
        self.transport = transaction.flow[0]
        self.peer_allows_update = allows_update(request)
        refusal = self.timer.on_request(request)
        if refusal is not None:
            self._refuse_interval(transaction, refusal, now_ms)
            self.state = ENDED
            return False
        if not request.body:
            self.offer_in_ok = True
            self._make_offer()
        elif not self._answer_offer(transaction, request.body, now_ms):
            self.state = ENDED
            return False
        self.dialog = dialog_from_uas(request, self.context.new_tag())
        if wants_reliable(request):
            self._ring_reliably(transaction, now_ms)
        else:
            self._respond(transaction, 180, now_ms)
        return True

    def _ring_reliably(self, transaction, now_ms):
        """180 with Require: 100rel and an RSeq, sent until its PRACK (RFC 3262 3)."""
        context = self.context
        ringing = ReliableRinging(new_rseq(context.random_number()), context.timers)
        response = self._response(transaction.request, 180, self._dialog().local_tag)
        ringing.add_fields(response.headers)
        context.add_server_header(response.headers)
        transaction.send_response(response, now_ms)
        ringing.sent(transaction.last_wire, transaction.flow, now_ms)
        self.ringing = ringing

    def answer(self, local_rtp, now_ms):
        if self.state != OFFERED:
            raise ValueError("call %s cannot be answered in state %s" % (self.call_id, self.state))
        if local_rtp is not None and local_rtp != self.local_rtp:
            self.local_rtp = local_rtp
            self.session_version += 1
            request = self.invite_request
            if request is None:  # start_incoming() set it before the state was offered
                raise ValueError("call %s has no INVITE to answer" % self.call_id)
            if self.offer_in_ok:
                self._make_offer()
            else:
                self._answer_offer(self.invite_transaction, request.body, now_ms)
        if self.ringing is not None:
            self.ringing.finish()  # a final response ends the 180's retransmissions
        self._send_ok(self.invite_transaction, self.local_sdp, now_ms)
        self.state = ACCEPTED

    def reject(self, status, now_ms, reason="rejected"):
        if self.state != OFFERED:
            raise ValueError("call %s cannot be rejected in state %s" % (self.call_id, self.state))
        self._respond(self.invite_transaction, status, now_ms)
        self._end(now_ms, reason)

    def on_cancel(self, now_ms):
        """CANCEL matched our INVITE server transaction (§9.2)."""
        if self.state == OFFERED:
            self._respond(self.invite_transaction, 487, now_ms)
            self._end(now_ms, "cancelled")

    def on_ack(self, request, now_ms):
        """ACK for our 2xx (a new transaction, §13.3.1.4)."""
        if self.ok_wire is None:
            return
        self.ok_wire = None
        self.ok_retransmit_at = None
        self.ok_give_up_at = None
        if self.state != ACCEPTED:
            return
        if self.offer_in_ok:
            self.media = self._peer_media(media_session.read_answer(request.body, self.local_sdp))
            if self.media is None:  # no usable answer in the ACK: no session, BYE (§15)
                self._send_bye(now_ms, "bad_sdp")
                return
        self.state = CONFIRMED
        self.answered_ms = now_ms
        self.context.emit({"event": "answered", "call_id": self.call_id, "media": self.media})

    # -- inside the dialog --------------------------------------------------

    def on_request(self, transaction, request, now_ms):
        """A request inside our dialog (BYE, re-INVITE, INFO, OPTIONS...)."""
        method = request.method
        dialog = self._dialog()
        if not dialog.accept_request(request):
            self._respond(transaction, 500, now_ms)
            return
        if method == "BYE":
            self._respond(transaction, 200, now_ms)
            if self.state != ENDED:
                self._end(now_ms, "remote_hangup")
        elif method == "INVITE":
            self._reinvite(transaction, request, now_ms)
        elif method == "UPDATE":
            self._update(transaction, request, now_ms)
        elif method == "PRACK":
            self._prack(transaction, request, now_ms)
        elif method == "INFO":
            self._info(transaction, request, now_ms)
        elif method == "OPTIONS":
            self.context.answer_options(transaction, now_ms, dialog.local_tag)
        elif method == "REFER":
            self._refer(transaction, request, now_ms)
        else:
            self._respond(transaction, 405, now_ms)

    def _reinvite(self, transaction, request, now_ms):
        if self.state != CONFIRMED or self.ok_wire is not None or self.refreshing:
            self._respond(transaction, 491, now_ms)  # request pending (§14.2)
            return
        refusal = self.timer.on_request(request)
        if refusal is not None:
            self._refuse_interval(transaction, refusal, now_ms)
            return
        self.session_version += 1
        if not self._answer_offer(transaction, request.body, now_ms):
            return
        self._send_ok(transaction, self.local_sdp, now_ms)
        self.context.emit({"event": "media_updated", "call_id": self.call_id, "media": self.media})

    def _update(self, transaction, request, now_ms):
        """UPDATE (RFC 3311 5.2): a new offer or a session refresh, in an
        early or confirmed dialog, answered at once with a 2xx."""
        if request.body:
            if self.state == OFFERED:
                # the INVITE's offer is not answered yet: try again later
                self._respond(transaction, 500, now_ms, ("Retry-After", "1"))
                return
            if (self.ok_wire is not None and self.offer_in_ok) or self.refreshing:
                self._respond(transaction, 491, now_ms)  # our offer waits for its answer
                return
        refusal = self.timer.on_request(request)
        if refusal is not None:
            self._refuse_interval(transaction, refusal, now_ms)
            return
        sdp = None
        if request.body:
            self.session_version += 1
            if not self._answer_offer(transaction, request.body, now_ms):
                return
            sdp = self.local_sdp
        self._send_2xx(transaction, sdp, now_ms)
        if sdp is not None:
            self.context.emit(
                {"event": "media_updated", "call_id": self.call_id, "media": self.media}
            )

    def _prack(self, transaction, request, now_ms):
        """PRACK of our reliable 180: 200, its retransmissions stop; one that
        names nothing we sent gets 481 (RFC 3262 3)."""
        ringing = self.ringing
        if (
            ringing is None
            or ringing.state == DONE
            or not ringing.matches(request.headers.get("RAck"), self._invite_cseq())
        ):
            self._respond(transaction, 481, now_ms)
            return
        ringing.acknowledge()
        self._respond(transaction, 200, now_ms)

    def _refuse_interval(self, transaction, status, now_ms):
        """A Session-Expires below our minimum: 422 with Min-SE (RFC 4028 9)."""
        extra = ("Min-SE", "%d" % MIN_SE_S) if status == 422 else None
        self._respond(transaction, status, now_ms, extra)

    # -- session refreshes (RFC 4028, session_timer.py) --------------------------

    def _refresh(self, now_ms):
        """Refresh the session: UPDATE without SDP when the peer allows it
        (RFC 4028 9: it needs no offer), else a re-INVITE with our SDP."""
        if self.state != CONFIRMED or self.refreshing:
            return
        dialog = self._dialog()
        method = "UPDATE" if self.peer_allows_update else "INVITE"
        request = dialog.create_request(method)
        headers = request.headers
        headers.add("Contact", self.context.contact_value(self.transport))
        self.context.add_capabilities(headers)
        self.timer.add_offer(headers, True)
        if method == "INVITE":
            headers.add("Content-Type", "application/sdp")
            request.body = self.local_sdp or b""
        flow = self.context.dialog_flow(dialog, self.transport)
        self.refresh_transaction = self.context.send_request(request, flow, now_ms, self)
        self.refreshing = True

    def _refresh_response(self, transaction, response, now_ms):
        status = response.status
        if status < 200:
            return
        self.refreshing = False
        if transaction.method == "INVITE" and status < 300:
            dialog = self._dialog()
            number = parse_cseq(transaction.request.headers.get("CSeq"))[0]
            ack = dialog.create_request("ACK", number)
            self.context.send_stateless(ack, self.context.dialog_flow(dialog, self.transport))
        if self.state != CONFIRMED:
            return
        if status < 300:
            self.timer.on_success(response, now_ms)
            if transaction.method == "INVITE":
                self._refresh_answered(response)
        elif status in (408, 481):
            self._send_bye(now_ms, "session_expired")  # RFC 4028 10: the session is gone
        else:
            self.timer.on_refresh_failed(status, now_ms)

    def _refresh_answered(self, response):
        """The answer to our re-INVITE's SDP: the peer's media may have moved."""
        media = self._peer_media(media_session.read_answer(response.body, self.local_sdp))
        if media is not None and media != self.media:
            self.media = media
            self.context.emit({"event": "media_updated", "call_id": self.call_id, "media": media})

    def _refer(self, transaction, request, now_ms):
        """A REFER from the party in the call (transfer.py's table)."""
        context = self.context
        peer_host = self._invite().flow[1]
        if self.state != CONFIRMED or transaction.flow[1] != peer_host:
            context.count("refers_refused")
            self._respond(transaction, 403, now_ms)
            return
        if self.transfer is not None and self.transfer.state in (ASKED, TRYING):
            context.count("refers_refused")
            self._respond(transaction, 491, now_ms)
            return
        refer = read_refer(request)
        if isinstance(refer, int):
            context.count("refers_refused")
            self._respond(transaction, refer, now_ms)
            return
        target, replaces, referred_by = refer
        self.transfer = Transfer(self, transaction, target, replaces, referred_by)
        context.emit(
            {
                "event": "transfer_requested",
                "call_id": self.call_id,
                "target": target,
                "attended": replaces is not None,
            }
        )

    def respond_refer(self, transaction, status, now_ms):
        """The final response to a REFER (transfer.py; a 202 has our Contact)."""
        self._respond(transaction, status, now_ms)

    def dialog_request(self, method):
        """A new request in this call's dialog, with our Contact."""
        request = self._dialog().create_request(method)
        request.headers.add("Contact", self.context.contact_value(self.transport))
        return request

    def send_in_dialog(self, request, now_ms):
        """Send a dialog_request() to the dialog's next hop; the call owns it."""
        flow = self.context.dialog_flow(self._dialog(), self.transport)
        self.context.send_request(request, flow, now_ms, self)

    def _make_offer(self):
        """Our SDP offer (kept as local_sdp, the answer is read against it)."""
        settings = self.context.settings
        mode, masters = self._srtp()
        offer = media_session.make_offer(
            settings.codecs, settings.ptime, self.local_rtp, self.session_id,
            self.session_version, mode, masters,
        )  # fmt: skip
        self.local_sdp = offer
        return offer

    def _srtp(self):
        """(SDES mode, our master keys) for this call: audio.srtp and keys
        drawn once over a secure transport; no keys over any other (see the
        top: "mandatory" without keys refuses, "optional" is "off")."""
        settings = self.context.settings
        if settings.srtp == "off":
            return "off", ()
        if self.transport not in settings.secure_transports:
            return ("mandatory", ()) if settings.srtp == "mandatory" else ("off", ())
        if not self.masters:
            masters = []
            for _ in SUITES:
                masters.append(self.context.random_bytes(MASTER_BYTES))
            self.masters = tuple(masters)
        return settings.srtp, self.masters

    def _answer_offer(self, transaction, offer, now_ms):
        """Our SDP answer to the peer's offer; on failure respond 400/488
        (488 too for media at another host than the peer's, see media_host)."""
        mode, masters = self._srtp()
        if mode != "off" and not masters:  # mandatory, over a transport keys may not cross
            self._respond(transaction, 488, now_ms)
            return False
        try:
            answer, media = media_session.make_answer(
                offer,
                self.context.settings.codecs,
                self.context.settings.ptime,
                self.local_rtp,
                self.session_id,
                self.session_version,
                mode,
                masters,
            )
        except SdpError as error:
            self._respond(transaction, error.status, now_ms)
            return False
        if self._peer_media(media) is None:
            self._respond(transaction, 488, now_ms)
            return False
        self.local_sdp, self.media = answer, media
        return True

    def _peer_media(self, media):
        """media, or None when it names another host than media_host (set
        peer-to-peer: the peer's own); 0.0.0.0 (RFC 2543 hold) sends nowhere."""
        if media is None or self.media_host is None:
            return media
        if media["remote_host"] in (self.media_host, "0.0.0.0"):
            return media
        return None

    def _info(self, transaction, request, now_ms):
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in DTMF_CONTENT_TYPES:
            self._respond(transaction, 415, now_ms)
            return
        digit = dtmf_digit(request.body, content_type)
        if digit is None:
            self._respond(transaction, 400, now_ms)
            return
        self._respond(transaction, 200, now_ms)
        self.context.emit(
            {"event": "dtmf", "call_id": self.call_id, "digit": digit, "source": "info"}
        )

    # -- timers ---------------------------------------------------------------

    def get_timer(self):
        deadline = earliest(self.ring_timeout_at, self.ok_retransmit_at)
        deadline = earliest(deadline, self.timer.get_timer())
        if self.ringing is not None:
            deadline = earliest(deadline, self.ringing.get_timer())
        return earliest(earliest(deadline, self.ok_give_up_at), self.give_up_at)

    def handle_timer(self, now_ms):
        ringing = self.ringing
        if ringing is not None:
            due = ringing.handle_timer(now_ms)
            if due == RETRANSMIT:
                self.context.send(ringing.wire, ringing.flow)
            elif due == GIVE_UP and self.state == OFFERED:
                self.reject(504, now_ms, "no_prack")  # RFC 3262 3: a 5xx
        due = self.timer.handle_timer(now_ms)
        if due == REFRESH:
            self._refresh(now_ms)
        elif due == EXPIRE and self.state == CONFIRMED:
            self._send_bye(now_ms, "session_expired")  # RFC 4028 10
        if is_due(self.give_up_at, now_ms):
            self.give_up_at = None
            if self.state == CANCELLING:
                self._fail(408, "Request Timeout", self.cancel_wanted, now_ms)
        if is_due(self.ring_timeout_at, now_ms):
            self.ring_timeout_at = None
            if self.state in (CALLING, EARLY):
                self._cancel("timeout", now_ms)
        if is_due(self.ok_give_up_at, now_ms):
            self.ok_wire = None
            self.ok_retransmit_at = None
            self.ok_give_up_at = None
            self._send_bye(now_ms, "no_ack")
        elif is_due(self.ok_retransmit_at, now_ms):
            self.context.send(self.ok_wire, self.ok_flow)
            self.ok_interval = self.context.timers.next_interval(self.ok_interval, True)
            self.ok_retransmit_at = ticks_add(self.ok_retransmit_at, self.ok_interval)

    def on_transaction_timeout(self, transaction, now_ms):
        if transaction is self.invite_transaction and self.state in (CALLING, EARLY, CANCELLING):
            if transaction.transport_error:  # §8.1.3.1: a failed connection counts as 503
                self._fail(503, "Service Unavailable", self.cancel_wanted or "unavailable", now_ms)
            else:
                self._fail(408, "Request Timeout", self.cancel_wanted or "timeout", now_ms)
        elif transaction.method == "BYE" and self.state == ENDING:
            self._end(now_ms)
        elif transaction is self.refresh_transaction and self.state == CONFIRMED:
            self.refreshing = False
            self._send_bye(now_ms, "session_expired")  # our refresh went unanswered (§10)

    # -- helpers ----------------------------------------------------------------

    def _respond(self, transaction, status, now_ms, extra=None):
        """A response without a body; extra: one (name, value) field more."""
        to_tag = self.dialog.local_tag if self.dialog is not None else self.context.new_tag()
        response = self._response(transaction.request, status, to_tag)
        if extra is not None:
            response.headers.add(extra[0], extra[1])
        self.context.add_server_header(response.headers)
        transaction.send_response(response, now_ms)

    def _response(self, request, status, to_tag):
        response = make_response(request, status, None, to_tag)
        if status > 100 and status < 300:
            # §12.1.1: a dialog-creating response copies the Record-Route
            # set, so the caller's ACK and BYE go through the proxies too.
            if request.method == "INVITE":
                for value in request.headers.get_all("Record-Route"):
                    response.headers.add("Record-Route", value)
            response.headers.add("Contact", self.context.contact_value(self.transport))
        return response

    def _send_2xx(self, transaction, sdp, now_ms):
        """200 to an INVITE or UPDATE: our capabilities, the session
        interval agreed (RFC 4028), the SDP when there is one."""
        response = self._response(transaction.request, 200, self._dialog().local_tag)
        self.context.add_capabilities(response.headers)
        self.timer.add_answer(response.headers, now_ms)
        if sdp is not None:
            response.headers.add("Content-Type", "application/sdp")
            response.body = sdp
        transaction.send_response(response, now_ms)

    def _send_ok(self, transaction, sdp, now_ms):
        self._send_2xx(transaction, sdp, now_ms)
        timers = self.context.timers
        self.ok_wire = transaction.last_wire
        self.ok_flow = transaction.flow
        self.ok_interval = timers.t1
        self.ok_retransmit_at = ticks_add(now_ms, timers.t1)
        self.ok_give_up_at = ticks_add(now_ms, timers.transaction_timeout)

    def _send_bye(self, now_ms, reason):
        if self.ended_reason is None:
            self.ended_reason = reason
        dialog = self._dialog()
        bye = dialog.create_request("BYE")
        flow = self.context.dialog_flow(dialog, self.transport)
        self.context.send_request(bye, flow, now_ms, self)
        self.state = ENDING

    def _fail(self, status, text, reason, now_ms):
        self.ring_timeout_at = None
        self.give_up_at = None
        self.state = ENDED
        self.reported = True
        if self.transfer_of is not None:  # a 2xx we gave up on is no success
            self.transfer_of.on_outcome(status if status >= 300 else 500, now_ms)
        self.context.emit(
            {
                "event": "call_failed",
                "call_id": self.call_id,
                "target": self.target,
                "status": status,
                "reason": reason,
                "text": text,
            }
        )

    def _end(self, now_ms, reason=None):
        if reason is not None and self.ended_reason is None:
            self.ended_reason = reason
        self.state = ENDED
        self.ring_timeout_at = None
        self.ok_retransmit_at = None
        self.ok_give_up_at = None
        self.timer.stop()
        if self.ringing is not None:
            self.ringing.finish()
        if self.reported:
            return
        self.reported = True
        duration = 0
        if self.answered_ms is not None:
            duration = ticks_diff(now_ms, self.answered_ms)
        self.context.emit(
            {
                "event": "call_ended",
                "call_id": self.call_id,
                "reason": self.ended_reason,
                "duration_ms": duration,
            }
        )


def allows_update(message):
    """Whether a message's Allow names UPDATE (RFC 3311: refresh with it)."""
    return has_option(message.headers.get_all("Allow"), "update")


def dtmf_digit(body, content_type):
    """The digit of an INFO body: `Signal=5` lines or a bare digit (dtmf)."""
    try:
        text = bytes(body).decode()
    except (UnicodeError, ValueError):
        return None
    if content_type == "application/dtmf-relay":
        for line in text.split("\n"):
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                return _digit(value.strip())
        return None
    return _digit(text.strip())


def _digit(value):
    if len(value) == 1 and value.upper() in "0123456789*#ABCD":
        return value.upper()
    if value in ("10", "11"):
        return "*" if value == "10" else "#"
    return None
