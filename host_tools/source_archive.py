"""Third-party source archives the build tools unpack (MicroPython for the
Pico W firmware, OpenSIPS for the proxy tests).

    unpack_once(archive, work, tree, missing_hint) -> work/tree
        archive: a .tar.gz holding exactly one top folder, `tree`; its
        sha256 must match its line in a SHA256SUMS beside it (when there is
        one); unpacked into work once (a stamp beside the tree holds the
        sha256; another archive unpacks afresh). missing_hint is appended
        to the error for an archive that does not exist: it names the
        setting that chose the archive.
"""

import hashlib
import pathlib
import shutil
import tarfile


class SourceError(Exception):
    pass


def sha256_file(path):
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


def unpack_once(archive, work, tree, missing_hint):
    archive = pathlib.Path(archive).resolve()
    work = pathlib.Path(work)
    if not archive.is_file():
        raise SourceError("archive %s does not exist (%s)" % (archive, missing_hint))
    digest = sha256_file(archive)
    _check_listed_checksum(archive, digest)
    root = work / tree
    stamp = work / (tree + ".archive-sha256")
    if root.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return root
    shutil.rmtree(root, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        names = {member.name.split("/", 1)[0] for member in tar.getmembers()}
        if names != {tree}:
            raise SourceError(
                "%s: expected one top folder %s, found %s" % (archive, tree, sorted(names))
            )
        tar.extractall(work, filter="tar")
    stamp.write_text(digest)
    return root
