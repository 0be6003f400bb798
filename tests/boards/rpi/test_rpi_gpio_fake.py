"""The fake RPi.GPIO stays honest: every RPi.GPIO name the rpi board code
uses exists in the types-RPi.GPIO stubs, and the fake gives each the stub's
value or signature."""

import ast
import inspect
import pathlib
import sysconfig
import threading
import time

from support.gpio import install_fake_gpio
from support.paths import FIRMWARE

GPIO = install_fake_gpio()
BOARD_FILES = [FIRMWARE / "boards" / "rpi" / name for name in ("board.py", "gpio_input.py")]
# How the board code reaches the RPi.GPIO module.
GPIO_HOLDERS = {"gpio", "_gpio"}


def stub_path():
    path = pathlib.Path(sysconfig.get_paths()["purelib"]) / "RPi-stubs" / "GPIO" / "__init__.pyi"
    assert path.exists(), "pip install types-RPi.GPIO (requirements/dev.txt)"
    return path


def stub_names():
    """{name: constant value or None (functions, classes, annotations)}."""
    names = {}
    for node in ast.parse(stub_path().read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value.value if isinstance(node.value, ast.Constant) else None
            if value is None and isinstance(node.annotation, ast.Subscript):
                inner = node.annotation.slice
                if isinstance(inner, ast.Constant):  # HIGH: Literal[1]
                    value = inner.value
            if isinstance(node.value, ast.UnaryOp) and isinstance(node.value.operand, ast.Constant):
                value = -node.value.operand.value
            names[node.target.id] = value
    return names


def names_used_by_board():
    used = set()
    for path in BOARD_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            holder = node.value
            if isinstance(holder, ast.Name) and holder.id in GPIO_HOLDERS:
                used.add(node.attr)
            elif isinstance(holder, ast.Attribute) and holder.attr in GPIO_HOLDERS:
                used.add(node.attr)
    return used


def test_the_board_uses_only_names_the_stubs_declare():
    used = names_used_by_board()
    assert {"setmode", "setup", "output", "input", "add_event_detect", "cleanup"} <= used
    assert sorted(used - set(stub_names())) == []


def test_the_fake_has_every_stub_name_with_the_stub_value():
    for name, value in stub_names().items():
        if name.startswith("_"):
            continue
        assert hasattr(GPIO, name), name
        if isinstance(value, int):
            assert getattr(GPIO, name) == value, name


def test_the_fake_functions_take_the_stub_parameters():
    for name, node in stub_names().items():
        if not isinstance(node, ast.FunctionDef):
            continue
        stub_params = [arg.arg for arg in node.args.posonlyargs + node.args.args]
        fake_params = list(inspect.signature(getattr(GPIO, name)).parameters)
        assert fake_params == stub_params, name


def test_callbacks_run_on_another_thread_with_the_channel_number():
    GPIO.sim_reset()
    GPIO.setmode(GPIO.BCM)
    GPIO.setup(5, GPIO.IN, pull_up_down=GPIO.PUD_UP)
    seen = []
    GPIO.add_event_detect(
        5, GPIO.FALLING, callback=lambda ch: seen.append((ch, threading.get_ident()))
    )
    GPIO.sim_press(5)
    GPIO.sim_wait_callbacks()
    assert seen and seen[0][0] == 5 and seen[0][1] != threading.get_ident()
    assert GPIO.event_detected(5) and not GPIO.event_detected(5)


def test_bouncetime_drops_edges_within_the_window_like_rpi_gpio():
    GPIO.sim_reset()
    GPIO.setmode(GPIO.BCM)
    GPIO.setup(6, GPIO.IN, pull_up_down=GPIO.PUD_UP)
    seen = []
    GPIO.add_event_detect(6, GPIO.BOTH, callback=seen.append, bouncetime=50)
    GPIO.sim_bounce(6, pressed=True, edges=5, spacing_ms=1)
    GPIO.sim_wait_callbacks()
    assert seen == [6]
    time.sleep(0.06)
    GPIO.sim_release(6)
    GPIO.sim_wait_callbacks()
    assert seen == [6, 6]


def test_misuse_raises_as_rpi_gpio_does():
    GPIO.sim_reset()
    for call in (lambda: GPIO.setup(4, GPIO.IN), lambda: GPIO.input(4)):
        try:
            call()
        except RuntimeError as error:
            assert "setmode" in str(error)
        else:
            raise AssertionError("no error before setmode")
    GPIO.setmode(GPIO.BCM)
    GPIO.setup(4, GPIO.IN)
    GPIO.add_event_detect(4, GPIO.RISING)
    for call, kind in (
        (lambda: GPIO.add_event_detect(4, GPIO.RISING), RuntimeError),
        (lambda: GPIO.output(4, 1), RuntimeError),
        (lambda: GPIO.add_event_detect(4, GPIO.RISING, bouncetime=0), ValueError),
        (lambda: GPIO.setmode(GPIO.BOARD), ValueError),
    ):
        try:
            call()
        except kind:
            pass
        else:
            raise AssertionError("no %s" % kind.__name__)
