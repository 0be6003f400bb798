"""Draw a board's wiring diagram as SVG from its pin map.

Left: the 40-pin header as two columns of numbered pins, each labelled with
what it is (GPIO numbers, 3V3, 5V, GND); used pins in bold with their net.
Right: one box per part with its terminals; on the far right what hangs off
the part (door strike circuit, speaker). Every wire leaves its pin through
the gap between two header rows, runs to its own vertical lane, then to the
part's terminal, and carries a label "GPIO17 · pin 11" next to the part.

Output is deterministic: integer coordinates only, no dates, fixed order.
"""

from host_tools.wiring.symbols import (
    svg_text,
    symbol_amp,
    symbol_button,
    symbol_led,
    symbol_mic,
    symbol_strike,
)

PITCH = 32  # vertical distance between header rows
PIN_RADIUS = 7
TRACK_OFFSET = 4  # a track runs this far from the middle of a row gap
TOP = 120  # y of header row 0
LANE_SPACING = 12
LABEL_SPACE = 116  # room for the wire labels left of the part boxes
BOX_WIDTH = 250
BOX_GAP = 24
TERMINAL_STEP = 24
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

COLOURS = {
    "black": "#222222",
    "red": "#d62728",
    "orange": "#ff7f0e",
    "yellow": "#f2c500",
    "green": "#2ca02c",
    "blue": "#1f5fd6",
    "purple": "#8e44ad",
    "white": "#ffffff",
    "grey": "#8c8c8c",
    "brown": "#8c564b",
}
PIN_FILL = {"GND": "#222222", "AGND": "#222222", "3V3": "#ff7f0e"}
POWER_5V = ("5V", "VBUS", "VSYS")


def _wrap(text, width):
    lines = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " + word).strip()
    if line:
        lines.append(line)
    return lines


class _Geometry:
    """Where the header's pins sit for a board layout."""

    def __init__(self, board):
        self.board = board
        self.left_x = 190
        self.right_x = 222 if board.layout == "rows" else 330

    def row_and_side(self, pin):
        """(row, side) of a header position; side 0 = left column, 1 = right."""
        if self.board.layout == "rows":
            return (pin - 1) // 2, (pin - 1) % 2
        if pin <= 20:
            return pin - 1, 0
        return 40 - pin, 1

    def pin_xy(self, pin):
        row, side = self.row_and_side(pin)
        return (self.right_x if side else self.left_x), TOP + row * PITCH

    def track_y(self, pin):
        """The y of the horizontal run leaving `pin` (between two header rows)."""
        row, side = self.row_and_side(pin)
        gap_above = TOP + row * PITCH - PITCH // 2
        if side == 0:
            return gap_above + TRACK_OFFSET
        return gap_above + PITCH - TRACK_OFFSET

    def exit_path(self, pin):
        """SVG path from the pin to the start of its track."""
        x, y = self.pin_xy(pin)
        track = self.track_y(pin)
        if self.row_and_side(pin)[1] == 0:
            # Left column: step right into the gap between the columns first.
            middle = (self.left_x + self.right_x) // 2 if self.board.layout == "rows" else x + 16
            return "M%d %d H%d V%d" % (x + PIN_RADIUS, y, middle, track)
        return "M%d %d V%d" % (x, y + PIN_RADIUS, track)


def _crossings(order, starts, ends):
    """How often vertical lane runs cross other wires' horizontal runs."""
    lane_of = {wire: index for index, wire in enumerate(order)}
    count = 0
    for i in order:
        for j in order:
            if i == j:
                continue
            low, high = sorted((starts[j], ends[j]))
            if lane_of[j] < lane_of[i] and low < starts[i] < high:
                count += 1
            if lane_of[j] > lane_of[i] and low < ends[i] < high:
                count += 1
    return count


def _lane_order(starts, ends):
    """Lane order for wires (indices) with fewest crossings, found greedily."""
    wires = list(range(len(starts)))
    candidates = [
        sorted(wires, key=lambda w: (ends[w], starts[w], w)),
        sorted(wires, key=lambda w: (starts[w], ends[w], w)),
        sorted(wires, key=lambda w: (-ends[w], -starts[w], w)),
        sorted(wires, key=lambda w: (ends[w] - starts[w], w)),
        sorted(wires, key=lambda w: (starts[w] - ends[w], w)),
    ]
    best = min(candidates, key=lambda order: _crossings(order, starts, ends))
    score = _crossings(best, starts, ends)
    improved = True
    while improved:
        improved = False
        for a in range(len(best)):
            for b in range(a + 1, len(best)):
                trial = list(best)
                trial[a], trial[b] = trial[b], trial[a]
                trial_score = _crossings(trial, starts, ends)
                if trial_score < score:
                    best, score, improved = trial, trial_score, True
    return best


def _pin_label(board, pin, nets_at):
    label = board.header[pin - 1]
    gpio = board.gpio_of_header(pin)
    reserved = dict(board.reserved)
    if pin in nets_at and gpio is not None:
        return label + " · " + nets_at[pin], "bold", "#111"
    if gpio in reserved:
        return label + " (reserved)", "normal", "#999"
    if pin in nets_at:
        return label, "bold", "#111"
    return label, "normal", "#555"


def _draw_header(board, geometry, nets_at):
    out = []
    top = TOP - PITCH // 2 - 6
    bottom = TOP + 19 * PITCH + PITCH // 2 + 6
    if board.layout == "rows":
        out.append(
            '<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="#2b2b2b"/>'
            % (geometry.left_x - 14, top, geometry.right_x - geometry.left_x + 28, bottom - top)
        )
        out.append(svg_text(geometry.left_x - 14, top - 8, "pin 1 ■ (square pad)", 10))
    else:
        out.append(
            '<rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="#1e6b3a"/>'
            % (
                geometry.left_x - 14,
                top - 30,
                geometry.right_x - geometry.left_x + 28,
                bottom - top + 36,
            )
        )
        centre = (geometry.left_x + geometry.right_x) // 2
        out.append(
            '<rect x="%d" y="%d" width="40" height="24" rx="3" fill="#c0c0c0" stroke="#555"/>'
            % (centre - 20, top - 42)
        )
        out.append(svg_text(centre, top - 26, "USB", 10, "middle"))
        out.append(svg_text(centre, (top + bottom) // 2, "top view", 11, "middle", fill="#cfe8d5"))
    for pin in range(1, 41):
        x, y = geometry.pin_xy(pin)
        label = board.header[pin - 1]
        fill = PIN_FILL.get(label, "#d62728" if label in POWER_5V else "#ffffff")
        if board.gpio_of_header(pin) is None and fill == "#ffffff":
            fill = "#bbbbbb"
        number_fill = "#111" if fill in ("#ffffff", "#bbbbbb") else "#fff"
        if pin == 1 and board.layout == "rows":
            out.append(
                '<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#888"/>'
                % (x - PIN_RADIUS, y - PIN_RADIUS, 2 * PIN_RADIUS, 2 * PIN_RADIUS, fill)
            )
        else:
            out.append(
                '<circle cx="%d" cy="%d" r="%d" fill="%s" stroke="#888"/>'
                % (x, y, PIN_RADIUS, fill)
            )
        out.append(svg_text(x, y + 3, str(pin), 8, "middle", "bold", number_fill))
        text, weight, colour = _pin_label(board, pin, nets_at)
        if geometry.row_and_side(pin)[1] == 0:
            out.append(svg_text(x - 16, y + 4, text, 11, "end", weight, colour))
        else:
            out.append(svg_text(x + 16, y + 4, text, 11, "start", weight, colour))
    return out


def _terminals_top(part):
    """Offset of the first terminal row from the box top: below name and detail."""
    return 30 + 13 * len(_wrap(part.detail, 40))


def _part_height(part):
    top = _terminals_top(part)
    minimum = {"relay": 150, "amp": 150}.get(part.kind, 0)
    return max(top + TERMINAL_STEP * len(part.wires) + 12, minimum)


def _terminal_y(box_y, part, index):
    return box_y + _terminals_top(part) + TERMINAL_STEP * index + TERMINAL_STEP // 2


def _draw_part(part, box_x, box_y, terminal_ys):
    height = _part_height(part)
    out = [
        '<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#f7f7f7" stroke="#444" '
        'stroke-width="1.5"/>' % (box_x, box_y, BOX_WIDTH, height),
        svg_text(box_x + 10, box_y + 17, part.name, 12, weight="bold"),
    ]
    for index, line in enumerate(_wrap(part.detail, 40)):
        out.append(svg_text(box_x + 10, box_y + 32 + 13 * index, line, 10, fill="#555"))
    for wire, y in zip(part.wires, terminal_ys, strict=True):
        out.append(
            '<rect x="%d" y="%d" width="10" height="10" fill="#ddd" stroke="#222"/>'
            % (box_x - 5, y - 5)
        )
        out.append(svg_text(box_x + 10, y + 4, wire.terminal, 10, weight="bold"))
    symbol_x = box_x + 150
    if part.kind == "button":
        out += symbol_button(symbol_x, terminal_ys)
    elif part.kind == "led":
        out += symbol_led(symbol_x, terminal_ys)
    elif part.kind == "mic":
        out += symbol_mic(symbol_x, terminal_ys)
    elif part.kind == "amp":
        out += symbol_amp(box_x + BOX_WIDTH, box_y)
    elif part.kind == "relay":
        out += symbol_strike(box_x + BOX_WIDTH, box_y)
    return out


def _wire_label(board, wire):
    if wire.gpio is None:
        return "%s · pin %d" % (wire.net, wire.pin)
    return "%s · pin %d" % (board.gpio_name(wire.gpio), wire.pin)


def render_board_svg(board):
    """The wiring diagram of `board` (a loaded pin map) as SVG text."""
    geometry = _Geometry(board)
    wires = board.wires()
    nets_at = {wire.pin: wire.net for wire in wires}

    # Parts top to bottom in the order of their mean header row: fewer crossings.
    def mean_track(part):
        return sum(geometry.track_y(wire.pin) for wire in part.wires) / len(part.wires)

    parts = sorted(board.parts, key=lambda part: (mean_track(part), part.id))
    lane_start = geometry.right_x + 156
    lanes_end = lane_start + LANE_SPACING * len(wires)
    box_x = lanes_end + LABEL_SPACE
    box_y = TOP - PITCH // 2 - 36
    ends = {}
    placements = []
    for part in parts:
        ys = [_terminal_y(box_y, part, index) for index in range(len(part.wires))]
        for wire, y in zip(part.wires, ys, strict=True):
            ends[id(wire)] = y
        placements.append((part, box_y, ys))
        box_y += _part_height(part) + BOX_GAP
    ordered_wires = [wire for part in parts for wire in part.wires]
    starts = [geometry.track_y(wire.pin) for wire in ordered_wires]
    finishes = [ends[id(wire)] for wire in ordered_wires]
    lanes = _lane_order(starts, finishes)
    lane_x = {lanes[index]: lane_start + LANE_SPACING * index for index in range(len(lanes))}

    width = box_x + BOX_WIDTH + 300
    notes_top = max(box_y, TOP + 20 * PITCH) + 20
    notes = board.notes + [
        "Reserved, left free: "
        + "; ".join("%s %s" % (board.gpio_name(gpio), reason) for gpio, reason in board.reserved)
    ]
    note_lines = [line for note in notes for line in _wrap(note, 150)]
    height = notes_top + 30 + 16 * len(note_lines) + 20

    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="%s">' % (width, height, width, height, FONT),
        '<rect width="%d" height="%d" fill="#ffffff"/>' % (width, height),
        svg_text(20, 32, "Door intercom wiring: " + board.title, 18, weight="bold"),
        svg_text(
            20,
            54,
            "Generated from hardware/boards/%s.toml by `python -m host_tools.wiring render`."
            " Numbers in the pins are physical header positions; labels give %s numbers."
            % (board.name, board.gpio_label),
            11,
            fill="#555",
        ),
    ]
    out += _draw_header(board, geometry, nets_at)
    for index, wire in enumerate(ordered_wires):
        exit_path = geometry.exit_path(wire.pin)
        x = lane_x[index]
        path = "%s H%d V%d H%d" % (exit_path, x, finishes[index], box_x - 5)
        colour = COLOURS.get(wire.colour, wire.colour)
        out.append(
            '<path d="%s" stroke="#111" stroke-width="4.5" fill="none" stroke-linejoin="round"/>'
            % path
        )
        out.append(
            '<path d="%s" stroke="%s" stroke-width="2.5" fill="none" stroke-linejoin="round"/>'
            % (path, colour)
        )
        out.append(svg_text(box_x - 10, finishes[index] - 5, _wire_label(board, wire), 9, "end"))
    # A dot where a shared net (one pin, several parts) splits off.
    for net in board.shared_nets:
        members = [index for index, wire in enumerate(ordered_wires) if wire.net == net]
        if len(members) > 1:
            split = min(members, key=lambda index: lane_x[index])
            out.append(
                '<circle cx="%d" cy="%d" r="4.5" fill="#111"/>' % (lane_x[split], starts[split])
            )
    for part, top, ys in placements:
        out += _draw_part(part, box_x, top, ys)
    out.append(svg_text(20, notes_top + 10, "Notes", 13, weight="bold"))
    for index, line in enumerate(note_lines):
        out.append(svg_text(20, notes_top + 30 + 16 * index, line, 11))
    out.append("</svg>")
    return "\n".join(out) + "\n"
