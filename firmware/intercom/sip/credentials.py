# Digest credentials (RFC 3261 sections 22.2-22.4): whether a 401/407 may
# be answered, and the Authorization / Proxy-Authorization value answering
# it. The one path for every request the door authenticates (REGISTER in
# register.py, INVITE in call.py).
#
#   the challenge                                   accept() says
#   -----------------------------------------------  -----------------------
#   not from the configured server: the response's   "foreign realm"
#   source is not sip.server's host and port (peer-
#   to-peer there is no server: never answered)
#   no password configured                           "no password"
#   no usable Digest challenge (auth.best_challenge: "unsupported challenge"
#   SHA-256 before MD5)
#   a realm is configured and this is another one    "foreign realm"
#   otherwise                                        None: adopted
#
# Without a configured realm any realm from the server is answered
# (FRITZ!Box uses its host name, Asterisk "asterisk"). examine() reads a
# challenge into .offered; the owner applies its own retry rules (one try
# per call; per registration attempt one plain and one stale challenge)
# and adopt()s it. authorization()
# answers the adopted challenge for one request: nonce-count + 1 per
# request on the same nonce (RFC 7616 section 3.4; a new nonce starts at
# 1), a fresh cnonce each time. A Credentials object lives with the
# request's owner: the registration keeps its challenge for every refresh,
# a call answers its INVITE's challenge once.

import binascii

from intercom.sip import auth
from intercom.sip.flow import flow_address

FOREIGN_REALM = "foreign realm"


def from_server(settings, source):
    """Whether source (a flow, or None) comes from the configured server's
    address."""
    server = settings.server_address
    if server is None or source is None:
        return False
    host, port = flow_address(source)
    return host.strip("[]").lower() == server[0].strip("[]").lower() and port == server[1]


class Credentials:
    """One owner's credentials; context: the session context (settings,
    random bytes, counters: a refused foreign challenge counts as
    foreign_challenges)."""

    def __init__(self, context):
        self._context = context
        self._challenge = None
        self._nonce_count = 0
        self.header = None  # "Authorization" (401) or "Proxy-Authorization" (407)
        self.offered = None  # (challenge, header) examine() found usable

    @property
    def ready(self):
        """Whether a challenge was adopted (later requests answer it too)."""
        return self._challenge is not None

    def examine(self, response):
        """Read the challenge of a 401/407 (response.source: where it came
        from) into .offered; None, or why no credentials may go out (see
        the table on top)."""
        self.offered = None
        settings = self._context.settings
        if not from_server(settings, response.source):
            self._context.count("foreign_challenges")
            return FOREIGN_REALM
        if settings.password is None:
            return "no password"
        if response.status == 401:
            challenge_name, header = "WWW-Authenticate", "Authorization"
        else:
            challenge_name, header = "Proxy-Authenticate", "Proxy-Authorization"
        challenge = auth.best_challenge(response.headers.get_all(challenge_name))
        if challenge is None:
            return "unsupported challenge"
        if settings.realm is not None and challenge.realm != settings.realm:
            self._context.count("foreign_challenges")
            return FOREIGN_REALM
        self.offered = (challenge, header)
        return None

    def adopt(self):
        """Answer the challenge examine() found from now on."""
        offered = self.offered
        if offered is None:
            raise ValueError("no usable challenge examined")
        challenge = offered[0]
        if self._challenge is None or self._challenge.nonce != challenge.nonce:
            self._nonce_count = 0
        self._challenge, self.header = offered
        self.offered = None

    def authorization(self, method, uri, body=b""):
        """The header value answering the adopted challenge for one request."""
        challenge = self._challenge
        if challenge is None:
            raise ValueError("no challenge adopted")
        self._nonce_count += 1
        settings = self._context.settings
        return auth.authorization_value(
            challenge,
            method,
            uri,
            settings.user,
            settings.password,
            self._nonce_count,
            binascii.hexlify(self._context.random_bytes(8)).decode(),
            body,
        )
