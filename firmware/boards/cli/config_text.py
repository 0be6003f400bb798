# The effective config as TOML text, for `intercom config check`.
#
# Same sections and keys as the input file, every default filled in, in the
# schema's order. A key without a value (None) is written as a comment
# `# key: not set`, an absent optional section as `# [mqtt]: not configured`,
# an empty list of tables as `# [[schedule]]: none`, so the text parses as
# TOML and reads back to the config minus its unset keys and empty lists.
# Pass a config through intercom.config.masked first to hide secrets.

import json

from intercom.config import (
    BUTTON_KEYS,
    OPTIONAL_SECTIONS,
    SCHEDULE_KEYS,
    SECTIONS,
    WEBHOOK_KEYS,
)


def _string(text):
    # A JSON string without ASCII-only escaping is a valid TOML basic string,
    # except for DEL, which TOML wants escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    raise TypeError("no TOML form for %r" % (value,))


def _table_lines(header, table, rows):
    lines = [header]
    for row in rows:
        key = row[0]
        value = table.get(key)
        if value is None:
            lines.append("# %s: not set" % key)
        else:
            lines.append("%s = %s" % (key, format_value(value)))
    return lines


def format_toml(config):
    lines = []
    for name in SECTIONS:
        if config.get(name) is None and name in OPTIONAL_SECTIONS:
            lines.append("# [%s]: not configured" % name)
        else:
            lines.extend(_table_lines("[%s]" % name, config[name], SECTIONS[name]))
        lines.append("")
    for name, rows in (
        ("button", BUTTON_KEYS),
        ("schedule", SCHEDULE_KEYS),
        ("webhook", WEBHOOK_KEYS),
    ):
        tables = config.get(name) or ()
        if not tables:
            lines.append("# [[%s]]: none" % name)
            lines.append("")
        for table in tables:
            lines.extend(_table_lines("[[%s]]" % name, table, rows))
            lines.append("")
    return "\n".join(lines)
