# SDES: SRTP master keys in SDP (RFC 4568), the a=crypto attribute of the
# door's audio stream. intercom.sdp parses the lines and decides the
# offer/answer; this module reads and writes one line's value.
#
#   a=crypto:<tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<len>] [<session params>]
#
# Public API
#
#   MODES               audio.srtp: "off", "optional", "mandatory"
#   SUITES              the suites we offer, in our order of preference
#                       (RFC 4568 6.2.1, 6.2.2; intercom.media.srtp runs them)
#   MASTER_BYTES        30: the 128-bit master key and 112-bit master salt
#   format_crypto(tag, suite, master) -> the attribute's value (no "a=crypto:")
#   parse_crypto(value) -> (tag, suite, master) or None
#       None: a line we cannot use (the answerer picks the next one, RFC
#       4568 7.1.2): an unknown suite; several keys or an MKI (we send and
#       read no MKI field); a lifetime under MIN_LIFETIME packets; a key
#       that is not 30 octets of base64; any session parameter but WSH
#       (section 6.3: KDR would need re-keying, UNENCRYPTED_SRTP/SRTCP and
#       UNAUTHENTICATED_SRTP would drop protection, FEC_* reorder it; an
#       answerer must not accept a line whose parameters it does not
#       support). A tag is 1-9 digits (section 9.1).

import binascii

from intercom.sip.grammar import is_digits

MODES = ("off", "optional", "mandatory")  # audio.srtp (rules in intercom.sdp)
SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
MASTER_BYTES = 30
MIN_LIFETIME = 1 << 20  # packets: 5.8 h at 50 packets/s, far beyond a call
_KEY_CHARS = 40  # base64 of 30 octets, no padding needed


def format_crypto(tag, suite, master):
    key = binascii.b2a_base64(master).decode().strip()
    return "%d %s inline:%s" % (tag, suite, key)


def parse_crypto(value):
    words = value.split()
    if len(words) < 3 or not is_digits(words[0], 9) or words[1] not in SUITES:
        return None
    for parameter in words[3:]:
        if not parameter.startswith("WSH="):
            return None
    if ";" in words[2] or not words[2].startswith("inline:"):
        return None
    parts = words[2][7:].split("|")
    if len(parts[0]) != _KEY_CHARS or len(parts) > 3:
        return None
    for part in parts[1:]:
        if ":" in part:  # MKI:length
            return None
        if not _long_enough(part):
            return None
    try:
        master = binascii.a2b_base64(parts[0])
    except ValueError:
        return None
    if len(master) != MASTER_BYTES:
        return None
    return int(words[0]), words[1], master


def _long_enough(lifetime):
    """A key lifetime ("2^31" or decimal packets) of at least MIN_LIFETIME."""
    if lifetime.startswith("2^"):
        power = lifetime[2:]
        return is_digits(power, 2) and int(power) >= 20
    return is_digits(lifetime, 20) and int(lifetime) >= MIN_LIFETIME
