"""Drawing primitives and part symbols for the wiring diagrams (SVG snippets).

Each function returns a list of SVG element strings at integer coordinates.
"""

from xml.sax.saxutils import escape


def svg_text(x, y, content, size=11, anchor="start", weight="normal", fill="#222"):
    return (
        '<text x="%d" y="%d" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
        % (x, y, size, anchor, weight, fill, escape(content))
    )


def symbol_button(x, ys):
    y1, y2 = ys[0], ys[1]
    middle = (y1 + y2) // 2
    return [
        '<path d="M%d %d H%d V%d M%d %d H%d V%d" stroke="#222" fill="none" stroke-width="1.5"/>'
        % (x - 60, y1, x, middle - 6, x - 60, y2, x, middle + 6),
        '<circle cx="%d" cy="%d" r="2.5" fill="#222"/>' % (x, middle - 6),
        '<circle cx="%d" cy="%d" r="2.5" fill="#222"/>' % (x, middle + 6),
        '<path d="M%d %d V%d M%d %d H%d M%d %d H%d" stroke="#222" stroke-width="1.5"/>'
        % (x + 7, middle - 10, middle + 10, x + 7, middle, x + 20, x + 20, middle - 5, x + 20),
        '<path d="M%d %d V%d" stroke="#222" stroke-width="1.5"/>'
        % (x + 20, middle - 5, middle + 5),
        svg_text(x + 26, middle + 4, "N.O.", 9),
    ]


def symbol_led(x, ys):
    y1, y2 = ys[0], ys[1]
    return [
        '<path d="M%d %d H%d M%d %d H%d M%d %d H%d V%d H%d" stroke="#222" fill="none" '
        'stroke-width="1.5"/>'
        % (x - 70, y1, x - 50, x - 20, y1, x, x + 14, y1, x + 40, y2, x - 70),
        '<rect x="%d" y="%d" width="30" height="10" fill="#fff" stroke="#222" stroke-width="1.5"/>'
        % (x - 50, y1 - 5),
        svg_text(x - 35, y1 - 8, "330 Ω", 9, "middle"),
        '<path d="M%d %d L%d %d L%d %d Z" fill="#2ca02c" stroke="#222"/>'
        % (x, y1 - 7, x + 12, y1, x, y1 + 7),
        '<path d="M%d %d V%d" stroke="#222" stroke-width="2"/>' % (x + 13, y1 - 7, y1 + 7),
        svg_text(x + 4, y1 - 10, "LED", 9, "middle"),
    ]


def symbol_mic(x, ys):
    middle = (ys[0] + ys[-1]) // 2
    return [
        '<circle cx="%d" cy="%d" r="14" fill="#eee" stroke="#222" stroke-width="1.5"/>'
        % (x + 20, middle),
        '<circle cx="%d" cy="%d" r="4" fill="#222"/>' % (x + 20, middle),
        svg_text(x + 20, middle + 28, "sound port", 9, "middle"),
        svg_text(x + 20, middle + 40, "faces the grille", 9, "middle"),
    ]


def load_terminal(x, y, name):
    return [
        '<rect x="%d" y="%d" width="10" height="10" fill="#ddd" stroke="#222"/>' % (x - 5, y - 5),
        svg_text(x - 9, y + 4, name, 10, "end"),
    ]


def symbol_amp(right, box_y):
    """The speaker on the amp's + and - screw terminals; `right` is the box's right edge."""
    plus_y, minus_y = box_y + 70, box_y + 100
    speaker_x = right + 70
    out = load_terminal(right, plus_y, "+") + load_terminal(right, minus_y, "−")
    out.append(
        '<path d="M%d %d H%d V%d M%d %d H%d V%d" stroke="#222" fill="none" stroke-width="2"/>'
        % (right + 5, plus_y, speaker_x, plus_y + 8, right + 5, minus_y, speaker_x, minus_y - 8)
    )
    out.append(
        '<path d="M%d %d h10 v24 h-10 z M%d %d l14 -12 v48 l-14 -12" fill="#eee" stroke="#222" '
        'stroke-width="1.5"/>' % (speaker_x - 4, plus_y + 3, speaker_x + 6, plus_y + 3)
    )
    out.append(svg_text(speaker_x + 26, plus_y + 12, "Speaker", 11, weight="bold"))
    out.append(svg_text(speaker_x + 26, plus_y + 26, "4–8 Ω, 3 W", 10))
    return out


def symbol_strike(right, box_y):
    """COM to the 12 V supply's +, NO to the strike's +, strike - to the supply's -."""
    com_y, no_y = box_y + 50, box_y + 80
    top_rail, plus_y, bottom_rail = box_y + 20, box_y + 38, box_y + 140
    strike_x, supply_x = right + 100, right + 240
    diode_x = strike_x + 40
    device_top, device_bottom = box_y + 50, box_y + 110
    wire = '<path d="%s" stroke="%s" fill="none" stroke-width="2"/>'
    out = load_terminal(right, com_y, "COM") + load_terminal(right, no_y, "NO")
    out.append(svg_text(right - 9, box_y + 124, "NC unused", 9, "end", fill="#777"))
    com_path = "M%d %d H%d V%d H%d V%d" % (
        right + 5,
        com_y,
        right + 30,
        top_rail,
        supply_x,
        device_top,
    )
    no_path = "M%d %d H%d V%d H%d M%d %d V%d" % (
        right + 5,
        no_y,
        right + 60,
        plus_y,
        diode_x,
        strike_x,
        plus_y,
        device_top,
    )
    minus_path = "M%d %d V%d H%d V%d" % (
        strike_x,
        device_bottom,
        bottom_rail,
        supply_x,
        device_bottom,
    )
    diode_path = "M%d %d V%d M%d %d V%d H%d" % (
        diode_x,
        plus_y,
        plus_y + 32,
        diode_x,
        plus_y + 48,
        box_y + 122,
        strike_x,
    )
    out.append(wire % (com_path, "#d62728"))
    out.append(wire % (no_path, "#d62728"))
    out.append(wire % (minus_path, "#222"))
    out.append(wire % (diode_path, "#222"))
    for x, y in ((strike_x, plus_y), (strike_x, box_y + 122)):
        out.append('<circle cx="%d" cy="%d" r="3" fill="#222"/>' % (x, y))
    out.append(
        '<rect x="%d" y="%d" width="56" height="60" rx="4" fill="#e4e4e4" stroke="#222"/>'
        % (strike_x - 28, device_top)
    )
    out.append(svg_text(strike_x, device_top + 18, "door", 10, "middle", "bold"))
    out.append(svg_text(strike_x, device_top + 32, "strike", 10, "middle", "bold"))
    out.append(svg_text(strike_x, device_top + 46, "12 V", 10, "middle"))
    out.append(svg_text(strike_x - 24, device_top - 3, "+", 11, weight="bold"))
    out.append(svg_text(strike_x - 24, device_bottom + 12, "−", 11, weight="bold"))
    # Flyback diode across the strike's coil: cathode (band) on +.
    out.append(
        '<path d="M%d %d L%d %d L%d %d Z" fill="#fff" stroke="#222" stroke-width="1.5"/>'
        % (diode_x - 8, plus_y + 48, diode_x + 8, plus_y + 48, diode_x, plus_y + 34)
    )
    out.append(
        '<path d="M%d %d H%d" stroke="#222" stroke-width="2.5"/>'
        % (diode_x - 8, plus_y + 33, diode_x + 8)
    )
    out.append(svg_text(diode_x + 12, plus_y + 40, "1N4007", 9))
    out.append(svg_text(diode_x + 12, plus_y + 52, "band to +", 9))
    out.append(
        '<rect x="%d" y="%d" width="64" height="60" rx="4" fill="#fff3c4" stroke="#222"/>'
        % (supply_x - 32, device_top)
    )
    out.append(svg_text(supply_x, device_top + 16, "12 V DC", 10, "middle", "bold"))
    out.append(svg_text(supply_x, device_top + 30, "supply", 10, "middle"))
    out.append(svg_text(supply_x, device_top + 43, "separate from", 8, "middle"))
    out.append(svg_text(supply_x, device_top + 54, "the board's", 8, "middle"))
    out.append(svg_text(supply_x + 12, device_top - 3, "+", 11, weight="bold"))
    out.append(svg_text(supply_x + 12, device_bottom + 12, "−", 11, weight="bold"))
    return out
