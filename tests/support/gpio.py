# The fake RPi.GPIO (hardware/RPi/GPIO.py) for tests of the rpi board's
# GPIO code in the test process: installed in sys.modules as `RPi` and
# `RPi.GPIO` (PLATFORM.md: no real RPi.GPIO imports off a Pi), so the board
# code's own `import RPi.GPIO` gets it. A door process gets the same fake
# through PYTHONPATH (support.paths.FAKE_GPIO_PATH).

import importlib
import importlib.util
import sys

from support.paths import FAKE_GPIO_PATH


def install_fake_gpio():
    """The fake RPi.GPIO module, in sys.modules from the first call on."""
    if "RPi.GPIO" not in sys.modules:
        package_folder = FAKE_GPIO_PATH / "RPi"
        spec = importlib.util.spec_from_file_location(
            "RPi", package_folder / "__init__.py", submodule_search_locations=[str(package_folder)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["RPi"] = package
        spec.loader.exec_module(package)
        importlib.import_module("RPi.GPIO")  # found in the package's own folder
    return sys.modules["RPi.GPIO"]
