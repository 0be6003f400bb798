# The status page of the HTTP service: one self-contained HTML document (no
# scripts, no external assets; it reloads itself every REFRESH_S seconds).
#
#   render(status, log_entries, config_summary) -> str

import html
import json
import time

REFRESH_S = 2
SHOWN_ENTRIES = 50

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: .25em .6em; }
th { background: #eee; text-align: left; }
.state { font-size: 1.3em; font-weight: bold; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
"""


def _text(value):
    return html.escape("" if value is None else str(value))


def _when(time_ms):
    if not isinstance(time_ms, int):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time_ms / 1000))


def _rows(pairs):
    return "".join(
        '<tr><th>%s</th><td id="%s">%s</td></tr>' % (_text(label), key, _text(value))
        for key, label, value in pairs
    )


def _details(entry):
    fields = []
    for key in sorted(entry):
        if key not in ("event", "ts_ms", "time_ms"):
            fields.append("%s=%s" % (key, entry[key]))
    return " ".join(fields)


def _quiet_text(quiet):
    if quiet["mode"] == "auto":
        return "on (schedule)" if quiet["active"] else "off (schedule)"
    return "%s (switched %s)" % ("on" if quiet["active"] else "off", quiet["mode"])


def render(status, log_entries, config_summary):
    call = status["call"]
    button = call["button"]
    door = status["door"]
    summary = _rows(
        (
            ("device", "Device", status["device"]),
            ("registration", "Registration", status["registration"]),
            ("state", "State", status["state"]),
            ("button", "Button", "%d: %s" % (button["id"], button["label"]) if button else None),
            ("target", "Target", call["target"]),
            ("caller", "Caller", call["caller"]),
            ("lockout", "Lockout", "yes" if status["lockout"] else "no"),
            ("quiet", "Quiet hours", _quiet_text(status["quiet"])),
            ("door", "Door", door["contact"] or "unknown"),
            ("tamper", "Tamper alarm", "yes" if door["tamper_alarm"] else "no"),
        )
    )
    entries = "".join(
        "<tr><td>%s</td><td>%s</td><td>%s</td></tr>"
        % (_text(_when(entry.get("time_ms"))), _text(entry.get("event")), _text(_details(entry)))
        for entry in reversed(log_entries[-SHOWN_ENTRIES:])
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="%d">'
        "<title>%s intercom</title><style>%s</style></head><body>"
        "<h1>%s</h1>"
        '<p class="state" id="headline">%s</p>'
        "<table>%s</table>"
        "<h2>Last calls and door events</h2>"
        "<table><tr><th>time</th><th>event</th><th>details</th></tr>%s</table>"
        "<h2>Configuration</h2><pre>%s</pre>"
        "</body></html>\n"
        % (
            REFRESH_S,
            _text(status["device"]),
            STYLE,
            _text(status["device"]),
            _text(status["state"]),
            summary,
            entries,
            _text(json.dumps(config_summary, indent=2, sort_keys=True)),
        )
    )
