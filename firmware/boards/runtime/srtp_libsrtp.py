# SRTP and SRTCP on CPython through libsrtp (pylibsrtp, the binding aiortc
# maintains; its wheels carry libsrtp 2): the interface of
# intercom.media.srtp.SrtpContext, which the tests hold to the same bytes.
#
#   LibsrtpContext(suite, master, outbound, buffers=1)
#       outbound: a sender's context (protect, protect_rtcp) or a
#       receiver's (unprotect, unprotect_rtcp); buffers is the portable
#       context's concern (libsrtp returns new bytes).
#     .protect(rtp) -> bytes    .unprotect(srtp) -> bytes or None
#     .protect_rtcp(rtcp) -> bytes    .unprotect_rtcp(srtcp) -> bytes or None
#     .failures   dict reason -> count: malformed, auth, replay
#
# libsrtp keeps one stream per SSRC (SSRC_ANY_INBOUND/OUTBOUND templates),
# a replay window of REPLAY_WINDOW packets like the portable context, and
# counts the SRTCP index from 1 where the portable context starts at 0 (RFC
# 3711 3.4); either side reads the other's.

from intercom.media.srtp import MASTER_BYTES, REPLAY_WINDOW
from pylibsrtp import Error, Policy, Session

PROFILES = {
    "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
}
# libsrtp's error strings (pylibsrtp.ERRORS) -> our drop reasons
_REASONS = {
    "authentication failure": "auth",
    "replay check failed (bad index)": "replay",
    "replay check failed (index too old)": "replay",
}


class LibsrtpContext:
    def __init__(self, suite, master, outbound, buffers=1):
        profile = PROFILES.get(suite)
        if profile is None:
            raise ValueError("unsupported SRTP suite %r" % suite)
        if len(master) != MASTER_BYTES:
            raise ValueError("an SRTP master key and salt are %d bytes" % MASTER_BYTES)
        policy = Policy(
            key=bytes(master),
            ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
            srtp_profile=profile,
        )
        policy.window_size = REPLAY_WINDOW
        self.suite = suite
        self._session = Session(policy)
        self.failures = {"malformed": 0, "auth": 0, "replay": 0}

    def protect(self, rtp):
        return self._session.protect(bytes(rtp))

    def protect_rtcp(self, rtcp):
        return self._session.protect_rtcp(bytes(rtcp))

    def unprotect(self, data):
        return self._checked(self._session.unprotect, data)

    def unprotect_rtcp(self, data):
        return self._checked(self._session.unprotect_rtcp, data)

    def _checked(self, method, data):
        try:
            return method(bytes(data))
        except (Error, ValueError) as error:  # ValueError: longer than its buffer
            self.failures[_REASONS.get(str(error), "malformed")] += 1
            return None
