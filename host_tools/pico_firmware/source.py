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

import pathlib
import shutil
import subprocess

from host_tools.source_archive import unpack_once

MICROPYTHON_VERSION = "1.28.0"
MICROPYTHON_TAG = "v" + MICROPYTHON_VERSION
MICROPYTHON_REPOSITORY = "https://github.com/micropython/micropython.git"
BOARD = "RPI_PICO_W"


def tree_name():
    return "micropython-" + MICROPYTHON_VERSION


def unpack_archive(archive, work):
    return unpack_once(
        archive,
        work,
        tree_name(),
        "MICROPYTHON_ARCHIVE names a .tar.gz of %s with the rp2 submodules; unset, "
        "`make firmware` clones the tag; MICROPYTHON_VERSION in %s pins it"
        % (tree_name(), __file__),
    )


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
