"""`python -m host_tools.flash` (make flash): put the firmware on a Pico W
(pico.py, over mpremote) or a Raspberry Pi (rpi.py, over ssh)."""
