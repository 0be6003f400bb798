"""Command line: generate-pins | render [--check] [--root DIR]."""

import argparse
import pathlib
import sys

from host_tools.wiring.pinmap import PinMapError, load_boards, problems
from host_tools.wiring.pins_module import render_pins_module
from host_tools.wiring.svg import render_board_svg

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BOARDS_DIR = pathlib.Path("hardware") / "boards"
PINS_MODULE = pathlib.Path("firmware") / "intercom" / "pins.py"
WIRING_DIR = pathlib.Path("hardware") / "wiring"


def outputs(command, root):
    """{path: text} that `command` produces from the pin maps under `root`."""
    boards = load_boards(root / BOARDS_DIR)
    broken = ["%s: %s" % (board.path, problem) for board in boards for problem in problems(board)]
    if broken:
        raise PinMapError("\n".join(broken))
    if command == "generate-pins":
        return {root / PINS_MODULE: render_pins_module(boards)}
    return {root / WIRING_DIR / (board.name + ".svg"): render_board_svg(board) for board in boards}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host_tools.wiring", description=__doc__)
    parser.add_argument("command", choices=("generate-pins", "render"))
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--root", type=pathlib.Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        files = outputs(args.command, args.root)
    except PinMapError as error:
        print(error, file=sys.stderr)
        return 2
    stale = []
    for path, text in files.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print("wrote %s" % path)
    for path in stale:
        print("%s is out of date: run python -m host_tools.wiring %s" % (path, args.command))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
