# A "board" for the flash tests: the MicroPython unix port behind a pty, in a
# folder that acts as the board's filesystem, so mpremote talks to it as to
# a Pico on /dev/ttyACM0. Run as a process (python pty_board.py FOLDER
# [BOOT_HEAP]): it prints the pty path mpremote opens and relays bytes both
# ways between that pty and the interpreter's own pty.
#
# A soft reset (Ctrl-D at the REPL) makes the unix port exit. Without
# BOOT_HEAP the relay then ends; with it, the relay "boots" like a Pico:
# `micropython -X heapsize=BOOT_HEAP main.py` in the folder, its output on
# the same pty, and ends when that exits. The environment (MICROPYPATH with
# the stand-ins, their PICO_* hooks) is the relay's own; PTY_BOARD_MICROPYTHON
# names another interpreter (a wrapper adding options) than the venv's.

import os
import pty
import select
import signal
import subprocess
import sys
import tty

from support.paths import MICROPYTHON as VENV_MICROPYTHON
from support.paths import ROOT, TESTS
from support.processes import stop_group

MICROPYTHON = os.environ.get("PTY_BOARD_MICROPYTHON") or str(VENV_MICROPYTHON)


class PtyBoard:
    """The relay process; .port is the pty path mpremote opens."""

    def __init__(self, folder, boot_heap=None, env=None):
        # the relay imports support (this module) as the tests do
        path = os.pathsep.join([str(TESTS), str(ROOT)])
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(folder), *([boot_heap] if boot_heap else [])],
            stdout=subprocess.PIPE,
            text=True,
            env={**(env or os.environ), "PYTHONPATH": path},
            start_new_session=True,
        )
        self.port = self.process.stdout.readline().strip()

    def stop(self):
        """SIGTERM (relay() kills its interpreter), SIGKILL after a grace period."""
        stop_group(self.process)
        self.process.stdout.close()


def relay(folder, boot_heap):
    host_side, device = pty.openpty()
    tty.setraw(device)
    board_side, board_tty = pty.openpty()
    tty.setraw(board_tty)
    commands = [[str(MICROPYTHON)]]
    if boot_heap:
        commands.append([str(MICROPYTHON), "-X", "heapsize=" + boot_heap, "main.py"])
    interpreter = None
    print(os.ttyname(device), flush=True)
    peer = {host_side: board_side, board_side: host_side}
    try:
        while commands or interpreter.poll() is None:
            if interpreter is None or interpreter.poll() is not None:
                interpreter = subprocess.Popen(
                    commands.pop(0), stdin=board_tty, stdout=board_tty, stderr=board_tty, cwd=folder
                )
            ready, _, _ = select.select(list(peer), [], [], 0.2)
            for fd in ready:
                data = os.read(fd, 4096)
                while data:  # a pty takes what fits in its buffer
                    data = data[os.write(peer[fd], data) :]
    finally:
        if interpreter is not None and interpreter.poll() is None:
            interpreter.kill()
            interpreter.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # runs relay()'s finally
    relay(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
