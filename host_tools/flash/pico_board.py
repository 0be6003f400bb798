# A MicroPython board reached through mpremote (the pinned pip package, run
# as `python -m mpremote`). Every call is `mpremote connect PORT resume …`:
# `resume` keeps mpremote from soft-resetting the board on connect, so the
# files, the running interpreter and a unix port behind a pty survive.
#
#   probe()          version, mpy format, free bytes, {path: (sha256, size)}
#                    of the firmware files (and the prompts) on the board, its ROMFS
#                    partition ([size, sha256 of the image in it]; [0, ""]
#                    without one) and whether the door is frozen into its
#                    firmware (make firmware), in one exec
#   deploy_romfs(image, cb)  `mpremote romfs deploy` of an image file
#   remove_trees(folders)  deletes folders with everything in them
#   copy(files, cb)  one mpremote run chaining `fs cp` per file; cb(file) as
#                    mpremote reports each one done
#   remove(paths)    deletes stale files
#   soft_reset_and_watch(seconds)  Ctrl-C, Ctrl-B, Ctrl-D on the serial port
#                    (main.py runs after a soft reset) and the output that
#                    follows, read for `seconds`
#
# MicroPython's hashlib has no hexdigest(): the board hexlifies digest().

import json
import signal
import subprocess
import sys
import threading
import time

MPREMOTE_TIMEOUT_S = 60
PROBE_MARK = "FLASH-PROBE "

# Runs on the board: prints PROBE_MARK + JSON. Paths are relative to the
# board's root (the current folder on a Pico after boot).
PROBE_CODE = (
    """
import sys, os, json, hashlib, binascii
def _walk(folder):
    found = []
    try:
        entries = list(os.ilistdir(folder))
    except OSError:
        return found
    for entry in entries:
        path = folder + "/" + entry[0]
        if entry[1] == 0x4000:
            found.extend(_walk(path))
        else:
            found.append(path)
    return found
def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(1024)
            if not block:
                break
            digest.update(block)
    return binascii.hexlify(digest.digest()).decode()
_files = {}
for _path in _walk("intercom") + _walk("boards") + _walk("prompts") + ["main.py", "config.json"]:
    try:
        _files[_path] = [_sha256(_path), os.stat(_path)[6]]
    except OSError:
        pass
def _romfs():
    # ROMFS partition 0 (MicroPython 1.25+ built with one, vfs.rom_ioctl):
    # its size, and the sha256 of the image in it (its length is in the
    # header: b"\\xd2\\xcd\\x31", then a base-128 varint of the rest).
    try:
        import vfs
        if not hasattr(vfs, "rom_ioctl") or vfs.rom_ioctl(1) <= 0:
            return [0, ""]
        part = vfs.rom_ioctl(2, 0)
        if isinstance(part, int) or hasattr(part, "ioctl"):
            return [0, ""]
    except Exception:
        return [0, ""]
    head = bytes(part[:12])
    if head[:3] != b"\\xd2\\xcd\\x31":
        return [len(part), ""]
    size = 0
    at = 3
    while at < len(head):
        size = (size << 7) | (head[at] & 0x7F)
        at += 1
        if not head[at - 1] & 0x80:
            break
    if at + size > len(part):
        return [len(part), ""]
    digest = hashlib.sha256(part[: at + size]).digest()
    return [len(part), binascii.hexlify(digest).decode()]
def _frozen_door():
    # The door frozen into the firmware (make firmware): intercom imports
    # from ".frozen" alone (a copy on the filesystem would come first).
    saved = sys.path[:]
    sys.modules.pop("intercom", None)
    sys.path[:] = [".frozen"]
    try:
        __import__("intercom")
        return True
    except ImportError:
        return False
    finally:
        sys.path[:] = saved
        sys.modules.pop("intercom", None)
_fs = os.statvfs(".")
print("%s" + json.dumps({
    "version": list(sys.implementation.version[:3]),
    "mpy": getattr(sys.implementation, "_mpy", 0),
    "md5": hasattr(hashlib, "md5"),
    "free": _fs[0] * _fs[4],
    "files": _files,
    "romfs": _romfs(),
    "frozen": _frozen_door(),
}))
"""
    % PROBE_MARK
)


# Runs on the board: deletes each folder of FOLDERS with everything in it.
REMOVE_TREES_CODE = """
import os
def _remove_tree(folder):
    try:
        entries = list(os.ilistdir(folder))
    except OSError:
        return
    for entry in entries:
        path = folder + "/" + entry[0]
        if entry[1] == 0x4000:
            _remove_tree(path)
        else:
            os.remove(path)
    os.rmdir(folder)
for _folder in %r:
    _remove_tree(_folder)
"""


class BoardError(Exception):
    pass


class MpremoteBoard:
    def __init__(self, port):
        self.port = port

    def _mpremote(self, arguments, on_line=None, timeout=MPREMOTE_TIMEOUT_S):
        command = [sys.executable, "-m", "mpremote", "connect", self.port, "resume"]
        process = subprocess.Popen(
            command + arguments,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        lines = []
        try:
            for line in process.stdout:
                lines.append(line)
                if on_line is not None:
                    on_line(line.rstrip("\n"))
            process.wait()
        finally:
            watchdog.cancel()
        if process.returncode == -signal.SIGKILL:
            raise BoardError("no answer from %s within %d s" % (self.port, timeout))
        error = process.stderr.read().strip()
        if process.returncode != 0:
            if "failed to access" in error or "no device found" in error:
                raise BoardError("no MicroPython device on %s (%s)" % (self.port, error))
            raise BoardError("mpremote on %s failed: %s" % (self.port, error or "".join(lines)))
        return "".join(lines)

    def exec(self, code, on_line=None):
        return self._mpremote(["exec", code], on_line)

    def probe(self):
        output = self.exec(PROBE_CODE)
        for line in output.splitlines():
            if line.startswith(PROBE_MARK):
                found = json.loads(line[len(PROBE_MARK) :])
                found["files"] = {path: tuple(entry) for path, entry in found["files"].items()}
                return found
        raise BoardError("the board on %s did not answer the probe: %s" % (self.port, output))

    def make_folders(self, folders):
        code = ["import os"]
        for folder in folders:
            code.append("try:\n    os.mkdir(%r)\nexcept OSError:\n    pass" % folder)
        self.exec("\n".join(code))

    def copy(self, files, on_copied):
        """Copy BuildFiles; on_copied(file) after each one mpremote reports."""
        by_target = {":" + file.board_path: file for file in files}
        arguments = []
        for file in files:
            arguments += ["fs", "cp", str(file.local_path), ":" + file.board_path, "+"]

        def report(line):
            target = line.rsplit(" ", 1)[-1]
            if line.startswith("cp ") and target in by_target:
                on_copied(by_target[target])

        self._mpremote(arguments[:-1], report, timeout=MPREMOTE_TIMEOUT_S + 2 * len(files))

    def deploy_romfs(self, image_path, on_line):
        """`mpremote romfs deploy IMAGE` to partition 0; on_line(line) per line."""
        self._mpremote(["romfs", "deploy", str(image_path)], on_line, MPREMOTE_TIMEOUT_S * 3)

    def remove_trees(self, folders):
        """Deletes the folders and everything in them; absent ones are skipped."""
        self.exec(REMOVE_TREES_CODE % (list(folders),))

    def remove(self, paths):
        code = ["import os"] + ["os.remove(%r)" % path for path in paths]
        self.exec("\n".join(code))

    def soft_reset_and_watch(self, seconds, on_line):
        import serial  # pyserial comes with mpremote

        try:
            link = serial.Serial(self.port, 115200, timeout=0.2)
        except (OSError, serial.SerialException) as error:
            raise BoardError("no MicroPython device on %s (%s)" % (self.port, error)) from error
        with link:
            link.write(b"\r\x03\x03\x02\x04")  # interrupt, friendly REPL, soft reset
            pending = b""
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    pending += link.read(256)
                except serial.SerialException:  # the board went away (hard reset)
                    on_line("(%s closed)" % self.port)
                    return
                while b"\n" in pending:
                    line, _, pending = pending.partition(b"\n")
                    on_line(line.decode("utf-8", "replace").rstrip("\r"))
