# Settings of the SIP agent: one object, built from the door's effective
# config (intercom.config: every default and limit lives there) in this one
# place, plus the protocol's own limits, which no config names. Times in
# integer ms; hosts are addresses the board already resolved (the core does
# no DNS).
#
#   from the config            setting
#   -------------------------- ------------------------------------------
#   sip.user, password, realm  user, password, realm
#   sip.server                 server, server_address (host, port 5060;
#                              5061 over TLS)
#   sip.domain                 domain (else the server host, else local_host)
#   sip.register, expires      register, expires_s
#   sip.transport              transport ("udp" | "tcp" | "tls",
#                              intercom.sip.flow)
#   sip.keepalive              keepalive_ms
#   sip.trusted                trusted
#   sip.peer_media_same_host   peer_media_same_host
#   sip.asserted_identity      asserted_identity
#   sip.session_expires        session_expires_s (RFC 4028; 0: not asked for)
#   device.name                display_name
#   call.targets, the targets  targets: every target the door may ring
#   of each [[button]] and     (peer-to-peer, their hosts may talk to us)
#   [[schedule]]
#   call.transfer_to           targets too (peer-to-peer, the hosts a
#                              transfer may ring talk to us)
#   call.answer_from           answer_from
#   call.ring_timeout          ring_timeout_ms: + RING_SLACK_MS, the agent's
#                              own ring timer is a safety net behind the
#                              doorbell's
#   (the longest of those      max_calls: one round of targets ringing, the
#   target lists)              previous round still cancelling, and a
#                              resident calling in
#   audio.codecs               codecs
#   audio.ptime                ptime: ms of audio per packet, offered and
#                              answered
#   audio.srtp                 srtp: the SDES mode of intercom.sdp ("off",
#                              "optional", "mandatory")
#   (sip.transport "tls")      SDES keys cross the network in the SDP,
#                              so srtp other than "off" without TLS raises
#                              ValueError (the config check says so first);
#                              secure_transports: the flows' transports a
#                              call may carry keys over (TLS only);
#                              accepted_transports: what SIP is read from
#                              (TLS only when sip.transport is "tls": a
#                              door set up for TLS takes no SIP in clear)
#
# The limits (keywords): T1/T2/T4, max_message_size (the largest message
# parsed; a board reads at most this much per datagram), max_transactions,
# rate_per_s/rate_burst/max_sources (guard.py), user_agent.

from intercom.sip.flow import TLS, TRANSPORTS, default_port
from intercom.sip.grammar import parse_hostport
from intercom.sip.timers import SipTimers

RING_SLACK_MS = 5000


class AgentSettings:
    # noqa below: the agent's tunables (RFC 3261 timers, table sizes, rate
    # limits), each with its default; the tests set the ones they exercise.
    def __init__(  # noqa: PLR0913
        self,
        config,
        local_host,
        local_port,
        t1_ms=500,
        t2_ms=4000,
        t4_ms=5000,
        max_message_size=8192,
        max_transactions=64,
        rate_per_s=20,
        rate_burst=40,
        max_sources=32,
        user_agent="intercom",
    ):
        sip = config["sip"]
        call = config["call"]
        self.local_host = local_host
        self.local_port = local_port
        self.user = sip["user"]
        self.password = sip["password"]
        self.realm = sip["realm"]
        self.server = sip["server"]
        self.server_address = None
        if self.server:
            host, port = parse_hostport(self.server)
            self.server_address = (host, port or default_port(sip["transport"]))
        self.domain = sip["domain"] or (
            self.server_address[0] if self.server_address else local_host
        )
        self.register = sip["register"]
        self.expires_s = sip["expires"]
        self.transport = sip["transport"]
        self.keepalive_ms = sip["keepalive"] * 1000
        self.trusted = tuple(sip["trusted"])
        self.peer_media_same_host = sip["peer_media_same_host"]
        self.asserted_identity = sip["asserted_identity"]
        self.session_expires_s = sip["session_expires"]
        self.display_name = config["device"]["name"]
        lists = [call["targets"]]
        for table in config["button"] + config["schedule"]:
            lists.append(table["targets"])
        targets = []
        for called in lists:
            for target in called:
                if target not in targets:
                    targets.append(target)
        self.max_calls = 2 * max(len(called) for called in lists) + 1
        for target in call["transfer_to"]:
            if target not in targets:
                targets.append(target)
        self.targets = tuple(targets)
        self.answer_from = tuple(call["answer_from"])
        self.ring_timeout_ms = call["ring_timeout"] * 1000 + RING_SLACK_MS
        self.codecs = tuple(config["audio"]["codecs"])
        self.ptime = config["audio"]["ptime"]
        self.timers = SipTimers(t1_ms, t2_ms, t4_ms)
        self.max_message_size = max_message_size
        self.max_transactions = max_transactions
        self.rate_per_s = rate_per_s
        self.rate_burst = rate_burst
        self.max_sources = max_sources
        self.user_agent = user_agent
        self.srtp = config["audio"]["srtp"]
        if self.srtp != "off" and self.transport != TLS:
            raise ValueError("SRTP keys (audio.srtp %s) need SIP over TLS" % self.srtp)
        self.secure_transports = (TLS,)
        self.accepted_transports = (TLS,) if self.transport == TLS else TRANSPORTS
