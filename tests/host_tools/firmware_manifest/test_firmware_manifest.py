# firmware/manifest.py is the one list of what a Pico W runs: the flash
# tool, the type check and the portability test read it through
# host_tools.firmware_manifest.

import json

import pytest

from host_tools import pico_typecheck
from host_tools.firmware_manifest import ManifestError, pico_files, pico_modules
from host_tools.flash.firmware_build import pico_sources


def test_the_manifest_lists_the_pico_board_and_not_the_desktop_ones():
    files = pico_files()
    assert "main.py" in files
    assert "boards/pico_w/board.py" in files
    assert "intercom/app/station.py" in files
    for desktop in (
        "boards/sim/board.py",
        "boards/rpi/board.py",
        "boards/services/hub.py",
        "intercom/media/g711_numpy.py",
        "intercom/__main__.py",
    ):
        assert desktop not in files
    assert pico_modules()[-1] == "main"
    assert "boards.pico_w.board" in pico_modules()


def test_flash_and_type_check_read_the_same_list(monkeypatch, tmp_path):
    assert pico_sources() == [path for path in pico_files() if path != "main.py"]
    monkeypatch.setattr(pico_typecheck, "OUT", tmp_path / "pyrightconfig.json")
    config = pico_typecheck.combined_config()
    checked = [(tmp_path / path).resolve() for path in config["include"]]
    assert checked == [(pico_typecheck.FIRMWARE / path).resolve() for path in pico_files()]
    json.dumps(config)


def test_a_manifest_verb_we_do_not_read_is_an_error(tmp_path):
    manifest = tmp_path / "manifest.py"
    manifest.write_text('include("$(PORT_DIR)/boards/manifest.py")\n')
    with pytest.raises(ManifestError):
        pico_files(manifest)


def test_a_missing_file_is_an_error(tmp_path):
    manifest = tmp_path / "manifest.py"
    manifest.write_text('module("nowhere.py")\n')
    with pytest.raises(ManifestError, match="does not exist"):
        pico_files(manifest)
