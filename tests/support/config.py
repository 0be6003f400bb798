# The one door config writer: sections ({"sip": {"user": "door", ...}, ...})
# written as TOML (each value as `intercom config check` writes it:
# boards.cli.config_text; the file 0600, as the loader wants for files
# holding secrets), and converted by our own `intercom config to-json` into
# the config.json a MicroPython board reads. door_sections() gives the
# sections every test door starts from.

import os
import subprocess
import sys

from boards.cli.config_text import format_value

from support.paths import FIRMWARE


def write_config(path, sections, webhooks=()):
    """path as TOML: sections are {name: table} ([name]) or {name: [table,
    ...]} ([[name]] entries, like [[button]]); one [[webhook]] per webhook."""
    lines = []
    if webhooks:
        sections = dict(sections, webhook=list(webhooks))
    for section, tables in sections.items():
        entries = tables if isinstance(tables, list) else [tables]
        for table in entries:
            lines.append(("[[%s]]" if isinstance(tables, list) else "[%s]") % section)
            lines += ["%s = %s" % (key, format_value(value)) for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def config_json(toml_path):
    """What `intercom config to-json toml_path` prints (bytes)."""
    return subprocess.run(
        [sys.executable, "-m", "intercom", "config", "to-json", str(toml_path)],
        env={**os.environ, "PYTHONPATH": str(FIRMWARE)},
        capture_output=True,
        check=True,
    ).stdout


def write_config_json(toml_path):
    """config.json next to toml_path, as `intercom config to-json` makes it."""
    path = toml_path.parent / "config.json"
    path.write_bytes(config_json(toml_path))
    path.chmod(0o600)
    return path


def merge_sections(base, sections):
    """base with each of sections merged in: a table's keys into base's
    table of that name, a list ([[name]] entries) in place of base's."""
    for section, table in sections.items():
        if isinstance(table, list):
            base[section] = list(table)
        else:
            base.setdefault(section, {}).update(table)
    return base


def door_sections(targets=(), name="Door", user="door", board="sim", **sections):
    """A door calling `targets` (peer-to-peer unless sections give a
    [sip] server), on any free SIP and RTP port (the `started` event names
    them), rings 10 s, keeps its state in USER_state.json; each keyword
    (audio={...}, door={...}, button=[{...}, ...], ...) is merged in
    (merge_sections)."""
    merged = {
        "device": {"name": name, "board": board},
        "sip": {"user": user, "local_port": 0},
        "call": {"targets": list(targets), "ring_timeout": 10},
        "door": {"state_file": "%s_state.json" % user},
    }
    return merge_sections(merged, sections)


def service_door_sections(**sections):
    """A sim door for the tests of its services (MQTT, ...): user doora,
    calls nobody (the discard port), no audio in or out; sections merged in
    (merge_sections)."""
    audio = {"input": "silence", "output": "null"}
    return door_sections(["sip:nobody@127.0.0.1:9"], user="doora", audio=audio, **sections)


def sim_sections(name, user, targets, answer_from=(), audio_input="silence", **sections):
    """A sim door (door_sections) answering calls from answer_from, its
    mic `audio_input`, its speaker writing USER_heard.wav."""
    merged = door_sections(
        targets,
        name,
        user,
        call={"answer_from": list(answer_from)},
        audio={"input": audio_input, "output": "file:%s_heard.wav" % user},
    )
    return merge_sections(merged, sections)
