# The call and door event log of the CPython boards: the last LIMIT entries,
# kept in memory and written atomically (boards.runtime.state_file.write_atomic) to
# call_log.json next to door.state_file, so they survive restarts.
#
#   CallLog(path, limit=LIMIT)     reads the file (a missing or damaged file
#                                  starts an empty log; damage is reported)
#   add(event, wallclock_ms)       one entry: the event's fields plus
#                                  "time_ms" (Unix-epoch ms); oldest dropped
#   entries() -> list              oldest first (copies)
#   save()                         write when changed; returns True if written
#
# Writes are coalesced by the caller (services saves at most every
# SAVE_DELAY_MS and at stop), so a burst of events costs one fsync.

import json
import os

from boards.runtime import state_file

LIMIT = 200
FILE_NAME = "call_log.json"
FORMAT_VERSION = 1


def path_next_to(state_file):
    return os.path.join(os.path.dirname(state_file), FILE_NAME)


class CallLog:
    def __init__(self, path, limit=LIMIT):
        self.path = path
        self.limit = limit
        self.problem = None
        self._entries = []
        self._changed = False
        try:
            with open(path) as source:
                stored = json.load(source)
            entries = stored["entries"]
            if stored.get("version") != FORMAT_VERSION or not isinstance(entries, list):
                raise ValueError("unknown format")
            self._entries = [entry for entry in entries if isinstance(entry, dict)][-limit:]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.problem = "call log %s unreadable, starting empty: %s" % (path, error)

    def add(self, event, wallclock_ms):
        entry = dict(event)
        entry["time_ms"] = wallclock_ms
        self._entries.append(entry)
        if len(self._entries) > self.limit:
            del self._entries[: len(self._entries) - self.limit]
        self._changed = True

    def entries(self):
        return [dict(entry) for entry in self._entries]

    @property
    def changed(self):
        return self._changed

    def save(self):
        if not self._changed:
            return False
        text = json.dumps({"version": FORMAT_VERSION, "entries": self._entries})
        state_file.write_atomic(self.path, text)
        self._changed = False
        return True
