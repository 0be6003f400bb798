"""The generated door configs are valid for the firmware and say what the scenario needs."""

import os
import tomllib

import pytest
from intercom.config import validate

from host_tools.sim.door_config import audio_specs, door_config, to_toml, write_config


def effective(config):
    return validate(tomllib.loads(to_toml(config)), "door.toml")


def test_peer_to_peer_config_validates_and_trusts_only_the_flat():
    config = door_config(
        5072,
        ["sip:flat1@127.0.0.1:5080"],
        audio_specs("file", "/tmp/a/door_mic.wav", "/tmp/a/door_heard.wav"),
        "/tmp/a/door_state.json",
        code="1234",
        trusted_caller="sip:flat1@127.0.0.1",
        pulse_s=1,
        hangup_after_open_s=2,
    )
    result = effective(config)
    assert result["sip"]["server"] is None
    assert result["sip"]["register"] is False
    assert result["sip"]["local_port"] == 5072
    assert result["call"]["targets"] == ["sip:flat1@127.0.0.1:5080"]
    assert result["call"]["answer_from"] == ["sip:flat1@127.0.0.1"]
    assert result["door"]["open_from"] == ["sip:flat1@127.0.0.1"]
    assert result["door"]["code"] == "1234"
    assert result["door"]["pulse"] == 1
    assert result["door"]["hangup_after_open"] == 2
    assert result["audio"]["input"] == "file:/tmp/a/door_mic.wav"
    assert result["audio"]["output"] == "file:/tmp/a/door_heard.wav"
    assert result["device"]["board"] == "sim"


def test_server_config_registers_and_calls_through_the_server():
    config = door_config(
        0,
        ["flat1", "sip:flat2@pbx.example.org"],
        audio_specs("alsa", "tone", "/tmp/heard.wav"),
        "/tmp/state.json",
        server="192.0.2.10:5060",
        user="door7",
        password="s3cret",
    )
    result = effective(config)
    assert result["sip"]["server"] == "192.0.2.10:5060"
    assert result["sip"]["register"] is True
    assert result["sip"]["user"] == "door7"
    assert result["sip"]["password"] == "s3cret"
    assert result["sip"]["local_port"] == 0
    assert result["call"]["targets"] == ["flat1", "sip:flat2@pbx.example.org"]
    assert result["door"]["open_from"] == ["flat1", "sip:flat2@pbx.example.org"]
    assert (result["audio"]["input"], result["audio"]["output"]) == ("default", "default")


def test_audio_specs():
    assert audio_specs("file", "/x/v.wav", "/x/h.wav") == ("file:/x/v.wav", "file:/x/h.wav")
    assert audio_specs("file", "tone", "/x/h.wav") == ("tone", "file:/x/h.wav")
    with pytest.raises(ValueError):
        audio_specs("pulse", "/x/v.wav", "/x/h.wav")


def test_config_file_is_private(tmp_path):
    path = tmp_path / "door.toml"
    config = door_config(0, ["sip:flat1@127.0.0.1"], ("tone", "null"), "s.json", code="9876")
    write_config(path, config)
    assert os.stat(path).st_mode & 0o077 == 0
    assert tomllib.loads(path.read_text())["door"]["code"] == "9876"
