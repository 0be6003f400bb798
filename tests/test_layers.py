# Dependencies point one way (ARCHITECTURE.md, "What may import what"):
# the core imports no board code; in firmware/boards each package imports
# only the layers below it, and no board imports another board.

from support.imports import imported_modules
from support.paths import FIRMWARE, ROOT

# package -> the firmware packages its modules may import (besides itself)
MAY_IMPORT = {
    "intercom": (),
    "boards.runtime": ("intercom",),
    "boards.audio": ("intercom", "boards.runtime"),
    "boards.services": ("intercom", "boards.runtime"),
    "boards.sim": ("intercom", "boards.runtime", "boards.audio", "boards.services"),
    "boards.rpi": ("intercom", "boards.runtime", "boards.audio", "boards.services"),
    "boards.pico_w": ("intercom", "boards.runtime", "boards.audio", "boards.services"),
    "boards.cli": (
        "intercom",
        "boards.runtime",
        "boards.audio",
        "boards.services",
        "boards.sim",
        "boards.rpi",
        "boards.pico_w",
    ),
}
# `python -m intercom` is the command's entry point on CPython: the one
# place where the core's package names the CLI.
ENTRY_POINTS = {"intercom/__main__.py": "boards.cli"}
FIRMWARE_ROOTS = ("intercom", "boards")


def layer_of(module):
    """The MAY_IMPORT key a firmware module belongs to, None for others."""
    if module.split(".")[0] not in FIRMWARE_ROOTS:
        return None
    for layer in sorted(MAY_IMPORT, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return module  # a firmware package no layer names: an offence itself


def offences(folder, root=ROOT):
    found = []
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder)
        own = layer_of(".".join(relative.with_suffix("").parts))
        if own is None:  # main.py, manifest.py: the entry point above every layer
            continue
        for line, module in imported_modules(path):
            target = layer_of(module)
            if target is None or target == own or target in MAY_IMPORT.get(own, ()):
                continue
            if ENTRY_POINTS.get(relative.as_posix()) == target:
                continue
            found.append("%s:%d imports %s" % (path.relative_to(root), line, module))
    return found


def test_firmware_dependencies_point_one_way():
    assert offences(FIRMWARE) == []


def test_every_boards_package_is_a_known_layer():
    packages = sorted(
        "boards." + path.name
        for path in (FIRMWARE / "boards").iterdir()
        if (path / "__init__.py").exists()
    )
    assert packages == sorted(name for name in MAY_IMPORT if name.startswith("boards."))


def test_the_check_catches_an_import_against_the_layers(tmp_path):
    (tmp_path / "boards" / "runtime").mkdir(parents=True)
    (tmp_path / "boards" / "sim").mkdir()
    (tmp_path / "intercom").mkdir()
    (tmp_path / "boards" / "runtime" / "x.py").write_text(
        "from intercom import events\ndef f():\n    from boards.audio import wav\n"
    )
    (tmp_path / "boards" / "sim" / "y.py").write_text("import boards.rpi.gpio_input\n")
    (tmp_path / "intercom" / "z.py").write_text("from boards.runtime import loop\n")
    lines = [line.split(" imports ")[1] for line in offences(tmp_path, tmp_path)]
    assert lines == ["boards.audio", "boards.rpi.gpio_input", "boards.runtime"]
