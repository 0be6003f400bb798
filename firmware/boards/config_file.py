# The file side of the configuration, on CPython and MicroPython.
#
#   load_config(path)      TOML (CPython, tomllib) or JSON (both; the Pico's
#                          config.json) -> the effective config of
#                          intercom.config, with sip.password_file read into
#                          sip.password; ConfigError lists every problem
#   write_atomic(path, text)  temp file + fsync + rename: a reader sees the old
#                          or the new content, never half of it (the lockout
#                          state must survive a power cut mid-write)
#   read_state / save_state   the door policy's persistent state as JSON
#
# Relative paths in the config (sip.password_file, door.state_file) are
# relative to the folder of the config file. A secret file, or a config file
# holding a secret, that group or others may access gets a warning (the
# `warn` callback, stderr by default): it still loads.

import json
import os
import sys

from intercom import config as schema
from intercom.errors import ConfigError

try:
    # CPython 3.11 standard library; MicroPython has none (the type check
    # against the Pico stubs knows that): the except branch runs there.
    import tomllib  # pyright: ignore[reportMissingImports]
except ImportError:  # MicroPython: config.json only
    tomllib = None

PRIVATE_MODE_MASK = 0o077  # any group/other permission bit


def print_warning(message):
    print("warning: " + message, file=sys.stderr)


def _folder(path):
    slash = path.rfind("/")
    if slash < 0:
        return "."
    return path[:slash] or "/"


def resolve_path(config_path, value):
    """value as a path from the config file's folder (absolute stays)."""
    folder = _folder(config_path)
    if value.startswith("/") or folder == ".":
        return value
    return folder + "/" + value


def _mode(path):
    return os.stat(path)[0]


def _check_private(path, subject, warn):
    """Warns "subject can be read by group or others" when the mode allows it."""
    mode = _mode(path)
    if mode & PRIVATE_MODE_MASK:
        warn(
            "%s can be read by group or others (mode %04o); run: chmod 600 %s"
            % (subject, mode & 0o7777, path)
        )


def _syntax_problem(path, error):
    line = getattr(error, "lineno", None)
    where = "line %d: " % line if line else ""
    message = getattr(error, "msg", None) or str(error)
    return "%s: (file): %sinvalid syntax: %s" % (path, where, message)


def read_raw(path):
    """The parsed file as a dict (TOML for *.toml, else JSON), or ConfigError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ConfigError(["%s: (file): cannot read: %s" % (path, error)]) from None
    if path.endswith(".toml"):
        if tomllib is None:
            message = "TOML needs CPython; convert it with `intercom config to-json`"
            raise ConfigError(["%s: (file): %s" % (path, message)])
        try:
            return tomllib.loads(data.decode())
        except (ValueError, UnicodeError) as error:
            raise ConfigError([_syntax_problem(path, error)]) from None
    try:
        return json.loads(data.decode())
    except (ValueError, UnicodeError) as error:
        raise ConfigError([_syntax_problem(path, error)]) from None


def _read_secret(path, config_path, warn):
    """(secret, problem): the first line of a password file."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode()
    except (OSError, UnicodeError) as error:
        return None, "%s: sip.password_file: cannot read %s: %s" % (config_path, path, error)
    secret = text.split("\n", 1)[0].rstrip("\r")
    if not secret:
        return None, "%s: sip.password_file: %s is empty" % (config_path, path)
    _check_private(path, "%s: sip.password_file: %s" % (config_path, path), warn)
    return secret, None


def _secret_keys(raw):
    """The dotted names of the secrets written in the file itself."""
    found = []
    for section, key in schema.SECRET_KEYS:
        table = raw.get(section)
        if isinstance(table, dict) and table.get(key) is not None:
            found.append(section + "." + key)
    return found


def load_config(path, warn=print_warning, resolve_paths=True):
    """The effective config of the file at path, or ConfigError.

    sip.password_file is read into sip.password (the first line, without its
    line end). With resolve_paths, relative password_file and state_file
    become paths from the config's folder; without, they stay as written
    (for a config meant for another machine).
    """
    raw = read_raw(path)
    problems = []
    try:
        effective = schema.validate(raw, path)
    except ConfigError as error:
        problems = error.problems
        effective = None
    sip = raw.get("sip") if isinstance(raw, dict) else None
    password_file = sip.get("password_file") if isinstance(sip, dict) else None
    secret = None
    if isinstance(password_file, str) and password_file:
        secret, problem = _read_secret(resolve_path(path, password_file), path, warn)
        if problem:
            problems.append(problem)
    if problems or effective is None:
        raise ConfigError(problems)
    secrets = _secret_keys(raw)
    if secrets:
        _check_private(path, "%s: holds %s and" % (path, ", ".join(secrets)), warn)
    if secret is not None:
        effective["sip"]["password"] = secret
    if resolve_paths:
        if password_file:
            effective["sip"]["password_file"] = resolve_path(path, password_file)
        effective["door"]["state_file"] = resolve_path(path, effective["door"]["state_file"])
    return effective


def write_atomic(path, text):
    """Replaces the file at path with text so that no reader sees a mix.

    Written to path + ".tmp", flushed and fsync'd (where the OS has fsync),
    then renamed over path; on CPython the folder is fsync'd as well so the
    rename itself survives a power cut.
    """
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
        handle.flush()
        if hasattr(os, "fsync"):
            os.fsync(handle.fileno())
    os.rename(temporary, path)
    directory_flag = getattr(os, "O_DIRECTORY", None)  # CPython only
    if hasattr(os, "fsync") and directory_flag is not None:
        folder = os.open(_folder(path), getattr(os, "O_RDONLY", 0) | directory_flag)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


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
