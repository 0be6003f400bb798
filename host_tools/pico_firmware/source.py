"""The MicroPython source the Pico W firmware is built from.

MICROPYTHON_VERSION is the one pin: the git tag cloned and the archive's
expected top folder follow from it. To move to a newer MicroPython, change
it here, run `make firmware` (a clone of the new tag) and `make test` with
MICROPYTHON_ARCHIVE naming an archive of that tag (its submodules included).

    source_tree(work, archive=None) -> the tree's root folder
        archive: a .tar.gz of micropython-<version>/ with the rp2 port's
        submodules, unpacked once into work (a stamp holds its sha256);
        None: a shallow clone of the tag and the rp2 port's submodules
        (`make submodules`), into work, once.
"""

import hashlib
import pathlib
import shutil
import subprocess
import tarfile

MICROPYTHON_VERSION = "1.28.0"
MICROPYTHON_TAG = "v" + MICROPYTHON_VERSION
MICROPYTHON_REPOSITORY = "https://github.com/micropython/micropython.git"
BOARD = "RPI_PICO_W"


class SourceError(Exception):
    pass


def tree_name():
    return "micropython-" + MICROPYTHON_VERSION


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_listed_checksum(archive, digest):
    """The archive's line in a SHA256SUMS beside it, when there is one, must match."""
    sums = archive.parent / "SHA256SUMS"
    if not sums.is_file():
        return
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == archive.name and parts[0] != digest:
            raise SourceError("%s: sha256 %s, but %s lists %s" % (archive, digest, sums, parts[0]))


def unpack_archive(archive, work):
    archive = pathlib.Path(archive).resolve()
    if not archive.is_file():
        raise SourceError(
            "MicroPython archive %s does not exist (MICROPYTHON_ARCHIVE names a .tar.gz of %s "
            "with the rp2 submodules; unset, `make firmware` clones the tag)"
            % (archive, tree_name())
        )
    digest = _sha256(archive)
    _check_listed_checksum(archive, digest)
    root = work / tree_name()
    stamp = work / (tree_name() + ".archive-sha256")
    if root.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return root
    shutil.rmtree(root, ignore_errors=True)
    with tarfile.open(archive) as tar:
        names = {member.name.split("/", 1)[0] for member in tar.getmembers()}
        if names != {tree_name()}:
            raise SourceError(
                "%s: expected one top folder %s (MICROPYTHON_VERSION in %s), found %s"
                % (archive, tree_name(), __file__, sorted(names))
            )
        tar.extractall(work, filter="tar")
    stamp.write_text(digest)
    return root


def clone(work):
    root = work / tree_name()
    stamp = work / (tree_name() + ".cloned")
    if root.is_dir() and stamp.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(
        [
            "git",
            "clone",
            "--depth",
            "1",
            "--branch",
            MICROPYTHON_TAG,
            MICROPYTHON_REPOSITORY,
            str(root),
        ],
        check=True,
    )
    # The rp2 port's own list of the submodules it needs (shallow clones).
    subprocess.run(
        ["make", "-C", str(root / "ports" / "rp2"), "BOARD=" + BOARD, "submodules"],
        check=True,
    )
    stamp.write_text(MICROPYTHON_TAG)
    return root


def source_tree(work, archive=None):
    work = pathlib.Path(work)
    work.mkdir(parents=True, exist_ok=True)
    if archive:
        return unpack_archive(archive, work)
    return clone(work)
