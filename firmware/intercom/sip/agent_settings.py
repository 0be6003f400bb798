# Settings of the SIP agent: one object, built by the config layer (or a
# test) and passed to Agent. Times in integer ms; hosts are addresses the
# board already resolved (the core does no DNS).

from intercom.sip.flow import SIP_PORT
from intercom.sip.grammar import parse_hostport
from intercom.sip.timers import SipTimers


class AgentSettings:
    """Everything the agent needs to know, in one object (see config.py).

    server: "host[:port]" of the registrar/proxy (an address the board
    resolved), or None for peer-to-peer. local_host/local_port: our
    reachable address for Via/Contact/SDP. realm: when set, the only digest
    realm we answer. targets/answer_from: URIs or users (peer-to-peer trust).
    peer_media_same_host: peer-to-peer, SDP must name the peer's own host.
    asserted_identity: server mode, callers by P-Asserted-Identity.
    """

    def __init__(
        self,
        user,
        local_host,
        local_port,
        server=None,
        domain=None,
        password=None,
        realm=None,
        register=True,
        expires_s=300,
        display_name=None,
        trusted=(),
        targets=(),
        answer_from=(),
        codecs=("PCMU", "PCMA"),
        ptime=20,
        ring_timeout_ms=30000,
        t1_ms=500,
        t2_ms=4000,
        t4_ms=5000,
        max_message_size=8192,
        max_transactions=64,
        max_calls=4,
        rate_per_s=20,
        rate_burst=40,
        max_sources=32,
        keepalive_ms=25000,
        user_agent="intercom",
        peer_media_same_host=True,
        asserted_identity=False,
    ):
        self.user = user
        self.local_host = local_host
        self.local_port = local_port
        self.server = server
        self.server_address = None
        if server:
            host, port = parse_hostport(server)  # SipParseError for a bad one
            self.server_address = (host, port or SIP_PORT)
        self.domain = domain or (self.server_address[0] if self.server_address else local_host)
        self.password = password
        self.realm = realm
        self.register = register
        self.expires_s = expires_s
        self.display_name = display_name
        self.trusted = tuple(trusted)
        self.targets = tuple(targets)
        self.answer_from = tuple(answer_from)
        self.codecs = tuple(codecs)
        self.ptime = ptime  # ms of audio per packet, offered and answered (audio.ptime)
        self.ring_timeout_ms = ring_timeout_ms
        self.timers = SipTimers(t1_ms, t2_ms, t4_ms)
        self.max_message_size = max_message_size
        self.max_transactions = max_transactions
        self.max_calls = max_calls
        self.rate_per_s = rate_per_s
        self.rate_burst = rate_burst
        self.max_sources = max_sources
        self.keepalive_ms = keepalive_ms
        self.user_agent = user_agent
        self.peer_media_same_host = peer_media_same_host
        self.asserted_identity = asserted_identity
