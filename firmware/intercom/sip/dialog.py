# Dialog state (RFC 3261 §12): what both ends agreed on for one call.
#
#   created by          route set                       remote target
#   UAC (§12.1.2)       2xx/1xx Record-Route, reversed  Contact of the response
#                                                       (none: the Request-URI)
#   UAS (§12.1.1)       request Record-Route, in order  Contact of the request
#   2xx confirming an   the 2xx's Record-Route,         Contact of the 2xx
#   early dialog        reversed (§13.2.2.4)            (§12.2.1.2), if any
#
# Requests inside the dialog (§12.2.1.1): To carries the remote tag, From the
# local tag, CSeq counts up by one per request (not for ACK/CANCEL, which reuse
# the number of the INVITE). With an empty route set, or a first route that
# has `lr` (loose routing), the Request-URI is the remote target and Route the
# whole route set; a strict first route becomes the Request-URI and the
# remote target goes last in Route. The next hop is the first Route entry, or
# the remote target when there is none (next_hop(): the URI; flow.py makes
# it a flow).
#
# Requests received (§12.2.2): a CSeq lower than the last one seen is out of
# order (the caller answers 500); a re-INVITE's or UPDATE's Contact refreshes
# the target (RFC 3311 5.2).

from intercom.sip.message import Headers, Request, parse_cseq, parse_name_addr
from intercom.sip.uri import parse_uri


class Dialog:
    """One SIP dialog; `local_party`/`remote_party` are name-addrs without tags."""

    def __init__(
        self,
        call_id,
        local_tag,
        remote_tag,
        local_party,
        remote_party,
        remote_target,
        route_set,
        local_seq,
        remote_seq,
    ):
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_party = local_party
        self.remote_party = remote_party
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_seq = local_seq
        self.remote_seq = remote_seq

    @property
    def id(self):
        return (self.call_id, self.local_tag, self.remote_tag)

    def create_request(self, method, cseq_number=None):
        """A request inside the dialog, without Via (the sender adds it).

        ACK and CANCEL pass the INVITE's `cseq_number`; every other method
        takes the next local sequence number.
        """
        if cseq_number is None:
            self.local_seq += 1
            cseq_number = self.local_seq
        headers = Headers()
        request_uri = self.remote_target
        routes = list(self.route_set)
        if routes and not _is_loose(routes[0]):
            request_uri = _route_uri(routes[0])
            routes = routes[1:] + ["<%s>" % self.remote_target]
        for route in routes:
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", _with_tag(self.local_party, self.local_tag))
        headers.add("To", _with_tag(self.remote_party, self.remote_tag))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", "%d %s" % (cseq_number, method))
        return Request(method, request_uri, headers)

    def confirm(self, response):
        """The 2xx that confirms this early dialog (§13.2.2.4): the route
        set is recomputed from it, and its Contact is the remote target
        (§12.2.1.2): a PBX's 180 may have had none, or another one."""
        routes = response.headers.get_all("Record-Route")
        routes.reverse()
        self.route_set = routes
        contact = response.headers.get("Contact")
        if contact:
            self.remote_target = parse_name_addr(contact).uri

    def next_hop(self):
        """The URI the next request in this dialog goes to (its address and
        transport: intercom.sip.flow.uri_flow): the first route, else the
        remote target."""
        if self.route_set:
            return _route_uri(self.route_set[0])
        return self.remote_target

    def accept_request(self, request):
        """Check and record the CSeq of a request from the peer (§12.2.2).

        Returns False when it is out of order (the caller answers 500).
        """
        number, method = parse_cseq(request.headers.get("CSeq"))
        if method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq is not None and number <= self.remote_seq:
            return False
        self.remote_seq = number
        if method in ("INVITE", "UPDATE"):  # RFC 3311 5.2: UPDATE's Contact too
            contact = request.headers.get("Contact")
            if contact:
                self.remote_target = parse_name_addr(contact).uri
        return True


def dialog_from_uac(request, response):
    """The dialog our request created when `response` (1xx with tag, 2xx) came."""
    headers = response.headers
    routes = headers.get_all("Record-Route")
    routes.reverse()
    contact = headers.get("Contact")
    remote_target = parse_name_addr(contact).uri if contact else request.uri
    sent = request.headers
    return Dialog(
        sent.get("Call-ID"),
        parse_name_addr(sent.get("From")).tag,
        parse_name_addr(headers.get("To")).tag,
        _without_tag(sent.get("From")),
        _without_tag(sent.get("To")),
        remote_target,
        routes,
        parse_cseq(sent.get("CSeq"))[0],
        None,
    )


def dialog_from_uas(request, local_tag):
    """The dialog we create by answering `request` with our `local_tag`."""
    headers = request.headers
    contact = headers.get("Contact")
    remote_target = parse_name_addr(contact).uri if contact else None
    return Dialog(
        headers.get("Call-ID"),
        local_tag,
        parse_name_addr(headers.get("From")).tag,
        _without_tag(headers.get("To")),
        _without_tag(headers.get("From")),
        remote_target,
        headers.get_all("Record-Route"),
        0,
        parse_cseq(headers.get("CSeq"))[0],
    )


def _route_uri(route):
    return parse_name_addr(route).uri


def _is_loose(route):
    return "lr" in parse_uri(_route_uri(route)).params


def _with_tag(party, tag):
    if not tag:
        return party
    return "%s;tag=%s" % (party, tag)


def _without_tag(value):
    name_addr = parse_name_addr(value)
    name_addr.params.pop("tag", None)
    return name_addr.to_string()
