"""The wiring tables in hardware/README.md say what the pin maps say."""

import pathlib

from host_tools.wiring.pinmap import load_boards

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "hardware" / "README.md"
SECTIONS = {"rpi": "### Raspberry Pi\n", "pico_w": "### Raspberry Pi Pico W\n"}


def table_rows(board_name):
    text = README.read_text(encoding="utf-8")
    section = text.split(SECTIONS[board_name], 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2].isdigit():
            terminal, pin, signal = cells[1].split()[0], int(cells[2]), cells[3].split()[0]
            rows.append((terminal, pin, signal))
    return sorted(rows)


def test_readme_tables_list_every_wire_of_each_board():
    for board in load_boards(ROOT / "hardware" / "boards"):
        expected = sorted(
            (
                wire.terminal,
                wire.pin,
                board.gpio_name(wire.gpio) if wire.gpio is not None else wire.net,
            )
            for wire in board.wires()
        )
        assert table_rows(board.name) == expected, board.name


def test_readme_embeds_both_diagrams_and_names_the_audio_files():
    text = README.read_text(encoding="utf-8")
    for link in ("](wiring/rpi.svg)", "](wiring/pico_w.svg)", "](bom.csv)"):
        assert link in text
    for path in ("rpi/asound.conf", "rpi/asound-usb.conf", "rpi/config.txt.fragment"):
        assert (ROOT / "hardware" / path).is_file()
        assert "](%s)" % path in text
