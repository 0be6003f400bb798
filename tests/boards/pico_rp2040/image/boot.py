# boot.py on the emulated call's littlefs image (test code): before the
# frozen main.py runs, the network and socket stand-ins and the machine
# module with a stand-in I2S (emu_machine.py says why) take the place of
# the built-in modules (import finds sys.modules first), and the heap probe
# waits for the runner to start it ('H' frame): every period it collects
# garbage and reports mem_alloc/mem_free and when it took them (ms since
# reset; the line goes out from the sockets' next poll:
# emu_link.send_heap_samples).

import gc
import sys
import time

import emu_link
import emu_machine
import emu_network
import emu_socket
import machine

sys.modules["machine"] = emu_machine
sys.modules["network"] = emu_network
sys.modules["socket"] = emu_socket

_timer = machine.Timer()


def _sample(timer):
    # A scheduled callback runs between any two bytecodes, so this one sits
    # on top of whatever the door is doing at the time, on its C stack: it
    # only collects and reads the heap there (the door's C-stack peak is
    # measured with it); emu_link sends the figures from the sockets' poll.
    gc.collect()
    emu_link.heap_samples.append((gc.mem_alloc(), gc.mem_free(), time.ticks_ms()))


def _set_probe(period_ms):
    _timer.deinit()
    if period_ms:
        _timer.init(period=period_ms, callback=_sample)


emu_link.on_probe(_set_probe)
gc.collect()
emu_link.probe("boot %d %d" % (gc.mem_alloc(), gc.mem_free()))
