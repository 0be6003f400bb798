# The portable core of the door intercom: sans-I/O, runs on CPython and
# MicroPython alike. See README.md, section "Layout".

__version__ = "0.1.0"
