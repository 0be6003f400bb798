"""pins.py and the wiring SVGs are exactly what the tool makes from the pin maps."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from host_tools.wiring.pinmap import load_boards
from host_tools.wiring.pins_module import render_pins_module
from host_tools.wiring.svg import render_board_svg

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOARDS = ROOT / "hardware" / "boards"
PINS_MODULE = ROOT / "firmware" / "intercom" / "pins.py"
WIRING = ROOT / "hardware" / "wiring"
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
SVG_NS = "{http://www.w3.org/2000/svg}"


def run_tool(*args, root=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "host_tools.wiring", *args, "--root", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_committed_pins_module_is_regenerated_identically():
    assert PINS_MODULE.read_text(encoding="utf-8") == render_pins_module(load_boards(BOARDS))


def test_committed_svgs_are_rerendered_byte_for_byte():
    boards = load_boards(BOARDS)
    assert sorted(path.name for path in WIRING.glob("*.svg")) == ["pico_w.svg", "rpi.svg"]
    for board in boards:
        committed = (WIRING / (board.name + ".svg")).read_bytes()
        assert render_board_svg(board).encode("utf-8") == committed, board.name


def test_rendering_is_deterministic():
    first = [render_board_svg(board) for board in load_boards(BOARDS)]
    second = [render_board_svg(board) for board in load_boards(BOARDS)]
    assert first == second


def test_svg_shows_every_part_pin_and_labelled_wire():
    for board in load_boards(BOARDS):
        svg = ElementTree.fromstring((WIRING / (board.name + ".svg")).read_bytes())
        texts = [element.text for element in svg.iter(SVG_NS + "text")]
        for pin in range(1, 41):
            assert str(pin) in texts
        for part in board.parts:
            assert part.name in texts
            for wire in part.wires:
                assert wire.terminal in texts
                where = board.gpio_name(wire.gpio) if wire.gpio is not None else wire.net
                assert "%s · pin %d" % (where, wire.pin) in texts
        # Two strokes per wire: a dark outline and the wire's colour.
        paths = list(svg.iter(SVG_NS + "path"))
        assert len(paths) >= 2 * len(board.wires())


def test_cli_check_passes_on_the_committed_files():
    for command in ("generate-pins", "render"):
        result = run_tool(command, "--check")
        assert result.returncode == 0, result.stdout + result.stderr


def copy_tree(tmp_path):
    for part in ("hardware/boards", "hardware/wiring"):
        shutil.copytree(ROOT / part, tmp_path / part)
    (tmp_path / "firmware" / "intercom").mkdir(parents=True)
    shutil.copy(PINS_MODULE, tmp_path / "firmware" / "intercom" / "pins.py")


def test_cli_reports_stale_outputs_and_regenerates_them(tmp_path):
    copy_tree(tmp_path)
    toml = tmp_path / "hardware" / "boards" / "pico_w.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("pin = 6, gpio = 4,", "pin = 26, gpio = 20,"), encoding="utf-8")
    for command in ("generate-pins", "render"):
        stale = run_tool(command, "--check", root=tmp_path)
        assert stale.returncode == 1
        assert "out of date" in stale.stdout
        assert run_tool(command, root=tmp_path).returncode == 0
        assert run_tool(command, "--check", root=tmp_path).returncode == 0
    pins = (tmp_path / "firmware" / "intercom" / "pins.py").read_text(encoding="utf-8")
    assert '"pico_w": {\n        "button": 2,\n        "relay": 3,\n        "led": 20,' in pins
    assert "GP20 · pin 26" in (tmp_path / "hardware" / "wiring" / "pico_w.svg").read_text()


def test_cli_refuses_a_map_that_breaks_the_rules(tmp_path):
    copy_tree(tmp_path)
    toml = tmp_path / "hardware" / "boards" / "rpi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("pin = 40, gpio = 21,", "pin = 37, gpio = 26,"), encoding="utf-8")
    before = (tmp_path / "firmware" / "intercom" / "pins.py").read_bytes()
    result = run_tool("generate-pins", root=tmp_path)
    assert result.returncode == 2
    assert "amp.sd on 26, but the I2S hardware drives sd_out only on [21]" in result.stderr
    assert (tmp_path / "firmware" / "intercom" / "pins.py").read_bytes() == before


def test_micropython_imports_the_pins_with_the_toml_values():
    script = "import json, intercom.pins as p; print(json.dumps([p.DEFAULT_PINS, p.I2S_PINS]))"
    result = subprocess.run(
        [str(MICROPYTHON), "-c", script],
        cwd=ROOT / "firmware",
        env={**os.environ, "MICROPYPATH": "."},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    default_pins, i2s_pins = json.loads(result.stdout)
    boards = load_boards(BOARDS)
    assert default_pins == {board.name: board.default_pins() for board in boards}
    assert i2s_pins == {board.name: board.i2s_pins() for board in boards}
