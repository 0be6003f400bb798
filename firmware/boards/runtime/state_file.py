# Files the door rewrites while it runs, on CPython and MicroPython: the
# door policy's lockout state and (CPython) the call log. Kept apart from
# the config loader (boards.cli.config_file), which only boot needs: a Pico W
# drops that module after boot and keeps this one.
#
#   write_atomic(path, text)  temp file + fsync + rename: a reader sees the old
#                          or the new content, never half of it (the lockout
#                          state must survive a power cut mid-write)
#   read_state / save_state   the door policy's persistent state as JSON
#   folder_of(path)        the folder part of a path ("." when there is none)

import json
import os


def folder_of(path):
    slash = path.rfind("/")
    if slash < 0:
        return "."
    return path[:slash] or "/"


def write_atomic(path, text):
    """Replaces the file at path with text so that no reader sees a mix.

    Written to path + ".tmp", flushed and fsync'd (where the OS has fsync),
    then renamed over path; on CPython the folder is fsync'd as well so the
    rename itself survives a power cut.
    """
    temporary = path + ".tmp"
    _write_synced(temporary, text)
    os.rename(temporary, path)
    directory_flag = getattr(os, "O_DIRECTORY", None)  # CPython only
    if hasattr(os, "fsync") and directory_flag is not None:
        folder = os.open(folder_of(path), getattr(os, "O_RDONLY", 0) | directory_flag)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _write_synced(path, text):
    """text in a new file at path, flushed and fsync'd where the OS has
    fsync. A function of its own so that the file object is garbage during
    write_atomic's rename: on a Pico W it holds littlefs's 1 KiB file cache
    (some 1.3 KiB live in all), and a rename can take 100 ms of flash
    writes."""
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        if hasattr(os, "fsync"):
            os.fsync(handle.fileno())


def read_state(path):
    """The saved door state: None when there is none, {} when unreadable.

    An unreadable state reaches DoorPolicy as {}, which reports it with an
    error event and starts without it.
    """
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {}


def save_state(path, state):
    write_atomic(path, json.dumps(state))
