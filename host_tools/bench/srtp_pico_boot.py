# boot.py of the emulated Pico W in the srtp section of make bench (on its
# littlefs image beside srtp_micropython.mpy): the first boot only leaves a
# mark (its USB output would be lost: the host opens the port about 10
# emulated seconds after reset), the frozen main.py finds no config.json
# and MicroPython reboots softly; the second boot runs the SRTP timings with
# the frozen intercom.media.srtp (viper, then the plain loops) and measures
# the heap of one TLS client session (tls_heap_micropython, the RTC set so
# that its certificate is valid), prints them and idles until the runner is
# stopped.

import os
import time

try:
    os.stat("second_boot")
except OSError:
    with open("second_boot", "w"):
        pass
else:
    import srtp_micropython

    srtp_micropython.main(50, False)
    srtp_micropython.main(50, True)
    import json

    import machine
    import tls_heap_micropython

    with open("rtc_date.json") as source:  # today, written by the bench
        machine.RTC().datetime(tuple(json.load(source)))
    tls_heap_micropython.main()
    print("srtp bench done")
    while True:
        time.sleep_ms(1000)
