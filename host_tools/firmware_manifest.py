# Reads firmware/manifest.py, the one list of what runs on the Pico W, for
# the host tools and tests (the frozen build hands the same file to
# MicroPython's own manifest reader).
#
#   pico_files()    -> ["intercom/__init__.py", ..., "main.py"]: paths
#                      relative to firmware/, in manifest order
#   pico_modules()  -> ["intercom", "intercom.compat", ..., "main"]: the
#                      importable names of those files
#
# Our manifest uses package(name, files=...) and module(path) only; any
# other manifest verb (include, require, freeze, options) raises
# ManifestError, so that a manifest our tools would read differently from
# MicroPython's never passes silently.

import pathlib

FIRMWARE = pathlib.Path(__file__).resolve().parents[1] / "firmware"
MANIFEST = FIRMWARE / "manifest.py"


class ManifestError(Exception):
    pass


def pico_files(manifest=MANIFEST):
    manifest = pathlib.Path(manifest)
    base = manifest.parent
    files = []

    def package(name, files=None, base_path=".", opt=None):
        root = base / base_path / name
        if files is None:
            raise ManifestError("%s: package(%r) needs an explicit files list" % (manifest, name))
        for relative in files:
            files_add(root / relative)

    def module(path, base_path=".", opt=None):
        files_add(base / base_path / path)

    def files_add(path):
        path = path.resolve()
        if not path.is_file():
            raise ManifestError("%s: %s does not exist" % (manifest, path))
        files.append(path.relative_to(FIRMWARE).as_posix())

    def unsupported(*arguments, **keywords):
        raise ManifestError("%s: only package() and module() are read here" % manifest)

    verbs = {"package": package, "module": module}
    for name in ("include", "require", "freeze", "options", "metadata"):
        verbs[name] = unsupported
    exec(compile(manifest.read_text(), str(manifest), "exec"), verbs)
    if len(set(files)) != len(files):
        raise ManifestError("%s: a file is listed twice" % manifest)
    return files


def pico_modules(manifest=MANIFEST):
    names = []
    for path in pico_files(manifest):
        parts = path[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names
