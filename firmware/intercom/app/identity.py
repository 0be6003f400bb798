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
#   anything else     characters outside RFC 3261's grammar (25.1 user,
#                     hostport), an empty host: no identity, never matches
#
# Allow-list entries in the config are either a user ("flat1") or a SIP URI
# ("sip:flat2@example.org", no parameters). A bare user stands for that user
# at sip.domain or at the sip.server host, nowhere else; a URI stands for
# exactly its (user, host).

_ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# RFC 3261 25.1: user = 1*( unreserved / escaped / user-unreserved )
_USER_CHARS = _ALPHANUM + "-_.!~*'()" + "&=+$,;?/" + "%"
_HOST_CHARS = _ALPHANUM + "-."
_IPV6_CHARS = "0123456789abcdefABCDEF:."
_HEX = "0123456789abcdefABCDEF"


def _only(text, allowed):
    for char in text:
        if char not in allowed:
            return False
    return True


def _decode_escapes(user):
    """The user part with %HH decoded, or None for a broken escape."""
    if "%" not in user:
        return user
    out = []
    index = 0
    while index < len(user):
        char = user[index]
        if char == "%":
            pair = user[index + 1 : index + 3]
            if len(pair) != 2 or not _only(pair, _HEX):
                return None
            out.append(chr(int(pair, 16)))
            index += 3
        else:
            out.append(char)
            index += 1
    return "".join(out)


def is_user(text):
    """True for a SIP user part such as "flat1" or "+4930123" (RFC 3261 25.1)."""
    return (
        isinstance(text, str)
        and len(text) > 0
        and _only(text, _USER_CHARS)
        and _decode_escapes(text) is not None
    )


def is_ip_literal(host):
    """True for an IPv4 address ("192.0.2.7") or a bracketed IPv6 one."""
    if host.startswith("["):
        return host.endswith("]") and ":" in host
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part or len(part) > 3 or not _only(part, "0123456789") or int(part) > 255:
            return False
    return True


def split_hostport(text):
    """(host, port) from "host", "host:port", "[v6]" or "[v6]:port".

    The host comes back lower-cased (brackets kept for IPv6), the port as an
    int or None. None when the text is not a valid hostport.
    """
    if text.startswith("["):
        end = text.find("]")
        if end < 3 or not _only(text[1:end], _IPV6_CHARS) or ":" not in text[1:end]:
            return None
        host = text[: end + 1]
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    else:
        colon = text.find(":")
        host = text if colon < 0 else text[:colon]
        port_text = None if colon < 0 else text[colon + 1 :]
        if not host or not _only(host, _HOST_CHARS) or host[0] in "-." or ".." in host:
            return None
    port = None
    if port_text is not None:
        if not port_text or len(port_text) > 5 or not _only(port_text, "0123456789"):
            return None
        port = int(port_text)
        if port < 1 or port > 65535:
            return None
    return (host.lower(), port)


def parse_sip_uri(uri):
    """(user, host, port, has_parameters) of a sip:/sips: URI, or None.

    user is "" when the URI has none, decoded otherwise; port is None when
    absent; has_parameters is True when ";..." or "?..." follows the host.
    """
    if not isinstance(uri, str):
        return None
    colon = uri.find(":")
    if colon < 0 or uri[:colon].lower() not in ("sip", "sips"):
        return None
    rest = uri[colon + 1 :]
    user = ""
    if "@" in rest:
        user, rest = rest.split("@", 1)
        if "@" in rest or not is_user(user):
            return None
        user = _decode_escapes(user)
    cut = len(rest)
    for mark in ";?":
        position = rest.find(mark)
        if 0 <= position < cut:
            cut = position
    hostport = split_hostport(rest[:cut])
    if hostport is None:
        return None
    tail = rest[cut:]
    for char in tail:
        if char <= " " or char in '"<>':
            return None
    return (user, hostport[0], hostport[1], len(tail) > 0)


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


def parse_identity(text):
    """The (user, host) a caller is compared by, or None (matches nothing)."""
    if not isinstance(text, str):
        return None
    uri = _addr_spec(text)
    if uri is None:
        return None
    parsed = parse_sip_uri(uri)
    if parsed is None:
        return None
    return (parsed[0], parsed[1])


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
                identity = (_decode_escapes(entry), host.lower())
                if identity not in identities:
                    identities.append(identity)
    return identities


def home_hosts(sip_config):
    """Hosts a bare user name in the config belongs to: sip.domain, sip.server."""
    hosts = []
    for value in (sip_config.get("domain"), sip_config.get("server")):
        if value:
            hostport = split_hostport(value)
            if hostport is not None and hostport[0] not in hosts:
                hosts.append(hostport[0])
    return hosts
