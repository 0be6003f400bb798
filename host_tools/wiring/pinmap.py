"""Load the board pin maps (hardware/boards/*.toml) and check their rules.

A pin map names every header position of a board and every wire from a part
(button, relay, LED, mic, amp) to a header position. `load_board` rejects a
file whose wires contradict its own header (a wire to pin 11 claiming GPIO 5);
`problems` lists the wiring rules a board breaks:

- a header position carries one wire, unless all its wires belong to one of
  the board's `shared_nets` (the Pi's I2S clocks feed the mic and the amp);
- a signal net lands on one header position;
- no wire uses a reserved GPIO;
- each firmware role (ROLES) is wired exactly once;
- I2S pins are ones the board's I2S hardware can drive: the listed pins per
  signal (`i2s_hardware.sck = [18]` …), and/or `ws == sck + 1` (rp2 PIO).
"""

import pathlib
import tomllib

# The optional inputs and outputs a door may have (config [gpio] keys, the
# Station's inputs and outputs): generated into intercom/pins.py.
INPUT_ROLES = ("door_contact", "exit_button", "tamper")
OUTPUT_ROLES = ("chime", "calling", "talking", "door_open")
GPIO_ROLES = ("button", "relay", "led", "button2", "button3") + INPUT_ROLES + OUTPUT_ROLES
I2S_DEVICES = ("mic", "amp")
I2S_SIGNALS = ("sck", "ws", "sd")
ROLES = GPIO_ROLES + tuple(
    "%s.%s" % (device, signal) for device in I2S_DEVICES for signal in I2S_SIGNALS
)
# Which list of `i2s_hardware` allows each I2S role.
I2S_HARDWARE_KEY = {
    "mic.sck": "sck",
    "amp.sck": "sck",
    "mic.ws": "ws",
    "amp.ws": "ws",
    "mic.sd": "sd_in",
    "amp.sd": "sd_out",
}
LAYOUTS = ("rows", "u")
HEADER_PINS = 40
GPIO_PREFIX = {"BCM": "GPIO", "GP": "GP"}


class PinMapError(ValueError):
    """A pin map file is malformed or contradicts itself."""


class Wire:
    """One wire from a part's terminal to a header position."""

    def __init__(self, part, terminal, pin, gpio, role, net, colour):
        self.part = part
        self.terminal = terminal
        self.pin = pin
        self.gpio = gpio
        self.role = role
        self.net = net
        self.colour = colour


class Part:
    """A wired part: its id, kind (button, relay, led, mic, amp) and wires."""

    def __init__(self, part_id, kind, name, detail, wires):
        self.id = part_id
        self.kind = kind
        self.name = name
        self.detail = detail
        self.wires = wires


class Board:
    """A board's header, reserved GPIOs, I2S constraints and wired parts."""

    def __init__(self, path, data, parts):
        self.path = path
        self.name = data["board"]
        self.title = data["title"]
        self.gpio_label = data["gpio_label"]
        self.layout = data["layout"]
        self.header = list(data["header"])
        self.reserved = [(entry["gpio"], entry["reason"]) for entry in data["reserved"]]
        self.i2s_hardware = dict(data["i2s_hardware"])
        self.shared_nets = list(data["shared_nets"])
        self.notes = list(data.get("notes", []))
        self.parts = parts

    def wires(self):
        return [wire for part in self.parts for wire in part.wires]

    def gpio_name(self, gpio):
        return "%s%d" % (GPIO_PREFIX[self.gpio_label], gpio)

    def gpio_of_header(self, pin):
        """The GPIO number at header position `pin`, or None for power/other pins."""
        label = self.header[pin - 1]
        prefix = GPIO_PREFIX[self.gpio_label]
        if label.startswith(prefix) and label[len(prefix) :].isdigit():
            return int(label[len(prefix) :])
        return None

    def role_gpio(self, role):
        for wire in self.wires():
            if wire.role == role:
                return wire.gpio
        raise KeyError("%s: no wire has role %r" % (self.path, role))

    def default_pins(self):
        return {role: self.role_gpio(role) for role in GPIO_ROLES}

    def i2s_pins(self):
        return {
            device: {signal: self.role_gpio(device + "." + signal) for signal in I2S_SIGNALS}
            for device in I2S_DEVICES
        }


def _require(path, table, key, kind, where):
    if key not in table:
        raise PinMapError("%s: %s has no %r" % (path, where, key))
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise PinMapError("%s: %s.%s must be %s" % (path, where, key, kind.__name__))
    return value


def _load_wire(path, board_data, part_id, index, entry):
    where = "part %r wire %d" % (part_id, index + 1)
    pin = _require(path, entry, "pin", int, where)
    if not 1 <= pin <= HEADER_PINS:
        raise PinMapError("%s: %s: pin %d is not on the header" % (path, where, pin))
    label = board_data["header"][pin - 1]
    gpio = entry.get("gpio")
    role = entry.get("role")
    net = _require(path, entry, "net", str, where)
    if gpio is None:
        if role is not None:
            raise PinMapError("%s: %s: role %r needs a gpio" % (path, where, role))
        if label != net:
            raise PinMapError(
                "%s: %s: net %s on pin %d, but pin %d is %s" % (path, where, net, pin, pin, label)
            )
    else:
        expected = GPIO_PREFIX[board_data["gpio_label"]] + str(gpio)
        if label != expected:
            raise PinMapError(
                "%s: %s: pin %d is %s, not %s (gpio %d)" % (path, where, pin, label, expected, gpio)
            )
        if role is not None and role not in ROLES:
            raise PinMapError("%s: %s: unknown role %r" % (path, where, role))
    return Wire(
        part_id,
        _require(path, entry, "terminal", str, where),
        pin,
        gpio,
        role,
        net,
        entry.get("colour", "grey"),
    )


def load_board(path):
    """Parse and validate one pin map file; raises PinMapError naming the file."""
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise PinMapError("%s: %s" % (path, error)) from error
    for key, kind in (
        ("board", str),
        ("title", str),
        ("gpio_label", str),
        ("layout", str),
        ("header", list),
        ("reserved", list),
        ("i2s_hardware", dict),
        ("shared_nets", list),
        ("parts", list),
    ):
        _require(path, data, key, kind, "the file")
    if data["gpio_label"] not in GPIO_PREFIX:
        raise PinMapError("%s: gpio_label must be one of %s" % (path, ", ".join(GPIO_PREFIX)))
    if data["layout"] not in LAYOUTS:
        raise PinMapError("%s: layout must be one of %s" % (path, ", ".join(LAYOUTS)))
    if len(data["header"]) != HEADER_PINS:
        raise PinMapError("%s: header lists %d pins, not 40" % (path, len(data["header"])))
    parts = []
    for entry in data["parts"]:
        part_id = _require(path, entry, "id", str, "a part")
        wires = [
            _load_wire(path, data, part_id, index, wire)
            for index, wire in enumerate(_require(path, entry, "wires", list, part_id))
        ]
        parts.append(
            Part(
                part_id,
                _require(path, entry, "kind", str, part_id),
                _require(path, entry, "name", str, part_id),
                entry.get("detail", ""),
                wires,
            )
        )
    return Board(path, data, parts)


def load_boards(boards_dir):
    """All pin maps in a folder, sorted by board name."""
    boards = [load_board(path) for path in sorted(pathlib.Path(boards_dir).glob("*.toml"))]
    return sorted(boards, key=lambda board: board.name)


def _position_problems(board):
    found = []
    wires_at = {}
    for wire in board.wires():
        wires_at.setdefault(wire.pin, []).append(wire)
    for pin in sorted(wires_at):
        wires = wires_at[pin]
        nets = {wire.net for wire in wires}
        shared = len(nets) == 1 and wires[0].net in board.shared_nets
        if len(wires) > 1 and not shared:
            users = ", ".join("%s.%s" % (wire.part, wire.terminal) for wire in wires)
            found.append("header pin %d is used by %s" % (pin, users))
    pins_of_net = {}
    for wire in board.wires():
        if wire.gpio is not None:
            pins_of_net.setdefault(wire.net, set()).add(wire.pin)
    for net in sorted(pins_of_net):
        if len(pins_of_net[net]) > 1:
            pins = ", ".join(str(pin) for pin in sorted(pins_of_net[net]))
            found.append("net %s lands on header pins %s" % (net, pins))
    return found


def _role_problems(board):
    found = []
    reserved = dict(board.reserved)
    for wire in board.wires():
        if wire.gpio in reserved:
            found.append(
                "%s.%s uses reserved %s (%s)"
                % (wire.part, wire.terminal, board.gpio_name(wire.gpio), reserved[wire.gpio])
            )
    for role in ROLES:
        count = sum(1 for wire in board.wires() if wire.role == role)
        if count != 1:
            found.append("role %s is wired %d times, not once" % (role, count))
    return found


def _i2s_problems(board):
    found = []
    gpio_of_role = {wire.role: wire.gpio for wire in board.wires() if wire.role}
    for role, key in I2S_HARDWARE_KEY.items():
        allowed = board.i2s_hardware.get(key)
        if allowed is not None and gpio_of_role.get(role) not in allowed:
            found.append(
                "%s on %s, but the I2S hardware drives %s only on %s"
                % (role, gpio_of_role.get(role), key, allowed)
            )
    if board.i2s_hardware.get("ws_is_sck_plus_1"):
        for device in I2S_DEVICES:
            sck = gpio_of_role.get(device + ".sck")
            ws = gpio_of_role.get(device + ".ws")
            if sck is None or ws != sck + 1:
                found.append("%s: ws (%s) must be sck (%s) + 1" % (device, ws, sck))
    return found


def problems(board):
    """The wiring rules `board` breaks, as sentences; [] when it is sound."""
    return _position_problems(board) + _role_problems(board) + _i2s_problems(board)
