# A FRITZ!Box-like PBX for the tests: registrar and telephone system on
# 127.0.0.1 (any free UDP port: .port), built on our core's message parser,
# for what SIPp cannot script (digest checks, stale answers, calls both
# ways that depend on what the door sent). It behaves as a FRITZ!Box is
# reported to behave towards an "IP door intercom" or "IP phone" account
# (README, section FRITZ!Box; tests/pbx):
#
#   REGISTER whose Request-URI has a user part  dropped, no answer
#   REGISTER without credentials                401, Digest realm="fritz.box",
#                                               no qop (RFC 2069 style)
#   REGISTER with credentials                   200 (Contact;expires) when the
#                                               digest matches and Call-ID and
#                                               From tag are the challenged
#                                               REGISTER's (granted_expires,
#                                               if set, instead of what it
#                                               asked); 403 on a wrong
#                                               password; dropped otherwise
#   REGISTER asking less than min_expires       423 with Min-Expires
#   registrar="silent"                          every REGISTER dropped
#   INVITE without credentials                  401 (the box challenges
#                                               INVITEs too); the ACK for it
#                                               must come on its branch
#   INVITE with credentials on the challenged   dropped (the box takes it for
#   INVITE's branch                             a retransmission)
#   INVITE with credentials, new branch         100, 180, then what `answer`
#                                               says: "answer" (200 + SDP),
#                                               "never" (ring until CANCEL),
#                                               or {number: either}
#   CANCEL                                      200; then 487, or with
#                                               stale_200 a 200 + SDP for
#                                               the cancelled INVITE
#   ACK, BYE, INFO from the door                recorded; BYE and INFO get 200
#
# Its SDP answers telephone-event on `answer_dtmf_pt` (not the offered
# one; None: no telephone-event, so the phone sends SIP INFO), and names
# `sdp_host` (a stand-in for the box's private LAN address) while its
# RTP comes from `media` (a FlatRtp on 127.0.0.1). call_door() places a
# call from an internal phone (**610, the FRITZ!Fon) to the door's
# registered Contact; info_dtmf() sends digits as SIP INFO in the call.

import hashlib
import re
import socket
import threading
import time
import uuid

from intercom.sip.message import (
    Headers,
    Request,
    Response,
    SipParseError,
    make_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_via,
)
from intercom.sip.uri import parse_uri

from support.config import door_sections, merge_sections
from support.door import DOOR_CODE, start_door

REALM = "fritz.box"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]+))')


def _md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def digest_params(value):
    """The parameters of an Authorization value ("Digest k=v, ...")."""
    scheme, _, rest = value.partition(" ")
    assert scheme.lower() == "digest", value
    return {key.lower(): quoted or plain for key, quoted, plain in _PARAM.findall(rest)}


class Dialog:
    """One call as the box sees it: the INVITE, our To tag, the door's address."""

    def __init__(self, invite, local_tag, door, outgoing):
        self.invite = invite
        self.call_id = invite.headers.get("Call-ID")
        self.local_tag = local_tag
        self.door = door
        self.outgoing = outgoing  # True: the box called the door
        self.remote_tag = None
        self.cseq = 1
        self.remote_target = None
        self.answered = False


class FritzBox:
    def __init__(
        self,
        user="620",
        password="door-secret",
        registrar="answers",
        answer="answer",
        answer_delay_s=0.2,
        answer_dtmf_pt=100,
        sdp_host="127.0.0.1",
        media=None,
        stale_200=False,
        granted_expires=None,
        min_expires=None,
    ):
        self.user = user
        self.password = password
        self.registrar = registrar
        self.answer = answer
        self.answer_delay_s = answer_delay_s
        self.answer_dtmf_pt = answer_dtmf_pt
        self.sdp_host = sdp_host
        self.media = media
        self.stale_200 = stale_200
        self.granted_expires = granted_expires
        self.min_expires = min_expires
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.received = []  # (monotonic s, message, source) for every datagram parsed
        self.sent = []  # (message, destination)
        self.dropped = []  # (reason, message)
        self.contact = None  # the door's registered Contact URI
        self.register_challenge = None  # (nonce, Call-ID, From tag) of the last 401
        self.invite_challenges = {}  # Call-ID -> (nonce, branch, CSeq number, From tag)
        self.dialogs = {}  # Call-ID -> Dialog
        self.lock = threading.Lock()
        self.running = True
        self.timers = []  # (due monotonic s, function)
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        if self.thread.is_alive():
            self.thread.join()
        self.sock.close()

    # -- what the tests read ---------------------------------------------------

    def requests(self, method=None):
        with self.lock:
            return [
                (message, source)
                for _, message, source in self.received
                if isinstance(message, Request) and method in (None, message.method)
            ]

    def responses(self, method=None):
        with self.lock:
            return [
                message
                for _, message, _ in self.received
                if isinstance(message, Response)
                and method in (None, parse_cseq(message.headers.get("CSeq"))[1])
            ]

    def wait(self, predicate, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.02)
        raise AssertionError(
            "FRITZ!Box: no %s within %.0f s; received %r; dropped %r"
            % (what, timeout, [m for _, m, _ in self.received], self.dropped)
        )

    def wait_request(self, method, count=1, timeout=10.0):
        return self.wait(
            lambda: len(self.requests(method)) >= count and self.requests(method),
            timeout,
            "%d %s" % (count, method),
        )

    # -- the loop ----------------------------------------------------------------

    def _run(self):
        while self.running:
            now = time.monotonic()
            with self.lock:
                due = [timer for timer in self.timers if timer[0] <= now]
                self.timers = [timer for timer in self.timers if timer[0] > now]
            for _, function in due:
                function()
            try:
                data, source = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if data.strip() == b"":
                continue  # CRLF keep-alive
            try:
                message = parse_message(data)
            except SipParseError as error:
                self.dropped.append(("unparsable: %s" % error, data))
                continue
            with self.lock:
                self.received.append((time.monotonic(), message, source))
            if isinstance(message, Request):
                handler = getattr(self, "_on_" + message.method.lower(), None)
                if handler is not None:
                    handler(message, source)

    def _later(self, delay_s, function):
        with self.lock:
            self.timers.append((time.monotonic() + delay_s, function))

    def _send(self, message, destination):
        self.sock.sendto(message.to_bytes(), destination)
        with self.lock:
            self.sent.append((message, destination))

    def _reply(self, request, source, status, to_tag=None, extra=(), body=b""):
        response = make_response(request, status, to_tag=to_tag)
        for name, value in extra:
            response.headers.add(name, value)
        if body:
            response.headers.add("Content-Type", "application/sdp")
            response.body = body
        self._send(response, source)
        return response

    def _drop(self, reason, message):
        with self.lock:
            self.dropped.append((reason, message))

    # -- registrar ---------------------------------------------------------------

    def _on_register(self, request, source):
        if self.registrar == "silent":
            return self._drop("registrar silent", request)
        if parse_uri(request.uri).user is not None:
            return self._drop("REGISTER Request-URI with a user part", request)
        call_id = request.headers.get("Call-ID")
        from_tag = parse_name_addr(request.headers.get("From")).tag
        authorization = request.headers.get("Authorization")
        if authorization is None:
            nonce = uuid.uuid4().hex[:16]
            self.register_challenge = (nonce, call_id, from_tag)
            challenge = 'Digest realm="%s", nonce="%s"' % (REALM, nonce)
            return self._reply(request, source, 401, extra=[("WWW-Authenticate", challenge)])
        if self.register_challenge is None or self.register_challenge[1:] != (call_id, from_tag):
            return self._drop("authenticated REGISTER with another Call-ID or From tag", request)
        if not self._digest_ok(authorization, "REGISTER", self.register_challenge[0]):
            return self._reply(request, source, 403)
        expires = int(request.headers.get("Expires") or "300")
        if self.min_expires is not None and 0 < expires < self.min_expires:
            return self._reply(request, source, 423, extra=[("Min-Expires", str(self.min_expires))])
        contact = parse_name_addr(request.headers.get("Contact")).uri
        self.contact = contact
        if self.granted_expires is not None:
            expires = self.granted_expires
        self._reply(
            request,
            source,
            200,
            to_tag=uuid.uuid4().hex[:8],
            extra=[("Contact", "<%s>;expires=%s" % (contact, expires))],
        )

    def _digest_ok(self, authorization, method, nonce):
        params = digest_params(authorization)
        ha1 = _md5("%s:%s:%s" % (self.user, REALM, self.password))
        ha2 = _md5("%s:%s" % (method, params.get("uri", "")))
        return (
            params.get("username") == self.user
            and params.get("nonce") == nonce
            and params.get("response") == _md5("%s:%s:%s" % (ha1, nonce, ha2))
        )

    # -- calls from the door -------------------------------------------------------

    def _on_invite(self, request, source):
        call_id = request.headers.get("Call-ID")
        branch = parse_via(request.headers.get("Via")).branch
        cseq = parse_cseq(request.headers.get("CSeq"))[0]
        from_tag = parse_name_addr(request.headers.get("From")).tag
        if call_id in self.dialogs:
            dialog = self.dialogs[call_id]
            if parse_name_addr(request.headers.get("To")).tag == dialog.local_tag:
                return self._reply(  # a re-INVITE
                    request, source, 200, body=self._sdp(self.answer_dtmf_pt)
                )
            return None  # a retransmission: the answer to the first one stands
        authorization = request.headers.get("Authorization")
        if authorization is None:
            nonce = uuid.uuid4().hex[:16]
            self.invite_challenges[call_id] = (nonce, branch, cseq, from_tag)
            challenge = 'Digest realm="%s", nonce="%s"' % (REALM, nonce)
            return self._reply(
                request,
                source,
                401,
                to_tag=uuid.uuid4().hex[:8],
                extra=[("WWW-Authenticate", challenge)],
            )
        challenged = self.invite_challenges.get(call_id)
        if challenged is None:
            return self._drop("INVITE with credentials but no challenge", request)
        nonce, old_branch, old_cseq, old_from_tag = challenged
        if branch == old_branch:
            return self._drop("authenticated INVITE on the challenged branch", request)
        if cseq != old_cseq + 1 or from_tag != old_from_tag:
            return self._drop("authenticated INVITE: CSeq %d or another From tag" % cseq, request)
        if not self._digest_ok(authorization, "INVITE", nonce):
            return self._reply(request, source, 403)
        dialog = Dialog(request, uuid.uuid4().hex[:8], source, outgoing=False)
        dialog.remote_tag = from_tag
        dialog.remote_target = parse_name_addr(request.headers.get("Contact")).uri
        self.dialogs[call_id] = dialog
        self._reply(request, source, 100)
        self._reply(request, source, 180, to_tag=dialog.local_tag, extra=[self._contact()])
        answer = self.answer
        if isinstance(answer, dict):  # per number dialled
            answer = answer.get(parse_uri(request.uri).user, "never")
        if answer == "answer":
            self._later(self.answer_delay_s, lambda: self._answer(dialog))

    def _answer(self, dialog):
        if dialog.answered:
            return
        dialog.answered = True
        self._reply(
            dialog.invite,
            dialog.door,
            200,
            to_tag=dialog.local_tag,
            extra=[self._contact()],
            body=self._sdp(self.answer_dtmf_pt),
        )

    def _contact(self):
        return ("Contact", "<sip:%s@127.0.0.1:%d>" % (self.user, self.port))

    def _sdp(self, dtmf_pt):
        """Our SDP: PCMU, PCMA and telephone-event on dtmf_pt (None: none)."""
        port = self.media.port if self.media is not None else 4000
        formats = "0 8" + ("" if dtmf_pt is None else " %d" % dtmf_pt)
        lines = [
            "v=0",
            "o=- 1 1 IN IP4 %s" % self.sdp_host,
            "s=-",
            "c=IN IP4 %s" % self.sdp_host,
            "t=0 0",
            "m=audio %d RTP/AVP %s" % (port, formats),
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
        ]
        if dtmf_pt is not None:
            lines.append("a=rtpmap:%d telephone-event/8000" % dtmf_pt)
            lines.append("a=fmtp:%d 0-15" % dtmf_pt)
        lines += ["a=ptime:20", "a=sendrecv"]
        return ("\r\n".join(lines) + "\r\n").encode()

    def _on_cancel(self, request, source):
        self._reply(request, source, 200)
        dialog = self.dialogs.get(request.headers.get("Call-ID"))
        if dialog is None or dialog.answered:
            return
        if self.stale_200:
            self._answer(dialog)  # the phone was picked up as the CANCEL came
        else:
            dialog.answered = True
            self._reply(dialog.invite, dialog.door, 487, to_tag=dialog.local_tag)

    def _on_ack(self, request, source):
        pass  # recorded: tests read where it came and on which branch

    def _on_bye(self, request, source):
        self._reply(request, source, 200)

    def _on_info(self, request, source):
        self._reply(request, source, 200)

    # -- the box calls the door (an internal phone dials the door's number) --------

    def call_door(self, caller="**610", sdp_dtmf_pt=101):
        """INVITE from the internal phone `caller` to the door's registered
        Contact, offering telephone-event on sdp_dtmf_pt (None: none);
        returns its Call-ID. The door's answer is ACKed when it comes."""
        assert self.contact is not None, "the door has not registered"
        target = parse_uri(self.contact)
        door = (target.host, target.port or 5060)
        call_id = uuid.uuid4().hex + "@fritz.box"
        headers = Headers()
        headers.add("Via", "SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s" % (self.port, call_id[:12]))
        headers.add("From", '"FRITZ!Fon" <sip:%s@%s>;tag=%s' % (caller, REALM, call_id[:8]))
        headers.add("To", "<%s>" % self.contact)
        headers.add("Call-ID", call_id)
        headers.add("CSeq", "1 INVITE")
        headers.add("Contact", "<sip:%s@127.0.0.1:%d>" % (caller, self.port))
        headers.add("Max-Forwards", "70")
        headers.add("Content-Type", "application/sdp")
        invite = Request("INVITE", self.contact, headers, self._sdp(sdp_dtmf_pt))
        dialog = Dialog(invite, call_id[:8], door, outgoing=True)
        dialog.remote_target = self.contact
        self.dialogs[call_id] = dialog
        self._send(invite, door)
        return call_id

    def acknowledge(self, call_id, timeout=10.0):
        """Waits for the door's 200 to our INVITE and ACKs it."""
        dialog = self.dialogs[call_id]

        def answer():
            for message in self.responses("INVITE"):
                if message.headers.get("Call-ID") == call_id and message.status == 200:
                    return message
            return None

        ok = self.wait(answer, timeout, "200 from the door")
        dialog.remote_tag = parse_name_addr(ok.headers.get("To")).tag
        contact = ok.headers.get("Contact")
        if contact is not None:
            dialog.remote_target = parse_name_addr(contact).uri
        dialog.answered = True
        self._send(self._in_dialog(dialog, "ACK", cseq=1), dialog.door)
        return ok

    def _in_dialog(self, dialog, method, cseq=None, body=b"", content_type=None):
        if cseq is None:
            dialog.cseq += 1
            cseq = dialog.cseq
        headers = Headers()
        branch = "z9hG4bK" + uuid.uuid4().hex[:12]
        headers.add("Via", "SIP/2.0/UDP 127.0.0.1:%d;branch=%s" % (self.port, branch))
        invite = dialog.invite.headers
        if dialog.outgoing:
            headers.add("From", invite.get("From"))
            headers.add("To", "%s;tag=%s" % (invite.get("To"), dialog.remote_tag))
        else:
            headers.add("From", "%s;tag=%s" % (invite.get("To"), dialog.local_tag))
            headers.add("To", invite.get("From"))
        headers.add("Call-ID", dialog.call_id)
        headers.add("CSeq", "%d %s" % (cseq, method))
        headers.add("Max-Forwards", "70")
        if content_type is not None:
            headers.add("Content-Type", content_type)
        return Request(method, dialog.remote_target, headers, body)

    def info_dtmf(self, call_id, digits, content_type="application/dtmf-relay"):
        """Each digit as one SIP INFO in the call (the FRITZ!Fon's keys when
        no telephone-event was agreed), each after the last one's 200."""
        dialog = self.dialogs[call_id]
        for digit in digits:
            if content_type == "application/dtmf-relay":
                body = ("Signal=%s\r\nDuration=160\r\n" % digit).encode()
            else:
                body = digit.encode()
            request = self._in_dialog(dialog, "INFO", body=body, content_type=content_type)
            cseq = request.headers.get("CSeq")
            self._send(request, dialog.door)
            self.wait(
                lambda cseq=cseq: any(
                    message.headers.get("CSeq") == cseq for message in self.responses("INFO")
                ),
                5.0,
                "200 for INFO %s" % cseq,
            )

    def hangup(self, call_id):
        dialog = self.dialogs[call_id]
        self._send(self._in_dialog(dialog, "BYE"), dialog.door)


def fritzbox_door(owned, folder, box, targets=("**610",), wait_registered=True, **sections):
    """A sim door registered at `box` as its "IP door intercom" account
    (sip.server the box, sip.domain fritz.box, the box's user and
    password), calling `targets`, door code DOOR_CODE, speaker to
    heard.wav; extra sections merged in."""
    folder.mkdir(parents=True, exist_ok=True)
    merged = door_sections(
        list(targets),
        "Front door",
        box.user,
        sip={"server": "127.0.0.1:%d" % box.port, "domain": REALM, "password": box.password},
        door={"code": DOOR_CODE},
        audio={"input": "silence", "output": "file:heard.wav"},
    )
    merge_sections(merged, sections)
    door = start_door(owned, folder, merged)
    if wait_registered:
        door.wait_for("registered", timeout=10)
    return door


def fritzfon_calls_the_door(owned, folder, box, sdp_dtmf_pt):
    """A door at `box` that answers the FRITZ!Fon (**610) and lets it open
    (hanging up 1 s after); the FRITZ!Fon calls it offering telephone-event
    on sdp_dtmf_pt (None: not at all). Returns the door, the call's Call-ID
    and the door's 200, once the door has taken the call."""
    door = fritzbox_door(
        owned,
        folder,
        box,
        call={"answer_from": ["**610"]},
        door={"open_from": ["**610"], "hangup_after_open": 1},
    )
    call_id = box.call_door("**610", sdp_dtmf_pt=sdp_dtmf_pt)
    answer = box.acknowledge(call_id)
    door.wait_for("incoming_call", accepted=True)
    return door, call_id, answer
