# Where the door's events and human log lines go, on every board:
#
#   log(text)              one human line on stderr
#   EventLog(mode).emit(event)
#       "json": one JSON object per line on stdout and nothing else there
#       (DESIGN.md, Contracts: Events); a closed stdout stops the printing,
#       never the door
#       "text": a human line per event on stderr

import os
import sys

from intercom import events


def log(text):
    print(text, file=sys.stderr)


class EventLog:
    """--log json: one JSON object per line on stdout, nothing else there.
    --log text: a human line per event on stderr."""

    def __init__(self, mode):
        if mode not in ("json", "text"):
            raise ValueError("log mode %r is not json or text" % (mode,))
        self.mode = mode
        self.stdout_open = True

    def emit(self, event):
        if self.mode == "json":
            if not self.stdout_open:
                return
            try:
                sys.stdout.write(events.format_line(event) + "\n")
                # rp2's sys.stdout (USB CDC / UART) is unbuffered and has no flush()
                flush = getattr(sys.stdout, "flush", None)
                if flush is not None:
                    flush()
            except OSError as error:  # the reader went away: the door keeps working
                self.stdout_open = False
                log("intercom: stdout closed (%s); events are no longer printed" % error)
                if hasattr(os, "dup2"):  # CPython: let the exit-time flush go nowhere
                    # the Pico's os has neither name; this branch never runs there
                    null = os.open(os.devnull, os.O_WRONLY)  # pyright: ignore[reportAttributeAccessIssue]
                    os.dup2(null, sys.stdout.fileno())
            return
        fields = []
        for key in sorted(event):
            if key not in ("ts_ms", "event"):
                fields.append("%s=%s" % (key, event[key]))
        log("%10d %s %s" % (event["ts_ms"], event["event"], " ".join(fields)))
