# boards/cli/config_file.py on CPython (and a parity run under MicroPython):
# TOML/JSON reading, password_file and its permissions, atomic writes, the
# door state surviving a restart through a real file.

import json
import os
import pathlib
import subprocess

import pytest
from boards.cli import config_file
from boards.runtime import state_file
from intercom import config
from intercom.app.door import DoorPolicy
from intercom.errors import ConfigError
from support.paths import FIRMWARE, MICROPYTHON

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE = HERE / "full_example.toml"


def write(path, text, mode=0o600):
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def collect():
    warnings = []
    return warnings, warnings.append


def test_the_full_example_loads_with_its_values():
    effective = config_file.load_config(str(EXAMPLE), warn=lambda message: None)
    assert effective["device"]["name"] == "Front door"
    assert effective["sip"]["password"] == "door-secret"
    assert effective["door"]["open_from"] == ["flat1", "flat2"]
    assert effective["mqtt"]["prefix"] == "intercom/front-door"
    assert effective["webhook"][0]["events"] == ["button", "door_opened"]
    assert effective["door"]["state_file"] == str(HERE / "door_state.json")


def test_toml_syntax_error_names_the_file_and_line(tmp_path):
    path = write(tmp_path / "bad.toml", '[call]\nmode = \ntargets = ["flat1"]\n')
    with pytest.raises(ConfigError) as caught:
        config_file.load_config(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(path + ": (file): invalid syntax: ")
    assert "line 2" in caught.value.problems[0]


def test_json_syntax_error_names_the_file_and_line(tmp_path):
    path = write(tmp_path / "config.json", '{"call":\n {"targets": [}\n}')
    with pytest.raises(ConfigError) as caught:
        config_file.load_config(path)
    assert caught.value.problems[0].startswith(path + ": (file): line 2: invalid syntax")


def test_missing_file_is_a_problem_not_a_traceback(tmp_path):
    path = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError) as caught:
        config_file.load_config(path)
    assert caught.value.problems[0].startswith(path + ": (file): cannot read")


def test_password_file_is_read_relative_to_the_config(tmp_path):
    write(tmp_path / "sip.secret", "s3cret\r\nsecond line ignored\n")
    path = write(
        tmp_path / "door.toml",
        '[sip]\nserver = "192.0.2.10"\npassword_file = "sip.secret"\n[call]\ntargets = ["flat1"]\n',
    )
    warnings, warn = collect()
    effective = config_file.load_config(path, warn=warn)
    assert effective["sip"]["password"] == "s3cret"
    assert effective["sip"]["password_file"] == str(tmp_path / "sip.secret")
    assert warnings == []


def test_password_file_readable_by_others_warns_but_loads(tmp_path):
    write(tmp_path / "sip.secret", "s3cret\n", mode=0o644)
    path = write(
        tmp_path / "door.toml",
        '[sip]\nserver = "h"\npassword_file = "sip.secret"\n[call]\ntargets = ["flat1"]\n',
    )
    warnings, warn = collect()
    assert config_file.load_config(path, warn=warn)["sip"]["password"] == "s3cret"
    assert len(warnings) == 1
    assert "sip.password_file" in warnings[0] and "0644" in warnings[0]
    os.chmod(tmp_path / "sip.secret", 0o640)
    warnings.clear()
    config_file.load_config(path, warn=warn)
    assert len(warnings) == 1


def test_config_with_an_inline_secret_readable_by_others_warns(tmp_path):
    text = '[call]\ntargets = ["sip:a@192.0.2.1"]\n[door]\ncode = "4711"\n'
    warnings, warn = collect()
    config_file.load_config(write(tmp_path / "a.toml", text, mode=0o644), warn=warn)
    assert len(warnings) == 1 and "door.code" in warnings[0]
    warnings.clear()
    config_file.load_config(write(tmp_path / "b.toml", text, mode=0o600), warn=warn)
    assert warnings == []
    config_file.load_config(write(tmp_path / "c.toml", '[call]\ntargets = ["sip:a@b"]\n', 0o644))


def test_missing_password_file_is_reported_with_the_other_problems(tmp_path):
    path = write(
        tmp_path / "door.toml",
        '[sip]\nserver = "h"\npassword_file = "gone"\n[call]\ntargets = ["flat1"]\n'
        "[door]\npulse = 0\n",
    )
    with pytest.raises(ConfigError) as caught:
        config_file.load_config(path)
    problems = caught.value.problems
    assert any(line.startswith(path + ": door.pulse: ") for line in problems)
    assert any(line.startswith(path + ": sip.password_file: cannot read") for line in problems)


def test_empty_password_file_is_a_problem(tmp_path):
    write(tmp_path / "sip.secret", "\n")
    path = write(
        tmp_path / "door.toml",
        '[sip]\nserver = "h"\npassword_file = "sip.secret"\n[call]\ntargets = ["flat1"]\n',
    )
    with pytest.raises(ConfigError) as caught:
        config_file.load_config(path)
    assert "is empty" in caught.value.problems[0]


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path):
    path = str(tmp_path / "state.json")
    state_file.write_atomic(path, "first")
    state_file.write_atomic(path, "second")
    assert pathlib.Path(path).read_text() == "second"
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_write_atomic_interrupted_before_rename_keeps_the_old_content(tmp_path, monkeypatch):
    path = str(tmp_path / "state.json")
    state_file.write_atomic(path, "old")

    def power_cut(source, target):
        raise OSError("power cut")

    monkeypatch.setattr(os, "rename", power_cut)
    with pytest.raises(OSError):
        state_file.write_atomic(path, "new")
    assert pathlib.Path(path).read_text() == "old"


def test_write_atomic_syncs_file_and_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.path.realpath("/proc/self/fd/%d" % fd))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    path = str(tmp_path / "state.json")
    state_file.write_atomic(path, "x")
    assert synced == [path + ".tmp", str(tmp_path)]


def test_read_state_missing_and_corrupt(tmp_path):
    assert state_file.read_state(str(tmp_path / "none.json")) is None
    (tmp_path / "bad.json").write_text('{"version": 1, "lockout_rem')
    assert state_file.read_state(str(tmp_path / "bad.json")) == {}


def test_lockout_survives_a_restart_through_the_state_file(tmp_path):
    effective = config.validate(
        {
            "sip": {"domain": "example.org"},
            "call": {"targets": ["flat1"]},
            "door": {"code": "4711", "max_attempts": 2, "lockout": 60},
        }
    )
    path = str(tmp_path / "door_state.json")
    policy = DoorPolicy(effective, 0, state_file.read_state(path))
    policy.call_answered("sip:flat1@example.org", 0)
    for key in "00001111":
        policy.receive_digit(key, "rfc4733", 1000)
    state_file.save_state(path, policy.state_to_save(1000))
    assert json.loads(pathlib.Path(path).read_text())["lockout_remaining_ms"] == 60000

    rebooted = DoorPolicy(effective, 5, state_file.read_state(path))
    rebooted.call_answered("sip:flat1@example.org", 10)
    for key in "4711":
        rebooted.receive_digit(key, "rfc4733", 10)
    assert not rebooted.relay_on
    assert rebooted.is_locked()


def test_corrupt_state_file_gives_an_error_event_and_a_working_door(tmp_path):
    (tmp_path / "s.json").write_text("garbage")
    effective = config.validate(
        {"sip": {"domain": "example.org"}, "call": {"targets": ["flat1"]}, "door": {"code": "4711"}}
    )
    policy = DoorPolicy(effective, 0, state_file.read_state(str(tmp_path / "s.json")))
    assert policy.next_event()["event"] == "error"


def test_micropython_loads_the_same_effective_config(tmp_path):
    effective = config_file.load_config(
        str(EXAMPLE), warn=lambda message: None, resolve_paths=False
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(effective))
    path.chmod(0o600)
    script = (
        "import json\nfrom boards.cli import config_file\n"
        "print(json.dumps(config_file.load_config(%r)))\n" % str(path)
    )
    result = subprocess.run(
        [str(MICROPYTHON), "-c", script],
        cwd=FIRMWARE,
        env={**os.environ, "MICROPYPATH": "."},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    from_micropython = json.loads(result.stdout)
    effective["door"]["state_file"] = str(tmp_path / "door_state.json")
    effective["voicemail"]["folder"] = str(tmp_path / "messages")
    assert from_micropython == effective


def test_tls_files_of_the_services_are_found_from_the_config_folder(tmp_path):
    text = "\n".join(
        [
            "[call]",
            'targets = ["sip:flat@192.0.2.20"]',
            "[mqtt]",
            'host = "192.0.2.30"',
            "tls = true",
            'tls_ca = "tls/ca.pem"',
            'tls_cert = "/etc/intercom/door.pem"',
            'tls_key = "tls/door.key"',
            "[http]",
            'tls_cert = "tls/page.pem"',
            'tls_key = "tls/page.key"',
            "[[webhook]]",
            'url = "https://192.0.2.40/hook"',
            'tls_ca = "tls/ca.pem"',
            "",
        ]
    )
    effective = config_file.load_config(write(tmp_path / "door.toml", text))
    folder = str(tmp_path) + "/tls/"
    assert effective["mqtt"]["tls_ca"] == folder + "ca.pem"
    assert effective["mqtt"]["tls_cert"] == "/etc/intercom/door.pem"
    assert effective["mqtt"]["tls_key"] == folder + "door.key"
    assert effective["mqtt"]["port"] == 8883
    assert effective["http"]["tls_cert"] == folder + "page.pem"
    assert effective["http"]["tls_key"] == folder + "page.key"
    assert effective["webhook"][0]["tls_ca"] == folder + "ca.pem"


def test_voicemail_paths_are_found_from_the_config_folder(tmp_path):
    path = tmp_path / "door.toml"
    path.write_text(
        '[call]\ntargets = ["sip:flat1@192.0.2.20"]\n'
        '[voicemail]\nprompt = "greeting.wav"\nfolder = "visitors"\nrecord = true\n'
    )
    voicemail = config_file.load_config(str(path))["voicemail"]
    assert voicemail["prompt"] == str(tmp_path / "greeting.wav")
    assert voicemail["folder"] == str(tmp_path / "visitors")
    for choice in ("default", "tone"):
        path.write_text(
            '[call]\ntargets = ["sip:flat1@192.0.2.20"]\n[voicemail]\nprompt = "%s"\n' % choice
        )
        assert config_file.load_config(str(path))["voicemail"]["prompt"] == choice
    as_written = config_file.load_config(str(path), resolve_paths=False)["voicemail"]
    assert as_written["folder"] == "messages"
