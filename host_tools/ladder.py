"""Ladder diagrams of a SIP exchange: text for the terminal, SVG for a browser.

Input is the same record list the pcap writer takes: (time_s, source,
destination, payload). Only SIP datagrams become arrows; RTP and keep-alives
are summarised elsewhere.
"""

from xml.sax.saxutils import escape

_SIP_VERSION = b"SIP/2.0"


def sip_label(payload):
    """'INVITE', '180 Ringing', … or None when the payload is not SIP."""
    line = bytes(payload).split(b"\r\n", 1)[0]
    if line.startswith(_SIP_VERSION + b" "):
        return line[len(_SIP_VERSION) + 1 :].decode("utf-8", "replace")
    parts = line.split(b" ")
    if len(parts) == 3 and parts[2] == _SIP_VERSION:
        return parts[0].decode("ascii", "replace")
    return None


def sip_arrows(records, names):
    """[(time_s, from_name, to_name, label)] for the SIP records, time-ordered."""
    arrows = []
    for time_s, source, destination, payload in sorted(records, key=lambda r: r[0]):
        label = sip_label(payload)
        if label is None:
            continue
        arrows.append(
            (
                time_s,
                names.get(source, _text(source)),
                names.get(destination, _text(destination)),
                label,
            )
        )
    return arrows


def _text(address):
    return "%s:%d" % address


def render_text(arrows, parties, start_s):
    """A fixed-width ladder: one line per message with its time since start_s."""
    width = 34
    header = "%9s  " % "t (s)" + "".join(party.center(width) for party in parties)
    lines = [header.rstrip()]
    for time_s, sender, receiver, label in arrows:
        left = parties.index(sender)
        right = parties.index(receiver)
        low, high = min(left, right), max(left, right)
        span = (high - low) * width
        body = " %s " % label
        shaft = max(0, span - len(body) - 1)
        if left < right:
            arrow = "-" * (shaft // 2) + body + "-" * (shaft - shaft // 2) + ">"
        else:
            arrow = "<" + "-" * (shaft // 2) + body + "-" * (shaft - shaft // 2)
        line = "%9.3f  " % (time_s - start_s) + " " * (low * width + width // 2) + arrow
        lines.append(line.rstrip())
    return "\n".join(lines)


def render_svg(arrows, parties, start_s, title):
    """A standalone SVG ladder; deterministic for the same input."""
    column = 320
    row = 34
    top = 70
    width = column * len(parties) + 80
    height = top + row * (len(arrows) + 1) + 20
    x_of = {party: 40 + column // 2 + column * index for index, party in enumerate(parties)}
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'font-family="monospace" font-size="13">' % (width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#1a4e8a"/></marker></defs>',
        '<text x="20" y="24" font-size="16" font-weight="bold">%s</text>' % escape(title),
    ]
    for party, x in x_of.items():
        out.append(
            '<text x="%d" y="52" text-anchor="middle" font-weight="bold">%s</text>'
            % (x, escape(party))
        )
        out.append(
            '<line x1="%d" y1="60" x2="%d" y2="%d" stroke="#888" stroke-dasharray="4 3"/>'
            % (x, x, height - 10)
        )
    for index, (time_s, sender, receiver, label) in enumerate(arrows):
        y = top + row * (index + 1)
        x1, x2 = x_of[sender], x_of[receiver]
        out.append('<text x="4" y="%d" fill="#555">%.3f</text>' % (y + 4, time_s - start_s))
        out.append(
            '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1a4e8a" stroke-width="1.5" '
            'marker-end="url(#head)"/>' % (x1, y, x2, y)
        )
        out.append(
            '<text x="%d" y="%d" text-anchor="middle">%s</text>'
            % ((x1 + x2) // 2, y - 6, escape(label))
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
