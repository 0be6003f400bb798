# The status page of the HTTP service: one self-contained HTML document (no
# scripts, no external assets; it reloads itself every REFRESH_S seconds).
#
#   render(status, log_entries, config_summary) -> str
#
# Sections: the door's state (with the voicemail's and whether a resident
# listens in), the last SHOWN_CALLS calls from the call log (who, how it
# ended, the media summary of intercom.events: the audio verdict, codec
# and packet time, DTMF, packets both ways, where the phone's audio came
# from), the visitors' messages (status["messages"]), the log, the config.

import html
import json
import time

REFRESH_S = 2
SHOWN_ENTRIES = 50
SHOWN_CALLS = 10
CALL_COLUMNS = (
    "time",
    "call",
    "ended",
    "duration",
    "audio",
    "codec",
    "DTMF",
    "packets sent / received",
    "phone's audio from",
)
VOICEMAIL_STATES = {
    "idle": "-",
    "prompt": "playing the prompt",
    "beep": "playing the prompt",
    "recording": "recording a message",
}

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
    """The entry's fields as key=value; a call's media summary is the Last
    calls table's, here only its verdict."""
    fields = []
    for key in sorted(entry):
        value = entry[key]
        if key == "media" and isinstance(value, dict):
            value = value.get("audio")
        if key not in ("event", "ts_ms", "time_ms"):
            fields.append("%s=%s" % (key, value))
    return " ".join(fields)


def _quiet_text(quiet):
    if quiet["mode"] == "auto":
        return "on (schedule)" if quiet["active"] else "off (schedule)"
    return "%s (switched %s)" % ("on" if quiet["active"] else "off", quiet["mode"])


def _ended(entry):
    reason = entry.get("reason")
    detail = entry.get("detail")
    if entry.get("sip_code") is not None:
        detail = "%s %s" % (entry["sip_code"], detail or "")
    return "%s (%s)" % (reason, detail.strip()) if detail else str(reason)


def _audio_source(media):
    where = media.get("rx_from")
    if where == "elsewhere":
        stray, sdp = media.get("stray_address"), media.get("sdp_address")
        return "elsewhere: %s, the SDP said %s" % (stray, sdp)
    if where == "latched":
        return "latched (symmetric RTP), the SDP said %s" % media.get("sdp_address")
    return "%s (%s)" % (where, media.get("sdp_address"))


def calls(log_entries):
    """The last SHOWN_CALLS call_ended entries, newest first, each with who
    it was (the call_started target or the incoming caller before it)."""
    found = []
    who = None
    for entry in log_entries:
        name = entry.get("event")
        if name == "call_started":
            who = "to %s" % entry.get("target")
        elif name == "incoming_call" and entry.get("accepted"):
            who = "from %s" % entry.get("from")
        elif name == "call_ended":
            found.append((entry, who))
            who = None
    return list(reversed(found[-SHOWN_CALLS:]))


def _call_rows(log_entries):
    rows = []
    for entry, who in calls(log_entries):
        media = entry.get("media") or {}
        if media:
            rfc4733 = "" if media.get("telephone_event") else ", no RFC 4733"
            cells = (
                media.get("audio"),
                "%s %s ms" % (media.get("codec"), media.get("ptime")),
                "%s%s" % (media.get("dtmf"), rfc4733),
                "%s / %s" % (media.get("packets_sent"), media.get("packets_received")),
                _audio_source(media),
            )
        else:
            cells = ("no media", "", "", "", "")
        values = (
            _when(entry.get("time_ms")),
            who or "",
            _ended(entry),
            "%.1f s" % ((entry.get("duration_ms") or 0) / 1000),
        ) + cells
        rows.append(
            '<tr class="call">%s</tr>' % "".join("<td>%s</td>" % _text(value) for value in values)
        )
    return "".join(rows)


def _message_rows(messages):
    return "".join(
        '<tr class="message"><td>%s</td><td>%.1f s</td><td>%s</td></tr>'
        % (_text(message["time"]), message["duration_ms"] / 1000, _text(message["path"]))
        for message in messages
    )


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
            ("voicemail", "Voicemail", VOICEMAIL_STATES.get(status["voicemail"])),
            (
                "listen_in",
                "Listening in",
                "yes: the notice tone plays" if status["listen_in"] else "no",
            ),
        )
    )
    call_header = "".join("<th>%s</th>" % _text(column) for column in CALL_COLUMNS)
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
        '<h2>Last calls</h2><table id="calls"><tr>%s</tr>%s</table>'
        '<h2>Messages</h2><table id="messages"><tr><th>time</th><th>length</th>'
        "<th>file</th></tr>%s</table>"
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
            call_header,
            _call_rows(log_entries),
            _message_rows(status["messages"]),
            entries,
            _text(json.dumps(config_summary, indent=2, sort_keys=True)),
        )
    )
