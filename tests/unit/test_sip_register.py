# Registration (intercom.sip.register) on a virtual clock: every REGISTER
# goes out through a real session context (intercom.sip.context: the Via,
# the client transaction), every response is built from the request the
# way a registrar would, and the test plays the agent's routing (it hands
# the response to the transaction's owner, with the source address it came
# from).

import binascii
import hashlib

from intercom.config import validate
from intercom.sip.agent_settings import AgentSettings
from intercom.sip.backoff import randomised, retry_delay_ms
from intercom.sip.context import SessionContext
from intercom.sip.flow import UDP, make_flow
from intercom.sip.framing import PING
from intercom.sip.message import make_response, parse_message, parse_via
from intercom.sip.register import Registration, refresh_delay_ms

SERVER = ("192.0.2.10", 5060)
ELSEWHERE = ("198.51.100.66", 5060)
CHALLENGE = 'Digest realm="example.org", nonce="%s", qop="auth", opaque="op1", algorithm=%s'


class CountingRandom:
    """random_bytes stand-in: a fixed byte, or a counter so values differ."""

    def __init__(self, fill=None):
        self.counter = 0
        self.fill = fill

    def __call__(self, count):
        if self.fill is not None:
            return bytes([self.fill]) * count
        out = bytearray(count)
        for index in range(count):
            self.counter = (self.counter + 1) & 0xFF
            out[index] = self.counter
        return bytes(out)


class Agent:
    """Plays the agent around a real session context: takes the REGISTERs
    the registration sent, and routes responses and timeouts to it."""

    def __init__(self, registration, context):
        self.registration = registration
        self.context = context
        self.keepalives = 0

    def _take(self):
        """Move what the context sent out: REGISTERs (parsed) and keep-alives."""
        outbox = self.context.outbox
        requests = []
        for wire, flow in outbox:
            assert flow == self.registration.flow, flow
            if wire == PING:
                self.keepalives += 1
            else:
                requests.append(parse_message(wire))
        del outbox[:]
        return requests

    def send(self, now_ms):
        """The one REGISTER the registration sent since the last look."""
        requests = self._take()
        assert len(requests) == 1, "expected a REGISTER, got %r" % requests
        return requests[0]

    def idle(self):
        """Nothing sent since the last look (keep-alives aside)."""
        return self._take() == []

    def transaction(self, request):
        branch = parse_via(request.headers.get("Via")).branch
        return self.context.transactions[(branch, "REGISTER")]

    def respond(self, request, status, fields=(), via=None, now_ms=0, source=SERVER):
        response = make_response(request, status, to_tag="registrar")
        for name, value in fields:
            response.headers.add(name, value)
        if via is not None:
            response.headers.set("Via", via)
        response = parse_message(response.to_bytes())
        self.deliver(request, response, now_ms, source)
        return response

    def deliver(self, request, response, now_ms=0, source=SERVER):
        """What the agent does with a response from source: its transaction
        first, then the transaction's owner."""
        response.source = None if source is None else make_flow(UDP, source)
        transaction = self.transaction(request)
        if transaction.receive_response(response, now_ms):
            self.registration.on_response(transaction, response, now_ms)

    def hand_over(self, request, response, now_ms=0, source=SERVER):
        """Straight to the registration, past the transaction: what it does
        with responses that are not its own."""
        response.source = make_flow(UDP, source)
        self.registration.on_response(self.transaction(request), response, now_ms)

    def time_out(self, request, now_ms):
        """The REGISTER's transaction gave up (Timer F)."""
        self.registration.on_transaction_timeout(self.transaction(request), now_ms)

    def events(self):
        events = self.context.events
        found = events[:]
        del events[:]
        return found


def make(random_bytes=None, keepalive_ms=0, realm=None, password="secret", **options):
    """A registration for door@example.org at SERVER, contact 10.0.0.5:5060."""
    sip = {
        "server": "%s:%d" % SERVER,
        "domain": "example.org",
        "user": "door",
        "password": password,
        "keepalive": keepalive_ms // 1000,
    }
    if realm is not None:
        sip["realm"] = realm
    config = validate({"sip": sip, "call": {"targets": ["flat1"]}}, "test")
    return registration_for(config, ("10.0.0.5", 5060), random_bytes, **options)


def registration_for(config, local, random_bytes=None, expires_s=None, **options):
    settings = AgentSettings(config, local[0], local[1])
    if expires_s is not None:
        settings.expires_s = expires_s  # outside the config's range
    context = SessionContext(settings, random_bytes or CountingRandom())
    registration = Registration(context, **options)
    return registration, Agent(registration, context)


def digest_params(value):
    assert value.startswith("Digest "), value
    params = {}
    for part in value[7:].split(","):
        key, _, raw = part.strip().partition("=")
        params[key.lower()] = raw.strip('"')
    return params


def hex_hash(hash_function, text):
    return binascii.hexlify(hash_function(text.encode()).digest()).decode()


def expected_response(params, hash_function, password="secret"):
    """RFC 7616 section 3.4.1 response for qop=auth, computed independently."""
    ha1 = hex_hash(hash_function, "%s:%s:%s" % (params["username"], params["realm"], password))
    ha2 = hex_hash(hash_function, "REGISTER:" + params["uri"])
    parts = [ha1, params["nonce"], params["nc"], params["cnonce"], "auth", ha2]
    return hex_hash(hash_function, ":".join(parts))


def register_with_digest(registration, agent, now_ms=0, granted="300"):
    """start -> 401 -> REGISTER with credentials -> 200; returns the last request."""
    registration.start(now_ms)
    first = agent.send(now_ms)
    agent.respond(first, 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))], now_ms=now_ms)
    second = agent.send(now_ms)
    contact = "<%s>;expires=%s" % (registration.contact, granted)
    agent.respond(second, 200, [("Contact", contact)], now_ms=now_ms)
    return second


def registered():
    """A registration registered by register_with_digest, its events read."""
    registration, agent = make()
    register_with_digest(registration, agent)
    agent.events()
    return registration, agent


def test_first_register_carries_the_rfc_3261_fields():
    registration, agent = make()
    registration.start(0)
    request = agent.send(0)
    assert agent.idle()
    headers = request.headers
    via = parse_via(headers.get("Via"))  # the context adds it: ours, with rport
    assert (via.transport, via.host, via.port) == ("UDP", "10.0.0.5", 5060)
    assert "rport" in via.params and via.branch.startswith("z9hG4bK")
    assert request.method == "REGISTER"
    assert request.uri == "sip:example.org"
    assert headers.get("To") == "<sip:door@example.org>"
    assert headers.get("From").startswith("<sip:door@example.org>;tag=")
    assert headers.get("CSeq") == "1 REGISTER"
    assert headers.get("Contact") == "<sip:door@10.0.0.5:5060>"
    assert headers.get("Expires") == "300"
    assert headers.get("Max-Forwards") == "70"
    assert headers.get("User-Agent") == "intercom"
    assert "INVITE" in headers.get_all("Allow")
    assert headers.get("Authorization") is None
    assert len(headers.get("Call-ID")) >= 16
    assert registration.get_timer() is None


def test_request_uri_names_the_server_port_when_the_domain_is_the_server():
    sip = {"server": "127.0.0.1:5070", "user": "door", "password": "pw", "expires": 60}
    config = validate({"sip": sip, "call": {"targets": ["flat1"]}}, "test")
    registration, agent = registration_for(config, ("127.0.0.1", 5080))
    registration.start(0)
    request = agent.send(0)
    assert request.uri == "sip:127.0.0.1:5070"
    assert request.headers.get("To") == "<sip:door@127.0.0.1>"
    assert registration.contact == "sip:door@127.0.0.1:5080"


def retry_after(status, challenges):
    """The REGISTER sent again after the first was answered `status` with
    the challenge headers `challenges`."""
    registration, agent = make()
    registration.start(0)
    agent.respond(agent.send(0), status, challenges)
    return agent.send(0)


def test_md5_digest_with_qop_auth_and_opaque():
    registration, agent = make()
    registration.start(0)
    first = agent.send(0)
    agent.respond(first, 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))])
    assert agent.events() == []
    second = agent.send(0)
    assert second.headers.get("CSeq") == "2 REGISTER"
    assert second.headers.get("Call-ID") == first.headers.get("Call-ID")
    assert second.headers.get("From") == first.headers.get("From")
    params = digest_params(second.headers.get("Authorization"))
    assert params["username"] == "door"
    assert params["realm"] == "example.org"
    assert params["nonce"] == "n1"
    assert params["uri"] == "sip:example.org"
    assert params["qop"] == "auth"
    assert params["nc"] == "00000001"
    assert params["opaque"] == "op1"
    assert len(params["cnonce"]) >= 8
    assert params["response"] == expected_response(params, hashlib.md5)


def test_sha256_digest_rfc_8760():
    retry = retry_after(401, [("WWW-Authenticate", CHALLENGE % ("n1", "SHA-256"))])
    params = digest_params(retry.headers.get("Authorization"))
    assert params["algorithm"] == "SHA-256"
    assert len(params["response"]) == 64
    assert params["response"] == expected_response(params, hashlib.sha256)


def test_sha256_is_preferred_over_md5_among_several_challenges():
    offers = [
        ("WWW-Authenticate", CHALLENGE % ("m1", "MD5")),
        ("WWW-Authenticate", 'Digest realm="example.org", nonce="x", algorithm=SHA-512-256'),
        ("WWW-Authenticate", CHALLENGE % ("s1", "SHA-256")),
    ]
    params = digest_params(retry_after(401, offers).headers.get("Authorization"))
    assert params["nonce"] == "s1"
    assert params["response"] == expected_response(params, hashlib.sha256)


def test_407_is_answered_with_proxy_authorization():
    second = retry_after(407, [("Proxy-Authenticate", CHALLENGE % ("p1", "MD5"))])
    assert second.headers.get("Authorization") is None
    params = digest_params(second.headers.get("Proxy-Authorization"))
    assert params["nonce"] == "p1"
    assert params["response"] == expected_response(params, hashlib.md5)


def test_200_registers_and_arms_the_refresh_from_the_granted_expiry():
    registration, agent = make()
    register_with_digest(registration, agent, now_ms=1000, granted="120")
    assert agent.events() == [
        {"event": "registered", "expires": 120, "contact": "sip:door@10.0.0.5:5060"}
    ]
    assert registration.registered
    assert registration.expires_s == 120
    # max(E/2, E - 32 s) = max(60 s, 88 s)
    assert registration.get_timer() == 1000 + 88000
    registration.handle_timer(1000 + 87999)
    assert agent.idle()
    registration.handle_timer(1000 + 88000)
    assert not agent.idle()


def test_expiry_comes_from_our_contact_then_the_expires_field():
    registration, agent = make()
    registration.start(0)
    request = agent.send(0)
    others = "<sip:door@10.9.9.9:5060>;expires=3000, <sip:door@10.0.0.5:5060>;expires=40"
    agent.respond(request, 200, [("Contact", others), ("Expires", "999")])
    assert agent.events()[0]["expires"] == 40
    assert registration.get_timer() == 20000  # max(20 s, 8 s)

    registration, agent = make()
    registration.start(0)
    agent.respond(agent.send(0), 200, [("Expires", "3600")])
    assert agent.events()[0]["expires"] == 3600
    assert registration.get_timer() == 3600000 - 32000


def test_refresh_keeps_call_id_and_reuses_the_nonce_with_the_next_nonce_count():
    registration, agent = make()
    second = register_with_digest(registration, agent, granted="300")
    agent.events()
    refresh_at = registration.get_timer()
    assert refresh_at == 268000
    registration.handle_timer(refresh_at)
    third = agent.send(refresh_at)
    assert third.headers.get("CSeq") == "3 REGISTER"
    assert third.headers.get("Call-ID") == second.headers.get("Call-ID")
    assert third.headers.get("From") == second.headers.get("From")
    before = digest_params(second.headers.get("Authorization"))
    after = digest_params(third.headers.get("Authorization"))
    assert after["nonce"] == "n1"
    assert after["nc"] == "00000002"
    assert after["cnonce"] != before["cnonce"]
    assert after["response"] == expected_response(after, hashlib.md5)
    agent.respond(third, 200, [("Expires", "300")], now_ms=refresh_at)
    assert agent.events()[0]["event"] == "registered"
    assert registration.get_timer() == refresh_at + 268000


def test_repeated_401_fails_instead_of_looping():
    registration, agent = make(random_bytes=CountingRandom(fill=0))
    registration.start(0)
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))])
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", CHALLENGE % ("n2", "MD5"))])
    assert agent.idle()
    assert agent.events() == [
        {
            "event": "registration_failed",
            "reason": "authentication failed",
            "status": 401,
            "retry_in_ms": 30000,
        }
    ]
    assert not registration.registered
    assert registration.get_timer() == 30000


def test_stale_nonce_is_retried_once():
    registration, agent = make()
    registration.start(0)
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))])
    with_n1 = agent.send(0)
    stale = CHALLENGE % ("n2", "MD5") + ", stale=true"
    agent.respond(with_n1, 401, [("WWW-Authenticate", stale)])
    with_n2 = agent.send(0)
    params = digest_params(with_n2.headers.get("Authorization"))
    assert params["nonce"] == "n2"
    assert params["nc"] == "00000001"
    assert params["response"] == expected_response(params, hashlib.md5)
    stale_again = CHALLENGE % ("n3", "MD5") + ", stale=true"
    agent.respond(with_n2, 401, [("WWW-Authenticate", stale_again)])
    assert agent.idle()
    assert agent.events()[0]["reason"] == "authentication failed"


def test_stale_nonce_on_a_refresh_gets_a_fresh_retry():
    registration, agent = registered()
    registration.handle_timer(268000)
    refresh = agent.send(268000)
    stale = CHALLENGE % ("n9", "MD5") + ", stale=true"
    agent.respond(refresh, 401, [("WWW-Authenticate", stale)], now_ms=268000)
    retry = agent.send(268000)
    assert digest_params(retry.headers.get("Authorization"))["nonce"] == "n9"
    agent.respond(retry, 200, [("Expires", "300")], now_ms=268000)
    assert agent.events()[0]["event"] == "registered"


def test_403_is_a_forbidden_failure():
    registration, agent = make(random_bytes=CountingRandom(fill=0xFF))
    registration.start(0)
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))])
    agent.respond(agent.send(0), 403)
    assert agent.events() == [
        {"event": "registration_failed", "reason": "forbidden", "status": 403, "retry_in_ms": 60000}
    ]
    assert agent.idle()


def test_foreign_realm_gets_no_credentials():
    registration, agent = make(realm="example.org")
    registration.start(0)
    evil = 'Digest realm="evil.example", nonce="x", qop="auth"'
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", evil)])
    assert agent.idle()
    event = agent.events()[0]
    assert event["event"] == "registration_failed"
    assert event["reason"] == "foreign realm"
    assert event["status"] == 401


def test_challenge_from_another_address_gets_no_credentials():
    for source in (ELSEWHERE, (SERVER[0], 5099), None):
        registration, agent = make()
        registration.start(0)
        first = agent.send(0)
        agent.respond(first, 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))], source=source)
        assert agent.idle()
        assert agent.events()[0]["reason"] == "foreign realm"


def test_any_realm_is_answered_from_the_server_when_no_realm_is_configured():
    registration, agent = make()
    registration.start(0)
    fritz = 'Digest realm="fritz.box", nonce="f1"'
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", fritz)])
    params = digest_params(agent.send(0).headers.get("Authorization"))
    assert params["realm"] == "fritz.box"
    assert "qop" not in params  # RFC 2069 style when no qop is offered
    ha1 = hex_hash(hashlib.md5, "door:fritz.box:secret")
    ha2 = hex_hash(hashlib.md5, "REGISTER:sip:example.org")
    assert params["response"] == hex_hash(hashlib.md5, ha1 + ":f1:" + ha2)


def test_a_challenge_without_a_password_configured_gets_no_credentials():
    # The old registration answered it with a digest of the text "None".
    registration, agent = make(password=None)
    registration.start(0)
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))])
    assert agent.idle()
    event = agent.events()[0]
    assert (event["event"], event["reason"], event["status"]) == (
        "registration_failed",
        "no password",
        401,
    )


def test_unusable_challenge_fails_without_sending():
    registration, agent = make()
    registration.start(0)
    agent.respond(agent.send(0), 401, [("WWW-Authenticate", 'Basic realm="x"')])
    assert agent.idle()
    assert agent.events()[0]["reason"] == "unsupported challenge"


def test_423_retries_with_min_expires():
    registration, agent = make()
    registration.start(0)
    agent.respond(agent.send(0), 423, [("Min-Expires", "600")])
    assert agent.events() == []
    retry = agent.send(0)
    assert retry.headers.get("Expires") == "600"
    assert retry.headers.get("CSeq") == "2 REGISTER"
    agent.respond(retry, 200, [("Expires", "600")])
    assert agent.events()[0]["expires"] == 600
    assert registration.get_timer() == 568000


def test_423_without_a_larger_min_expires_fails():
    registration, agent = make(random_bytes=CountingRandom(fill=0))
    registration.start(0)
    agent.respond(agent.send(0), 423, [("Min-Expires", "300")])
    assert agent.idle()
    event = agent.events()[0]
    assert event["reason"] == "interval too brief"
    assert event["status"] == 423


def test_retry_after_sets_the_wait():
    registration, agent = make()
    registration.start(5000)
    request = agent.send(5000)
    agent.respond(request, 503, [("Retry-After", "120 (maintenance)")], now_ms=5000)
    event = agent.events()[0]
    assert event["status"] == 503
    assert event["retry_in_ms"] == 120000
    assert registration.get_timer() == 125000
    registration.handle_timer(124999)
    assert agent.idle()
    registration.handle_timer(125000)
    retry = agent.send(125000)
    assert retry.headers.get("CSeq") == "2 REGISTER"
    # A zero or huge Retry-After is kept between 1 s and the back-off cap.
    agent.respond(retry, 500, [("Retry-After", "0")], now_ms=125000)
    assert agent.events()[0]["retry_in_ms"] == 1000
    registration.handle_timer(126000)
    agent.respond(agent.send(126000), 503, [("Retry-After", "999999")], now_ms=126000)
    assert agent.events()[0]["retry_in_ms"] == 1800000


def test_backoff_doubles_within_bounds_and_resets_after_success():
    low, agent = make(random_bytes=CountingRandom(fill=0))
    high, high_agent = make(random_bytes=CountingRandom(fill=0xFF))
    now = 0
    low_waits = []
    high_waits = []
    low.start(now)
    high.start(now)
    for _ in range(8):
        agent.time_out(agent.send(now), now)
        high_agent.time_out(high_agent.send(now), now)
        low_waits.append(agent.events()[0]["retry_in_ms"])
        high_waits.append(high_agent.events()[0]["retry_in_ms"])
        now = high.get_timer()
        low.handle_timer(now)
        high.handle_timer(now)
    # RFC 5626 4.5: min(1800 s, 30 s * 2**n), then 50 .. 100 % of it
    assert high_waits == [60000, 120000, 240000, 480000, 960000, 1800000, 1800000, 1800000]
    assert low_waits == [wait // 2 for wait in high_waits]
    request = high_agent.send(now)
    high_agent.respond(request, 200, [("Expires", "300")], now_ms=now)
    high_agent.events()
    high.handle_timer(high.get_timer())
    high_agent.time_out(high_agent.send(0), 0)
    assert high_agent.events()[0]["retry_in_ms"] == 60000


def test_backoff_constants_are_configurable():
    registration, agent = make(
        random_bytes=CountingRandom(fill=0xFF), backoff_base_ms=100, backoff_cap_ms=250
    )
    registration.start(0)
    waits = []
    for _ in range(3):
        agent.time_out(agent.send(0), 0)
        waits.append(agent.events()[0]["retry_in_ms"])
        registration.handle_timer(registration.get_timer())
    assert waits == [200, 250, 250]


def test_a_registrar_that_never_answers_is_no_response():
    # Distinct from a refusal ("forbidden", 403) and from 423 handling: the
    # REGISTER's transaction timed out (Timer F) without any response.
    registration, agent = make()
    registration.start(0)
    agent.time_out(agent.send(0), 32000)
    event = agent.events()[0]
    assert event["reason"] == "no_response"
    assert event["status"] is None
    assert 30000 <= event["retry_in_ms"] <= 60000
    assert registration.get_timer() == 32000 + event["retry_in_ms"]


def test_nat_rewrites_the_contact_and_removes_the_old_binding():
    registration, agent = make()
    registration.start(0)
    first = agent.send(0)
    seen = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000;received=203.0.113.7"
    agent.respond(first, 200, [("Expires", "300")], via=seen)
    assert agent.events() == []
    assert not registration.registered
    assert registration.contact == "sip:door@203.0.113.7:40000"
    fixed = agent.send(0)
    assert fixed.headers.get_all("Contact") == [
        "<sip:door@10.0.0.5:5060>;expires=0",
        "<sip:door@203.0.113.7:40000>",
    ]
    assert fixed.headers.get("Expires") == "300"
    seen = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK2;rport=40000;received=203.0.113.7"
    agent.respond(fixed, 200, [("Contact", "<sip:door@203.0.113.7:40000>;expires=300")], via=seen)
    assert agent.events() == [
        {"event": "registered", "expires": 300, "contact": "sip:door@203.0.113.7:40000"}
    ]
    registration.handle_timer(registration.get_timer())
    assert agent.send(0).headers.get_all("Contact") == ["<sip:door@203.0.113.7:40000>"]


def test_rport_alone_fixes_only_the_port_and_foreign_sources_fix_nothing():
    registration, agent = make()
    registration.start(0)
    seen = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=5062"
    agent.respond(agent.send(0), 200, [("Expires", "300")], via=seen)
    assert registration.contact == "sip:door@10.0.0.5:5062"

    registration, agent = make()
    registration.start(0)
    seen = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000;received=203.0.113.7"
    agent.respond(agent.send(0), 200, [("Expires", "300")], via=seen, source=ELSEWHERE)
    assert registration.contact == "sip:door@10.0.0.5:5060"
    assert registration.registered


def test_stop_unregisters_with_expires_zero_and_credentials():
    registration, agent = registered()
    registration.stop(1000)
    request = agent.send(1000)
    assert request.headers.get("Expires") == "0"
    assert request.headers.get("Contact") == "<sip:door@10.0.0.5:5060>"
    assert request.headers.get("CSeq") == "3 REGISTER"
    params = digest_params(request.headers.get("Authorization"))
    assert params["nc"] == "00000002"
    agent.respond(request, 200, now_ms=1000)
    assert agent.events() == [{"event": "unregistered", "status": 200, "reason": None}]
    assert not registration.registered
    assert registration.get_timer() is None
    assert agent.idle()


def stopping():
    """A registration registered at once (200, no challenge), its events
    read, then stopped at 0: its unregister waits in the agent."""
    registration, agent = make()
    registration.start(0)
    agent.respond(agent.send(0), 200, [("Expires", "300")])
    agent.events()
    registration.stop(0)
    return registration, agent


def test_stop_answers_a_challenge_to_the_unregister():
    registration, agent = stopping()
    request = agent.send(0)
    agent.respond(request, 401, [("WWW-Authenticate", CHALLENGE % ("u1", "MD5"))])
    retry = agent.send(0)
    assert retry.headers.get("Expires") == "0"
    assert digest_params(retry.headers.get("Authorization"))["nonce"] == "u1"
    agent.respond(retry, 200)
    assert agent.events()[0]["event"] == "unregistered"


def test_stop_during_the_first_register_waits_for_its_outcome():
    registration, agent = make()
    registration.start(0)
    request = agent.send(0)
    registration.stop(0)
    assert agent.idle()
    agent.respond(request, 200, [("Expires", "300")])
    unregister = agent.send(0)
    assert unregister.headers.get("Expires") == "0"
    agent.respond(unregister, 200)
    assert agent.events() == [{"event": "unregistered", "status": 200, "reason": None}]

    registration, agent = make()
    registration.start(0)
    request = agent.send(0)
    registration.stop(0)
    agent.respond(request, 401, [("WWW-Authenticate", CHALLENGE % ("n1", "MD5"))])
    assert agent.idle()  # nothing was bound
    assert agent.events() == [{"event": "unregistered", "status": None, "reason": None}]


def test_unregister_timeout_still_ends():
    registration, agent = stopping()
    agent.time_out(agent.send(0), 32000)
    assert agent.events() == [{"event": "unregistered", "status": None, "reason": "no_response"}]
    registration.start(40000)  # a stopped registration may start again
    assert agent.send(40000).headers.get("Expires") == "300"


def test_keepalives_while_registered():
    registration, agent = make(random_bytes=CountingRandom(fill=0), keepalive_ms=25000)
    registration.start(0)
    request = agent.send(0)
    assert registration.get_timer() is None  # no keep-alive before the binding
    agent.respond(request, 200, [("Expires", "300")], now_ms=1000)
    # RFC 5626 4.4.1: 80 .. 100 % of the interval; the fixed random gives 80 %
    assert registration.get_timer() == 21000
    registration.handle_timer(20999)
    assert agent.idle() and agent.keepalives == 0
    registration.handle_timer(21000)
    assert agent.idle()  # no REGISTER, one keep-alive to the server
    assert agent.keepalives == 1
    assert registration.get_timer() == 41000
    assert PING == b"\r\n\r\n"
    registration.stop(50000)
    agent.send(50000)  # the unregister
    registration.handle_timer(100000)
    assert agent.idle() and agent.keepalives == 1


def test_flow_timer_replaces_the_keepalive_interval():
    registration, agent = make(random_bytes=CountingRandom(fill=0xFF), keepalive_ms=25000)
    registration.start(0)
    agent.respond(agent.send(0), 200, [("Expires", "300"), ("Flow-Timer", "10")])
    assert registration.get_timer() == 10000


def test_stray_and_malformed_responses_are_ignored_and_counted():
    registration, agent = make()
    registration.start(0)
    request = agent.send(0)
    response = make_response(request, 200)
    response.headers.set("CSeq", "7 REGISTER")
    agent.hand_over(request, response)
    response = make_response(request, 200)
    response.headers.set("Call-ID", "someone-else")
    agent.hand_over(request, response)
    response = make_response(request, 200)
    response.headers.set("CSeq", "garbage")
    agent.hand_over(request, response)
    agent.respond(request, 100)
    assert registration.ignored_responses == 3
    assert agent.events() == []
    # Fields our parser would refuse still must not upset the Registration.
    response = make_response(request, 200, to_tag="registrar")
    response.headers.add("Contact", "<not a uri")
    response.headers.add("Contact", "<sip:door@10.0.0.5:5060>;expires=soon")
    response.headers.add("Expires", "abc")
    response.headers.add("Flow-Timer", "-1")
    agent.hand_over(request, response)
    assert agent.events()[0]["expires"] == 300  # what we asked for
    agent.hand_over(request, response)  # nothing in flight
    assert registration.ignored_responses == 4


def test_misuse_raises():
    registration, agent = make()
    registration.start(0)
    try:
        registration.start(0)
    except RuntimeError:
        pass
    else:
        raise AssertionError("second start() must raise")
    try:
        make(expires_s=0)
    except ValueError:
        pass
    else:
        raise AssertionError("expires 0 must raise")


def test_refresh_and_backoff_arithmetic():
    assert refresh_delay_ms(60) == 30000
    assert refresh_delay_ms(300) == 268000
    assert refresh_delay_ms(1) == 1000
    assert refresh_delay_ms(0) == 1000
    assert refresh_delay_ms(10000000) == 86400000
    assert randomised(1000, 50, CountingRandom(fill=0)) == 500
    assert randomised(1000, 50, CountingRandom(fill=0xFF)) == 1000
    assert retry_delay_ms(100, CountingRandom(fill=0xFF)) == 1800000
