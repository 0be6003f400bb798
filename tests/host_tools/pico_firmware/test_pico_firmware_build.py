"""host_tools.pico_firmware without a build: the UF2 it writes (against the
format's documented fields, github.com/microsoft/uf2 README), the frozen
manifest wrapper, the flash region and the archive checks."""

import struct

import pytest
from support.archives import source_archive

from host_tools.firmware_manifest import MANIFEST
from host_tools.pico_firmware import source
from host_tools.pico_firmware.build import (
    FLASH_BASE,
    RP2040_FAMILY_ID,
    firmware_region_bytes,
    frozen_manifest_text,
    write_uf2,
)
from host_tools.source_archive import SourceError

MAGIC_START0 = 0x0A324655  # "UF2\n"
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_FAMILY_ID_PRESENT = 0x00002000


def test_uf2_blocks_carry_256_byte_payloads_in_order_for_the_rp2040(tmp_path):
    image = bytes(range(256)) * 3 + b"\xaa" * 10  # 778 bytes: 4 blocks, the last partial
    binary = tmp_path / "firmware.bin"
    binary.write_bytes(image)
    uf2 = tmp_path / "firmware.uf2"
    write_uf2(binary, uf2)
    data = uf2.read_bytes()
    assert len(data) == 4 * 512
    payload = b""
    for number in range(4):
        block = data[512 * number : 512 * (number + 1)]
        start0, start1, flags, address, size, block_no, blocks, family = struct.unpack_from(
            "<8I", block
        )
        assert (start0, start1) == (MAGIC_START0, MAGIC_START1)
        assert struct.unpack_from("<I", block, 508)[0] == MAGIC_END
        assert flags == FLAG_FAMILY_ID_PRESENT
        assert family == RP2040_FAMILY_ID == 0xE48BFF56
        assert size == 256
        assert address == FLASH_BASE + 256 * number
        assert (block_no, blocks) == (number, 4)
        payload += block[32 : 32 + size]
    assert payload[: len(image)] == image
    assert payload[len(image) :] == bytes(len(payload) - len(image))


def test_frozen_manifest_includes_the_board_manifest_then_ours():
    lines = frozen_manifest_text().splitlines()
    assert lines == [
        'include("$(PORT_DIR)/boards/RPI_PICO_W/manifest.py")',
        'include("%s")' % MANIFEST.resolve(),
    ]


def test_firmware_region_is_flash_less_the_board_filesystem(tmp_path):
    board = tmp_path / "ports/rp2/boards/RPI_PICO_W"
    board.mkdir(parents=True)
    (board / "mpconfigboard.h").write_text(
        "#define MICROPY_HW_FLASH_STORAGE_BYTES          (848 * 1024)\n"
    )
    sdk = tmp_path / "lib/pico-sdk/src/boards/include/boards"
    sdk.mkdir(parents=True)
    (sdk / "pico_w.h").write_text(
        "#ifndef X\n#define PICO_FLASH_SIZE_BYTES (2 * 1024 * 1024)\n#endif\n"
    )
    assert firmware_region_bytes(tmp_path) == 2 * 1024 * 1024 - 848 * 1024


def test_a_missing_archive_names_the_variable(tmp_path):
    with pytest.raises(SourceError, match="MICROPYTHON_ARCHIVE"):
        source.source_tree(tmp_path / "work", tmp_path / "absent.tar.gz")


def test_an_archive_of_another_version_is_refused(tmp_path):
    archive = source_archive(tmp_path, "micropython-1.27.0", "README.md", "x")
    with pytest.raises(SourceError, match="micropython-1.28.0"):
        source.source_tree(tmp_path / "work", archive)


def test_an_archive_whose_listed_checksum_differs_is_refused(tmp_path):
    archive = source_archive(tmp_path, source.tree_name(), "README.md", "x")
    (tmp_path / "SHA256SUMS").write_text("%s  %s\n" % ("0" * 64, archive.name))
    with pytest.raises(SourceError, match="sha256"):
        source.source_tree(tmp_path / "work", archive)


def test_an_archive_is_unpacked_once(tmp_path):
    archive = source_archive(tmp_path, source.tree_name(), "README.md", "x")
    root = source.source_tree(tmp_path / "work", archive)
    assert (root / "README.md").read_text() == "x"
    (root / "README.md").write_text("kept")
    assert source.source_tree(tmp_path / "work", archive) == root
    assert (root / "README.md").read_text() == "kept"
