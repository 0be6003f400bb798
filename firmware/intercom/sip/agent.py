# The SIP user agent façade: one object the board drives, sans-I/O. It
# routes: what arrives goes to a transaction, a call or the registration;
# what they send leaves through their session context (context.py), which
# also holds the transaction table, the outbox, the events and the
# counters. Calls and the registration own their transactions the same way
# and never see the agent.
#
# Driver contract (aioquic style), transport-free: flows (flow.py) say
# where bytes came from and where they go, the board owns the sockets:
#   receive_datagram(data, flow, now_ms)   feed every UDP datagram, and every
#                                          item a stream's framer (framing.py)
#                                          gives: a message, a ping, a pong
#   datagrams_to_send(now_ms)              -> [(bytes, flow)], send them all (on
#                                          a stream: the connection the flow
#                                          names, or any to its address, or
#                                          a new one)
#   flows_to_close()                       -> [flow] streams to close (no pong)
#   flow_failed(flow, now_ms, framing=False, reason=None)  a stream closed,
#                                          was reset or refused, or could not
#                                          be framed; reason: the board's
#                                          (a TLS failure: "tls_expired", ...)
#   accepts_connection(flow, now_ms)       whether to keep a stream a peer
#                                          opened (who may talk to us, below)
#   get_timer()                            -> next deadline (ms ticks) or None
#   handle_timer(now_ms)                   call when that deadline has passed
#   next_event()                           -> event dict or None, drain after each call
#
# App methods: start(now_ms), stop(now_ms), call(target, rtp_port, now_ms,
# ring_timeout_ms=None, display_name=None, alert_info=None) -> call id
# (display_name: the From's, instead of the settings'; alert_info: an
# Alert-Info header value, RFC 3261 20.4, so phones ring differently per
# door button), answer(call_id, rtp_port, now_ms),
# reject(call_id, status, now_ms), hangup(call_id, now_ms, reason=
# "local_hangup"),
# accept_transfer(call_id, target, rtp_port, now_ms) -> the new call's id,
# placed to target (the app's URI for the Refer-To's party) (None: no
# room, the final NOTIFY says 503), refuse_transfer(call_id, status, now_ms).
#
# Events (every dict has "event"; calls carry "call_id", the SIP Call-ID):
#   {"event": "registered", "expires": s, "contact": uri}            (register.py)
#   {"event": "registration_failed", "reason": text, "status": code|None,
#    "retry_in_ms": ms}                                             (register.py)
#   {"event": "unregistered", "status": code|None, "reason": text|None}
#   {"event": "incoming_call", "call_id", "from": name-addr text, "from_uri":
#    uri, "identity": uri or None (who the caller is, see below), "user": user
#    part or None, "source": (host, port), "media": MEDIA, or None for an
#    INVITE without SDP: then MEDIA comes with "answered", "replaces": the
#    call id this INVITE's Replaces names (RFC 3891), else None}
#       -> the app calls answer() or reject(); the agent already sent 180.
#       The app gets no media and no digits before "answered" (the ACK
#       that matches our To tag, which a forged INVITE never sees).
#   {"event": "ringing", "call_id"}                                 180 received
#   {"event": "early_media", "call_id", "media": MEDIA}             183 with SDP
#   {"event": "answered", "call_id", "media": MEDIA}   outgoing: 2xx ACKed;
#                                                      incoming: our 2xx ACKed
#   {"event": "media_updated", "call_id", "media": MEDIA}   a re-INVITE or UPDATE
#                                    with SDP (hold, a new address), or the
#                                    answer to our refresh re-INVITE moved it
#   {"event": "dtmf", "call_id", "digit": "0-9*#A-D", "source": "info"}
#   {"event": "call_failed", "call_id", "target": uri, "status": code,
#    "reason": REASON, "text": reason phrase}   an outgoing call never answered
#       REASON: busy (486, 600), declined (403, 603), not_found (404, 604),
#       unavailable (480), timeout (408, Timer B, ring timeout), redirect (3xx,
#       never followed), auth (challenge we may not or cannot answer),
#       cancelled (hangup() before the answer), bad_sdp, error (anything else)
#   {"event": "call_ended", "call_id", "reason": REASON, "duration_ms": ms}
#       an answered call ended, or an incoming one before it was answered.
#       REASON: local_hangup, remote_hangup, no_ack (our 2xx never ACKed,
#       §13.3.1.4), cancelled (caller's CANCEL), rejected (reject()),
#       session_expired (RFC 4028: no refresh came, or ours failed),
#       no_prack (our reliable 180 never PRACKed, RFC 3262: 504),
#       transferred (the new party of a transfer answered; or our call was
#       replaced by an INVITE with Replaces).
#   {"event": "transfer_requested", "call_id", "target": the Refer-To URI
#    without embedded headers, "attended": bool (it carried Replaces)}
#       a REFER from the party in the call (transfer.py) -> the app calls
#       accept_transfer() (202, NOTIFY 100, the door calls the target with
#       the Replaces and Referred-By: a call like any other, "answered" or
#       "call_failed"; NOTIFY of its outcome; the app hangs the old call
#       up, reason transferred, once the new one is answered) or
#       refuse_transfer() (403, 603, ...).
#   {"event": "internal_error", "reason": text}   a bug of ours met a datagram;
#       the datagram was dropped and counted (stats["internal_errors"])
#   MEDIA = {"remote_host", "remote_port", "payload_type", "codec",
#            "telephone_event_pt" (None when not offered), "ptime",
#            "direction" (ours), "srtp" (None, or the suite and both
#            master keys: never logged)}                  (media_session.py)
#
# Who may talk to us: only the configured server and `trusted` hosts (in
# peer-to-peer mode also the hosts of `targets` and `answer_from` URIs).
# Anything else is dropped without a reply and counted; each source host has
# a token bucket (guard.py); a stream from anyone else is refused at once
# (accepts_connection).
#
# Transport (RFC 3261 18): requests go over sip.transport, or the URI's
# transport parameter (context.py, flow.py); responses go on the flow the
# request came on (18.2.2: on a stream its very connection; on UDP the
# source port with rport, RFC 3581, else the Via's port). A ping (CRLF
# CRLF) gets a pong (CRLF) on its flow, a pong goes to the registration
# (RFC 5626 4.4.1). A door with sip.transport "tls" reads SIP from TLS
# flows only: a message or keep-alive over UDP or TCP is dropped and counted
# (plain_sip_dropped), so nobody reaches it in clear by forging the
# server's address. A failed stream ends the client transactions on it
# (as a 503, RFC 3261 8.1.3.1; one that left UDP for its size goes back to
# UDP, 18.1.1) and tells the registration.
#
# Who a caller is (incoming_call "identity", what allow lists compare):
#   server mode                 the From URI: the server vouches for it (it
#                               must not route external callers to the door)
#   server, asserted_identity   the first sip:/sips: URI of the
#                               P-Asserted-Identity (RFC 3325 9.1) in an
#                               INVITE from the server itself; None without one
#   peer-to-peer                the From URI when its host is the address the
#                               INVITE came from, else None (a trusted flat
#                               cannot claim another flat's identity)
# Media (peer_media_same_host, peer-to-peer only): the c= of the peer's SDP
# (offer, answer, 183, ACK, re-INVITE) must be the peer's own host: the
# INVITE's source, or the host we called; else 488, or ACK and BYE
# (bad_sdp) for an answer.
#
# Transfer (RFC 3515, RFC 3891; transfer.py and call.py): REFER is taken
# only inside a call's dialog, from the host the call's signalling comes
# from (403 otherwise; 481 for a dialog we do not have; 403 for a REFER
# outside any dialog: it could make the door call anyone). An INVITE with
# Replaces (RFC 3891 3) must name a confirmed call of ours (to-tag: our
# tag, from-tag: the peer's), else 481 (486 for early-only); it is then
# offered like any incoming call, with "replaces", and the app decides
# (the caller's identity, as always) and, once it is answered and ACKed,
# hangs the replaced call up (reason transferred).
#
# Tables (memory stays bounded whatever arrives; a flood never ends a call):
#   calls         at most max_calls live (not ended) calls; call() returns
#                 None when full (calls_refused); an INVITE while any call
#                 is live gets 486 (one call at a time); a live call is
#                 never evicted, ended ones are forgotten
#   transactions  at most max_transactions; when full, the oldest one that
#                 neither a live call nor the registration owns makes room
#                 (transactions_reaped); when every one is owned, a new
#                 request gets a stateless 503 with Retry-After (RFC 3261
#                 21.5.4) and our own requests (BYE, CANCEL, a refresh) still
#                 go out: their number is bounded by the live calls

from intercom.sip.call import CONFIRMED, Call
from intercom.sip.client_transaction import PROCEEDING, ClientTransaction, client_key
from intercom.sip.context import (
    ACCEPT,
    ALLOW,
    ALLOWED_METHODS,
    SUPPORTED,
    SessionContext,
    prepend_via,
)
from intercom.sip.flow import SIP_PORT, UDP, flow_address, is_stream, make_flow, same_peer
from intercom.sip.framing import PING, PONG
from intercom.sip.grammar import format_hostport
from intercom.sip.guard import SourceGuard
from intercom.sip.message import (
    Request,
    SipParseError,
    error_response,
    make_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_via,
    unsupported_requirements,
)
from intercom.sip.register import Registration
from intercom.sip.server_transaction import ACCEPTED, ServerTransaction, server_key
from intercom.sip.timers import earliest
from intercom.sip.transfer import read_replaces
from intercom.sip.uri import parse_uri

KNOWN_METHODS = ALLOWED_METHODS + (
    "REGISTER",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "MESSAGE",
    "UPDATE",
    "PRACK",
    "PUBLISH",
)
RETRY_AFTER_S = 5


class Agent:
    """SIP user agent: transactions, calls and registration behind one façade."""

    def __init__(self, settings, random_bytes):
        context = SessionContext(settings, random_bytes)
        self.context = context
        self.settings = settings
        self.transactions = context.transactions
        self.stats = context.stats
        self.calls = {}
        self.last_error = None
        self.guard = SourceGuard(settings)
        self.registration = None
        if settings.server_address is not None and settings.register:
            self.registration = Registration(context)

    # -- driver interface -------------------------------------------------------

    def start(self, now_ms):
        if self.registration is not None:
            self.registration.start(now_ms)

    def stop(self, now_ms):
        for call in list(self.calls.values()):
            call.hangup(now_ms)
        if self.registration is not None:
            self.registration.stop(now_ms)

    def receive_datagram(self, data, flow, now_ms):
        """Feed one datagram (or stream item) from flow; never raises for
        anything a peer sends."""
        context = self.context
        context.count("datagrams_in")
        refusal = self.guard.verdict(flow[1], now_ms)
        if refusal is not None:
            context.count(refusal)
            return
        if flow[0] not in self.settings.accepted_transports:
            context.count("plain_sip_dropped")
            return
        if not data.strip(b"\r\n"):
            context.count("keepalives_in")
            if data == PING:
                context.send(PONG, flow)  # RFC 5626 §4.4.1
            elif data == PONG and self.registration is not None:
                self.registration.on_pong(flow, now_ms)
            return
        try:
            self._receive(data, flow, now_ms)
        except SipParseError:
            context.count("malformed_dropped")
        except MemoryError:
            raise  # the board restarts; swallowing it would hang the call
        except Exception as error:  # our bug: counted, reported, kept for tests
            context.count("internal_errors")
            self.last_error = error
            context.emit({"event": "internal_error", "reason": repr(error)})

    def datagrams_to_send(self, now_ms):
        outbox = self.context.outbox
        datagrams = outbox[:]
        del outbox[:]  # transactions hold this very list
        return datagrams

    def flows_to_close(self):
        closing = self.context.closing
        flows = closing[:]
        del closing[:]
        return flows

    def flow_failed(self, flow, now_ms, framing=False, reason=None):
        """The board lost a stream (see the top); never raises."""
        context = self.context
        context.count("framing_errors" if framing else "flows_failed")
        for transaction in list(self.transactions.values()):
            if (
                isinstance(transaction, ClientTransaction)
                and is_stream(transaction.flow)
                and same_peer(transaction.flow, flow)
                and transaction.transport_failed(now_ms, reason)
                and transaction.owner is not None
            ):
                transaction.owner.on_transaction_timeout(transaction, now_ms)
        if self.registration is not None:
            self.registration.on_flow_failed(flow, now_ms)
        self._reap()

    def accepts_connection(self, flow, now_ms):
        """Whether a stream a peer opened may stay (its host may talk to us)."""
        refusal = self.guard.verdict(flow[1], now_ms)
        if refusal is not None:
            self.context.count(refusal)
            return False
        return True

    def get_timer(self):
        deadline = self.guard.get_timer()
        for transaction in self.transactions.values():
            deadline = earliest(deadline, transaction.get_timer())
        for session in self._sessions():
            deadline = earliest(deadline, session.get_timer())
        return deadline

    def handle_timer(self, now_ms):
        self.guard.handle_timer(now_ms)
        for transaction in list(self.transactions.values()):
            timed_out = transaction.handle_timer(now_ms)
            if timed_out and transaction.owner is not None:
                self.context.count("transaction_timeouts")
                if isinstance(transaction, ClientTransaction):
                    transaction.owner.on_transaction_timeout(transaction, now_ms)
        for session in self._sessions():
            session.handle_timer(now_ms)
        self._reap()

    def next_event(self):
        events = self.context.events
        return events.pop(0) if events else None

    # -- app interface ------------------------------------------------------------

    def call(
        self,
        target,
        rtp_port,
        now_ms,
        ring_timeout_ms=None,
        display_name=None,
        alert_info=None,
        extra_headers=(),
    ):
        """Call a user ("flat1") or a SIP URI; returns the call id, or None
        when the call table is full of live calls."""
        target_uri = self.target_uri(target)
        settings = self.settings
        context = self.context
        flow = context.request_flow(target_uri)
        if ring_timeout_ms is None:
            ring_timeout_ms = settings.ring_timeout_ms
        call_id = context.new_call_id()
        call = Call(context, call_id, True, (settings.local_host, rtp_port))
        if settings.server_address is None and settings.peer_media_same_host:
            call.media_host = flow[1]
        if not self._add_call(call):
            context.count("calls_refused")
            return None
        call.start_outgoing(
            target_uri, flow, ring_timeout_ms, now_ms, display_name, alert_info, extra_headers
        )
        return call_id

    def answer(self, call_id, rtp_port, now_ms):
        self._call(call_id).answer((self.settings.local_host, rtp_port), now_ms)

    def reject(self, call_id, status, now_ms):
        self._call(call_id).reject(status, now_ms)

    def hangup(self, call_id, now_ms, reason="local_hangup"):
        """CANCEL before the answer, BYE after; unknown or ended ids are ignored."""
        call = self.calls.get(call_id)
        if call is not None:
            call.hangup(now_ms, reason)

    def accept_transfer(self, call_id, target, rtp_port, now_ms):
        """Take the REFER of call_id's transfer_requested (transfer.py): 202,
        NOTIFY 100, and the id of the new call to target (the app's own URI
        for the party the Refer-To names); None when there is no room for
        it (its NOTIFY says 503)."""
        transfer = self._call(call_id).transfer
        transfer.accept(now_ms)
        extra = [("Referred-By", transfer.referred_by)]
        if transfer.replaces is not None:
            extra.append(("Replaces", transfer.replaces))
        new_call_id = self.call(target, rtp_port, now_ms, extra_headers=extra)
        if new_call_id is None:
            transfer.on_outcome(503, now_ms)
            return None
        self.calls[new_call_id].transfer_of = transfer
        return new_call_id

    def refuse_transfer(self, call_id, status, now_ms):
        self._call(call_id).transfer.refuse(status, now_ms)

    def target_uri(self, target):
        """A sip:/sips: URI as given; a bare user or number at sip.domain,
        a '#' in it percent-encoded (RFC 3261 25.1; a FRITZ!Box's **610#)."""
        if ":" in target and target.split(":", 1)[0].lower() in ("sip", "sips"):
            return target
        user = target.replace("#", "%23")
        return "sip:%s@%s" % (user, format_hostport(self.settings.domain, None))

    # -- receiving -------------------------------------------------------------------

    def _receive(self, data, flow, now_ms):
        context = self.context
        try:
            message = parse_message(data, self.settings.max_message_size)
        except SipParseError as error:
            reply = error_response(error)
            if reply is None:
                context.count("malformed_dropped")
                return
            context.count("malformed_requests")
            context.add_server_header(reply.headers)
            context.send(reply.to_bytes(), self._response_flow(reply, flow))
            return
        if message is None:
            context.count("keepalives_in")
            return
        message.source = flow
        if isinstance(message, Request):
            context.count("requests_in")
            self._receive_request(message, flow, now_ms)
        else:
            context.count("responses_in")
            self._receive_response(message, now_ms)

    def _receive_response(self, response, now_ms):
        number, method = parse_cseq(response.headers.get("CSeq"))
        branch = parse_via(response.headers.get("Via")).branch
        transaction = self.transactions.get(client_key(branch, method))
        if transaction is None:
            self.context.count("stray_responses")
            return
        if not transaction.receive_response(response, now_ms):
            return
        if transaction.owner is not None:
            transaction.owner.on_response(transaction, response, now_ms)
        transaction.response_handled()
        self._reap()

    def _receive_request(self, request, flow, now_ms):
        method = request.method
        self._mark_received(request, flow)
        number, cseq_method = parse_cseq(request.headers.get("CSeq"))
        if cseq_method != method:
            self._reply(request, flow, 400, now_ms, "CSeq method mismatch")
            return
        existing = self.transactions.get(server_key(request))
        # RFC 6026 §7.1: an ACK matching an INVITE transaction in the accepted
        # state (RFC 2543 peers, reused branches) belongs to the dialog.
        if existing is not None and not (method == "ACK" and existing.state == ACCEPTED):
            self.context.count("retransmissions_in")
            existing.receive_request(request, now_ms)
            return
        if method == "ACK":
            call = self._dialog_call(request)
            if call is None:
                self.context.count("stray_acks")
            else:
                call.on_ack(request, now_ms)
            return
        if not self.context.make_room():
            self._reply_unavailable(request, flow)
            return
        if method not in KNOWN_METHODS:
            self._reply(request, flow, 501, now_ms)
            return
        if method not in ALLOWED_METHODS:
            self._reply(request, flow, 405, now_ms, allow=True)
            return
        unsupported = unsupported_requirements(request, SUPPORTED)
        if unsupported:
            self._reply(request, flow, 420, now_ms, unsupported=", ".join(unsupported))
            return
        if not self._acceptable_body(request):
            self._reply(request, flow, 415, now_ms)
            return
        if method == "CANCEL":
            self._receive_cancel(request, flow, now_ms)
            return
        self._route_request(request, flow, now_ms)

    def _route_request(self, request, flow, now_ms):
        """A request that passed the checks: to its dialog (a To tag), or
        one that may start a dialog or stand alone."""
        method = request.method
        if parse_name_addr(request.headers.get("To")).tag is not None:
            call = self._dialog_call(request)
            if call is None:
                self._reply(request, flow, 481, now_ms)
                return
            call.on_request(self._server_transaction(request, flow, now_ms, call), request, now_ms)
            self._reap()
            return
        if method == "INVITE":
            self._receive_invite(request, flow, now_ms)
        elif method == "REFER":
            self._reply(request, flow, 403, now_ms)  # outside a call: never (top)
        elif method == "OPTIONS":
            transaction = self._server_transaction(request, flow, now_ms)
            self.context.answer_options(transaction, now_ms, None)
        else:
            self._reply(request, flow, 481, now_ms)  # BYE, INFO outside any dialog

    def _receive_invite(self, request, flow, now_ms):
        if request.headers.get("Contact") is None:
            self._reply(request, flow, 400, now_ms, "Missing Contact")
            return
        replaced = None
        if request.headers.get("Replaces") is not None:
            replaced = self._replaced_call(request)
            if not isinstance(replaced, Call):
                self.context.count("replaces_refused")
                self._reply(request, flow, replaced, now_ms)
                return
        busy = False
        for call in self.calls.values():
            if not call.ended and call is not replaced:
                busy = True
        if busy:
            self._reply(request, flow, 486, now_ms)
            return
        call_id = request.headers.get("Call-ID")
        call = Call(self.context, call_id, False, (self.settings.local_host, 0))
        if self.settings.server_address is None and self.settings.peer_media_same_host:
            call.media_host = flow[1]
        self._add_call(call)  # room: no other call is live (486 above), ended ones go
        transaction = self._server_transaction(request, flow, now_ms, call)
        if not call.start_incoming(transaction, request, now_ms):
            refused = call.timer.answer is None and request.headers.get("Session-Expires")
            self.context.count("session_interval_refused" if refused else "no_common_media")
            del self.calls[call_id]
            return
        caller = parse_name_addr(request.headers.get("From"))
        self.context.emit(
            {
                "event": "incoming_call",
                "call_id": call_id,
                "from": caller.to_string(),
                "from_uri": caller.uri,
                "identity": self._caller_identity(request, caller.uri, flow),
                "user": _uri_user(caller.uri),
                "source": flow_address(flow),
                "media": call.media,
                "replaces": replaced.call_id if replaced is not None else None,
            }
        )

    def _replaced_call(self, request):
        """The confirmed call an INVITE's Replaces names, or the status to
        refuse it with (RFC 3891 3)."""
        values = request.headers.get_all("Replaces")
        replaces = read_replaces(values[0]) if len(values) == 1 else None
        if replaces is None:
            return 400
        call_id, to_tag, from_tag, early_only = replaces
        call = self.calls.get(call_id)
        if call is None or call.state != CONFIRMED or call.dialog is None:
            return 481
        if call.dialog.local_tag != to_tag or call.dialog.remote_tag != from_tag:
            return 481
        if early_only:
            return 486
        return call

    def _caller_identity(self, request, from_uri, flow):
        """The URI allow lists compare the caller by, or None (see the top)."""
        settings = self.settings
        if settings.server_address is not None:
            if not settings.asserted_identity:
                return from_uri
            if flow[1] != settings.server_address[0]:
                return None
            for value in request.headers.get_all("P-Asserted-Identity"):
                try:
                    uri = parse_name_addr(value).uri
                except SipParseError:
                    continue
                if uri[:4].lower() == "sip:" or uri[:5].lower() == "sips:":
                    return uri
            return None
        try:
            host = parse_uri(from_uri).host
        except SipParseError:
            return None
        if host is None or host.strip("[]").lower() != flow[1].strip("[]").lower():
            self.context.count("foreign_from_hosts")
            return None
        return from_uri

    def _receive_cancel(self, request, flow, now_ms):
        """CANCEL matches the INVITE server transaction with its branch (§9.2)."""
        key = server_key(request)
        invite = self.transactions.get(key[:-1] + ("INVITE",))
        if invite is None:
            self._reply(request, flow, 481, now_ms)
            return
        self._reply(request, flow, 200, now_ms)
        if invite.owner is not None:
            invite.owner.on_cancel(now_ms)
            self._reap()

    def _acceptable_body(self, request):
        """415 for bodies we cannot read (§21.4.13); INFO is checked by the call."""
        encoding = request.headers.get("Content-Encoding")
        if encoding is not None and encoding.strip().lower() != "identity":
            return False
        if not request.body or request.method != "INVITE":
            return True
        content_type = request.headers.get("Content-Type") or ""
        return content_type.split(";")[0].strip().lower() == "application/sdp"

    def _reply_unavailable(self, request, flow):
        """503 with Retry-After (§21.5.4), without a transaction: the
        transaction table is full."""
        self.context.count("responses_503")
        context = self.context
        response = make_response(request, 503, None, context.new_tag())
        response.headers.add("Retry-After", str(RETRY_AFTER_S))
        context.add_server_header(response.headers)
        context.send(response.to_bytes(), self._response_flow(request, flow))

    def _reply(self, request, flow, status, now_ms, reason=None, allow=False, unsupported=None):
        """Answer a request we do not take further, in its own server transaction."""
        self.context.count("responses_%d" % status)
        transaction = self._server_transaction(request, flow, now_ms)
        response = make_response(request, status, reason, self.context.new_tag())
        if allow or status == 415 or status == 501:
            response.headers.add("Allow", ALLOW)
        if status == 415:
            response.headers.add("Accept", ACCEPT)
            response.headers.add("Accept-Encoding", "identity")
        if unsupported:
            response.headers.add("Unsupported", unsupported)
        self.context.add_server_header(response.headers)
        transaction.send_response(response, now_ms)

    def _server_transaction(self, request, flow, now_ms, owner=None):
        context = self.context
        response_flow = self._response_flow(request, flow)
        transaction = ServerTransaction(
            request, response_flow, context.timers, now_ms, context.outbox, owner
        )
        context.add_transaction(transaction)
        return transaction

    def _response_flow(self, message, flow):
        """Where responses go (§18.2.2, RFC 3581 §4): on a stream its very
        connection; on UDP the source, its port with rport, else the Via's."""
        value = message.headers.get("Via")
        if value is None or is_stream(flow):
            return flow
        via = parse_via(value)
        if "rport" in via.params:
            return flow
        return make_flow(UDP, (flow[1], via.port or SIP_PORT))

    def _mark_received(self, request, flow):
        """Add received (and rport's value) to the top Via (§18.2.1, RFC 3581)."""
        vias = request.headers.get_all("Via")
        if not vias:
            return
        top = parse_via(vias[0])
        if top.host != flow[1] or "rport" in top.params:
            top.params["received"] = flow[1]
        if "rport" in top.params:
            top.params["rport"] = str(flow[2])
        vias[0] = top.to_string()
        request.headers.remove("Via")
        prepend_via(request, ", ".join(vias))

    def _dialog_call(self, request):
        call = self.calls.get(request.headers.get("Call-ID"))
        if call is None or call.dialog is None:
            return None
        to_tag = parse_name_addr(request.headers.get("To")).tag
        from_tag = parse_name_addr(request.headers.get("From")).tag
        if call.dialog.local_tag != to_tag or call.dialog.remote_tag != from_tag:
            return None
        return call

    # -- bookkeeping ----------------------------------------------------------------

    def _add_call(self, call):
        """Adds call unless max_calls live calls exist; ended ones go first."""
        calls = self.calls
        if len(calls) >= self.settings.max_calls:
            for call_id in [c for c, known in calls.items() if known.ended]:
                del calls[call_id]
        if len(calls) >= self.settings.max_calls:
            return False
        calls[call.call_id] = call
        return True

    def _reap(self):
        """Forget what has ended; an INVITE still proceeding for a call that
        gave up has no timer of its own (§17.1.1.2), so it goes too."""
        for key, transaction in list(self.transactions.items()):
            owner = transaction.owner
            abandoned = (
                isinstance(transaction, ClientTransaction)
                and owner is not None
                and owner.ended
                and transaction.state == PROCEEDING
            )
            if transaction.terminated or abandoned:
                del self.transactions[key]
        for call_id in [c for c, call in self.calls.items() if call.ended]:
            del self.calls[call_id]

    def _call(self, call_id):
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError("no call %s" % call_id)
        return call

    def _sessions(self):
        """Everything that owns transactions and keeps timers: the calls
        and the registration."""
        sessions = list(self.calls.values())
        if self.registration is not None:
            sessions.append(self.registration)
        return sessions


def _uri_user(uri_text):
    try:
        return parse_uri(uri_text).user
    except SipParseError:
        return None
