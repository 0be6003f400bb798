# `intercom config check` and `intercom config to-json`, run as a user runs
# them: a subprocess, exit codes, stdout/stderr, and no socket opened.

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tomllib

from intercom import config
from support.paths import FIRMWARE, MICROPYTHON, ROOT

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE = HERE / "full_example.toml"

# Runs the CLI with an audit hook that kills the process (exit 97) on any
# socket activity: creation, bind, connect, name lookup.
NO_SOCKETS = """
import os, sys
def refuse(event, args):
    if event.startswith("socket."):
        os.write(2, ("socket used: " + event + "\\n").encode())
        os._exit(97)
sys.addaudithook(refuse)
from boards.cli.command import main
sys.exit(main(sys.argv[1:]))
"""


def intercom(*arguments, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", NO_SOCKETS, *arguments],
        cwd=cwd or ROOT,
        env={**os.environ, "PYTHONPATH": str(FIRMWARE)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def private_copy(tmp_path, source=EXAMPLE, name="door.toml"):
    target = tmp_path / name
    shutil.copy(source, target)
    target.chmod(0o600)
    return target


def drop_unset(value):
    if isinstance(value, dict):
        return {key: drop_unset(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_unset(item) for item in value]
    return value


def test_the_audit_hook_catches_a_socket():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_SOCKETS.replace(
                "from boards.cli.command", "import socket\nsocket.socket()\nfrom boards.cli.command"
            ),
        ],
        env={**os.environ, "PYTHONPATH": str(FIRMWARE)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 97


def test_check_prints_the_effective_config_as_toml_with_secrets_masked(tmp_path):
    path = private_copy(tmp_path)
    result = intercom("config", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for secret in ("door-secret", "1234", "wifi-secret", "mqtt-secret", "http-token-0123456789"):
        assert secret not in result.stdout
    shown = tomllib.loads(result.stdout)
    effective = config.validate(tomllib.loads(path.read_text()), str(path))
    effective["door"]["state_file"] = str(tmp_path / "door_state.json")
    effective["voicemail"]["folder"] = str(tmp_path / "messages")  # resolved like state_file
    expected = drop_unset(config.masked(effective))
    for name in config.LIST_SECTIONS:  # TOML has no empty array of tables
        if not expected[name]:
            del expected[name]
    assert shown == expected
    assert shown["sip"]["password"] == "****"
    assert shown["audio"]["jitter_max_ms"] == 200


def test_check_json_format(tmp_path):
    path = private_copy(tmp_path)
    result = intercom("config", "check", "--format", "json", str(path))
    assert result.returncode == 0
    shown = json.loads(result.stdout)
    assert shown["door"]["code"] == "****"
    assert shown["http"]["token"] == "****"
    assert shown["call"]["targets"] == ["flat1", "sip:flat2@example.org"]


def test_check_reports_every_problem_and_exits_non_zero(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(
        "[devcie]\n"
        '[sip]\npassword = "a"\npassword_file = "b"\n'
        '[call]\ntargets = ["flat 1"]\nmode = "random"\n'
        '[door]\ncode = "12"\npulse = true\n'
        "[gpio]\nbutton = 5\nrelay = 5\n"
    )
    result = intercom("config", "check", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    expected = (
        "devcie: unknown section; did you mean 'device'?",
        "sip.password_file: give sip.password or sip.password_file, not both",
        "call.targets[0]: 'flat 1' is neither",
        "call.mode: 'random' is not one of",
        "door.code: must be 4 to 16 keys long",
        "door.pulse: must be a whole number, not a boolean",
        "gpio.relay: pin 5 is already gpio.button",
    )
    for start in expected:
        assert any(line.startswith("%s: %s" % (path, start)) for line in lines), start
    assert lines[-1] == "intercom: %d problems, nothing started" % (len(lines) - 1)
    assert len(lines) - 1 == len(expected) + 1  # + the missing password_file "b"


def test_check_warns_about_a_readable_password_file(tmp_path):
    (tmp_path / "sip.secret").write_text("pw\n")
    (tmp_path / "sip.secret").chmod(0o644)
    path = tmp_path / "door.toml"
    path.write_text('[sip]\nserver = "h"\npassword_file = "sip.secret"\n[call]\ntargets = ["x"]\n')
    result = intercom("config", "check", str(path))
    assert result.returncode == 0
    assert "sip.password_file" in result.stderr and "chmod 600" in result.stderr
    assert "pw" not in result.stdout.replace("password", "")


def test_to_json_gives_a_config_the_pico_loads_unchanged(tmp_path):
    (tmp_path / "sip.secret").write_text("from-file\n")
    (tmp_path / "sip.secret").chmod(0o600)
    source = EXAMPLE.read_text().replace('password = "door-secret"', 'password_file = "sip.secret"')
    path = tmp_path / "door.toml"
    path.write_text(source)
    path.chmod(0o600)
    result = intercom("config", "to-json", str(path))
    assert result.returncode == 0, result.stderr
    produced = json.loads(result.stdout)
    assert produced["sip"]["password"] == "from-file"
    assert produced["sip"]["password_file"] is None
    assert produced["door"]["code"] == "1234"
    assert produced["door"]["state_file"] == "door_state.json"
    assert config.validate(produced, "config.json") == produced

    board = tmp_path / "pico"
    board.mkdir()
    (board / "config.json").write_text(result.stdout)
    script = (
        "import json\nfrom boards.cli import config_file\n"
        "print(json.dumps(config_file.load_config('config.json')))\n"
    )
    loaded = subprocess.run(
        [str(MICROPYTHON), "-c", script],
        cwd=board,
        env={**os.environ, "MICROPYPATH": str(FIRMWARE)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert json.loads(loaded.stdout.splitlines()[-1]) == produced


def test_to_json_refuses_a_broken_config(tmp_path):
    path = tmp_path / "door.toml"
    path.write_text('[call]\ntargets = ["sip:a@b"]\n[audio]\nptime = 25\n')
    result = intercom("config", "to-json", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "audio.ptime: 25 is not a multiple of 10 ms" in result.stderr


def test_usage_errors_exit_non_zero():
    assert intercom().returncode == 2
    no_action = intercom("config")
    assert no_action.returncode == 2 and "usage" in no_action.stderr
    assert intercom("config", "check").returncode == 2
    missing = intercom("config", "check", "/nonexistent/door.toml")
    assert missing.returncode == 2
    assert missing.stderr.startswith("/nonexistent/door.toml: (file): cannot read")


def test_python_dash_m_intercom_runs_the_same_cli(tmp_path):
    path = private_copy(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "intercom", "config", "check", str(path)],
        cwd=FIRMWARE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert tomllib.loads(result.stdout)["device"]["name"] == "Front door"


def test_check_says_how_long_a_guesser_needs_for_the_code(tmp_path):
    path = tmp_path / "door.toml"
    path.write_text('[call]\ntargets = ["sip:flat1@192.0.2.20"]\n[door]\ncode = "4711"\n')
    path.chmod(0o600)
    result = intercom("config", "check", str(path))
    assert result.returncode == 0 and result.stderr == ""
    line = result.stdout.splitlines()[-1]
    assert line.startswith("# door.code: a guesser needs about 4.5 years on average"), line
    assert "4-key code" in line and "3 wrong codes per lockout" in line
    tomllib.loads(result.stdout)  # still TOML


def test_check_warns_about_a_code_that_falls_quickly(tmp_path):
    path = tmp_path / "door.toml"
    path.write_text(
        '[call]\ntargets = ["sip:flat1@192.0.2.20"]\n'
        '[door]\ncode = "4711"\nmax_attempts = 20\nlockout = 10\nlockout_max = 10\n'
    )
    path.chmod(0o600)
    for form in ("toml", "json"):
        result = intercom("config", "check", "--format", form, str(path))
        assert result.returncode == 0
        assert "warning: door.code: a guesser needs about 41 minutes" in result.stderr, form
        assert "use a longer code" in result.stderr


def test_check_judges_each_button_s_own_code_and_prints_the_buttons(tmp_path):
    path = tmp_path / "door.toml"
    path.write_text(
        '[call]\ntargets = ["sip:flat1@192.0.2.20"]\n[door]\ncode = "47114711"\n'
        '[[button]]\nid = 1\n[[button]]\nid = 2\ncode = "1234"\nlabel = "Flat 2"\n'
    )
    path.chmod(0o600)
    result = intercom("config", "check", str(path))
    assert result.returncode == 0
    assert "1234" not in result.stdout and "47114711" not in result.stdout
    assert "# door.code: a guesser needs about" in result.stdout
    assert "# button[1].code: a guesser needs about 4.5 years" in result.stdout
    assert "button[0].code" not in result.stdout  # the door's code, judged once
    shown = tomllib.loads(result.stdout)
    assert [button["label"] for button in shown["button"]] == ["Door", "Flat 2"]
    assert shown["button"][1]["code"] == "****"
    weak = tmp_path / "weak.toml"
    weak.write_text(
        path.read_text().replace(
            "[door]\n", "[door]\nmax_attempts = 20\nlockout = 10\nlockout_max = 10\n"
        )
    )
    weak.chmod(0o600)
    result = intercom("config", "check", str(weak))
    assert "warning: button[1].code: a guesser needs about 41 minutes" in result.stderr
    assert "warning: door.code: a guesser needs about 289.4 days" in result.stderr
