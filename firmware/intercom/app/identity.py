# Who is on the other end of a call, reduced to what allow-lists compare.
#
# The door policy (open_from) and the doorbell (answer_from) both match a
# caller with the rules below. They are strict on purpose: the door is a
# security boundary (DESIGN.md, principle 5).
#
#   identity          (user, host): two strings, user may be "" (sip:host)
#   input             a SIP URI, or a name-addr as found in From/To/Contact:
#                     `"Display" <sip:user@host:port;params>;tag=...`
#   display name      skipped; a quoted display name is read as a quoted
#                     string with backslash escapes (RFC 3261 25.1), so
#                     `"<sip:flat1@x>" <sip:evil@y>` is evil@y
#   scheme            sip or sips, case-insensitive; any other scheme (tel:,
#                     http:) has no identity and matches nothing
#   user              the part before the single '@', %HH escapes decoded,
#                     compared case-sensitively (RFC 3261 19.1.4); a password
#                     ("user:secret@") or a second '@' makes the URI invalid
#   host              lower-cased, port dropped (a port is not an identity)
#   parameters        ";..." and "?..." after the host are dropped: a URI
#                     parameter (maddr=, user=, ...) never names the caller
#   anything else     a URI that intercom.sip.uri.parse_uri (the one SIP
#                     URI parser) refuses: no identity, never matches
#
# Allow-list entries in the config are either a user ("flat1") or a SIP URI
# ("sip:flat2@example.org", no parameters). A bare user stands for that user
# at sip.domain or at the sip.server host, nowhere else; a URI stands for
# exactly its (user, host).

from intercom.sip.grammar import SipParseError, format_host, parse_hostport, unescape
from intercom.sip.uri import parse_uri

_ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# RFC 3261 25.1: user = 1*( unreserved / escaped / user-unreserved )
_USER_CHARS = _ALPHANUM + "-_.!~*'()" + "&=+$,;?/" + "%"


def is_user(text):
    """True for a SIP user part such as "flat1" or "+4930123" (RFC 3261 25.1)."""
    if not isinstance(text, str) or not text:
        return False
    for char in text:
        if char not in _USER_CHARS:
            return False
    try:
        unescape(text)
    except SipParseError:
        return False
    return True


def identity_host(host):
    """A host as identities hold it: lower-cased, IPv6 in brackets."""
    return format_host(host.lower())


def _addr_spec(text):
    """The URI inside a name-addr, the text itself for an addr-spec, or None."""
    text = text.strip()
    index = 0
    if text.startswith('"'):
        index = 1
        while True:
            if index >= len(text):
                return None
            if text[index] == "\\":
                index += 2
                continue
            if text[index] == '"':
                index += 1
                break
            index += 1
    opening = text.find("<", index)
    if opening < 0:
        if index:
            return None
        return text
    closing = text.find(">", opening)
    if closing < 0:
        return None
    return text[opening + 1 : closing]


def sip_uri(text):
    """The SipUri of a sip:/sips: URI without a password, else None (the
    URIs an identity or a config entry may be)."""
    try:
        uri = parse_uri(text)
    except SipParseError:
        return None
    if uri.scheme not in ("sip", "sips") or uri.password is not None:
        return None
    return uri


def parse_identity(text):
    """The (user, host) a caller is compared by, or None (matches nothing)."""
    if not isinstance(text, str):
        return None
    uri_text = _addr_spec(text)
    uri = sip_uri(uri_text) if uri_text is not None else None
    if uri is None:
        return None
    return (uri.user or "", identity_host(uri.host))


def allowed_identities(entries, home_hosts):
    """The identities a list of config entries allows.

    entries: validated allow-list entries (users or SIP URIs); home_hosts: the
    hosts a bare user belongs to (sip.domain and the sip.server host).
    """
    identities = []
    for entry in entries:
        if entry.lower().startswith("sip:") or entry.lower().startswith("sips:"):
            identity = parse_identity(entry)
            if identity is not None and identity not in identities:
                identities.append(identity)
        else:
            for host in home_hosts:
                identity = (unescape(entry), host)
                if identity not in identities:
                    identities.append(identity)
    return identities


def home_hosts(sip_config):
    """Hosts a bare user name in the config belongs to: sip.domain, sip.server."""
    hosts = []
    for value in (sip_config.get("domain"), sip_config.get("server")):
        if value:
            try:
                host = identity_host(parse_hostport(value)[0])
            except SipParseError:
                continue
            if host not in hosts:
                hosts.append(host)
    return hosts
