# host_tools/opensips: what it refuses before building anything, and the
# tests' OpenSIPS that fails (never skips) without OPENSIPS_ARCHIVE.


import pytest
from support.archives import source_archive
from support.opensips import OpensipsMissingError, built_opensips

from host_tools.opensips.build import build_opensips, tree_name
from host_tools.source_archive import SourceError


def test_a_missing_archive_names_the_variable(tmp_path):
    with pytest.raises(SourceError, match="OPENSIPS_ARCHIVE"):
        build_opensips(tmp_path / "work", tmp_path / "absent.tar.gz")


def test_an_archive_of_another_version_is_refused(tmp_path):
    archive = source_archive(tmp_path, "opensips-3.5.0", "Makefile", "app:\n\tfalse\n")
    with pytest.raises(SourceError, match=tree_name()):
        build_opensips(tmp_path / "work", archive)


def test_an_archive_whose_listed_checksum_differs_is_refused(tmp_path):
    archive = source_archive(tmp_path, tree_name(), "Makefile", "app:\n\tfalse\n")
    (tmp_path / "SHA256SUMS").write_text("%s  %s\n" % ("0" * 64, archive.name))
    with pytest.raises(SourceError, match="sha256"):
        build_opensips(tmp_path / "work", archive)


def test_the_tests_opensips_without_the_variable_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENSIPS_ARCHIVE", raising=False)
    with pytest.raises(
        OpensipsMissingError, match="OPENSIPS_ARCHIVE=../shared/vendor/opensips-3.6.8"
    ):
        built_opensips(tmp_path)
