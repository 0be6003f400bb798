# The file side of the configuration, on CPython and MicroPython.
#
#   load_config(path)      TOML (CPython, tomllib) or JSON (both; the Pico's
#                          config.json) -> the effective config of
#                          intercom.config, with sip.password_file read into
#                          sip.password; ConfigError lists every problem
#   resolve_path(config_path, value)   a path from the config's folder
#
# Only boot needs this module (and intercom.config): main.py drops both once
# the board runs. What the door rewrites while it runs (the lockout state)
# is boards.runtime.state_file.
#
# Relative paths in the config (sip.password_file, door.state_file, the
# audio file:PATH specs, voicemail.folder and a voicemail.prompt WAV, the
# services' TLS files: mqtt.tls_ca/tls_cert/tls_key, http.tls_cert/tls_key,
# webhook.tls_ca) are relative to the folder of the config file. A
# secret file, or a config file holding a secret, that group or others may
# access gets a warning (the `warn` callback, stderr by default): it still
# loads.

import json
import os
import sys

from intercom import config as schema
from intercom.errors import ConfigError

from boards.runtime.state_file import folder_of

try:
    # CPython 3.11 standard library; MicroPython has none (the type check
    # against the Pico stubs knows that): the except branch runs there.
    import tomllib  # pyright: ignore[reportMissingImports]
except ImportError:  # MicroPython: config.json only
    tomllib = None

PRIVATE_MODE_MASK = 0o077  # any group/other permission bit
AUDIO_FILE_PREFIX = "file:"  # audio.input / audio.output naming a WAV file
TLS_FILE_KEYS = ("tls_ca", "tls_cert", "tls_key")  # in [mqtt], [http], [[webhook]]


def print_warning(message):
    print("warning: " + message, file=sys.stderr)


def resolve_path(config_path, value):
    """value as a path from the config file's folder (absolute stays)."""
    folder = folder_of(config_path)
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
    line end). With resolve_paths, relative password_file, state_file and
    audio file:PATH specs become paths from the config's folder; without,
    they stay as written (for a config meant for another machine).
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
        audio = effective["audio"]
        for key in ("input", "output"):
            if audio[key].startswith(AUDIO_FILE_PREFIX):
                file_path = audio[key][len(AUDIO_FILE_PREFIX) :]
                audio[key] = AUDIO_FILE_PREFIX + resolve_path(path, file_path)
        voicemail = effective["voicemail"]
        voicemail["folder"] = resolve_path(path, voicemail["folder"])
        if voicemail["prompt"] not in schema.PROMPT_CHOICES:
            voicemail["prompt"] = resolve_path(path, voicemail["prompt"])
        tables = [effective["mqtt"], effective["http"]] + effective["webhook"]
        for table in tables:
            for key in TLS_FILE_KEYS:
                if table is not None and table.get(key) is not None:
                    table[key] = resolve_path(path, table[key])
    return effective
