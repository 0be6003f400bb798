# Source archives for the tests of host_tools.source_archive's callers (the
# Pico firmware build, the OpenSIPS build): a release tarball as the
# projects publish it, everything under one top folder.

import tarfile


def source_archive(tmp_path, top, name, text):
    """tmp_path/<top>.tar.gz holding top/name with text in it; its path."""
    folder = tmp_path / "content" / top
    folder.mkdir(parents=True)
    (folder / name).write_text(text)
    archive = tmp_path / ("%s.tar.gz" % top)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=top)
    return archive
