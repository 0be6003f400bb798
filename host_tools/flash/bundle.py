# The Raspberry Pi bundle: everything deploy/install.sh installs.
#
#   intercom-VERSION-py3-none-any.whl  the package as a pure-Python wheel:
#       built from a copy of the project without the optional C extension
#       (a wheel built here with it would be x86-only). On the Pi, g711 then
#       uses its pure path: same bytes, ~40 ns per sample, so under 1 ms of
#       CPU per second of call audio. No network and no compiler needed on
#       the Pi.
#   door.toml (0600)       the config as written; relative paths in it
#                          resolve in /var/lib/intercom (install.sh)
#   secrets/NAME (0600)    sip.password_file when it is a file name next to
#                          the config
#   intercom.service       deploy/intercom.service.in for this config
#   asound.conf            hardware/rpi/asound.conf (--alsa i2s) or
#                          asound-usb.conf (--alsa usb)
#   install.sh             deploy/install.sh
# packed as intercom-RELEASE.tar.gz (no top folder).

import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNIT_TEMPLATE = ROOT / "deploy" / "intercom.service.in"
INSTALL_SCRIPT = ROOT / "deploy" / "install.sh"
ALSA_CONFIGS = {"i2s": "asound.conf", "usb": "asound-usb.conf"}
STATE_DIRECTORY = "/var/lib/intercom/"
EXTENSION_TABLE = "[[tool.setuptools.ext-modules]]"


class BundleError(Exception):
    pass


def unit_text(effective):
    name = effective["device"]["name"].replace("%", "%%")  # systemd specifier escape
    text = UNIT_TEMPLATE.read_text()
    return text.replace("@RELAY_PIN@", str(effective["gpio"]["relay"])).replace("@NAME@", name)


def alsa_config(choice):
    return ROOT / "hardware" / "rpi" / ALSA_CONFIGS[choice]


def _password_file(effective, config_path):
    name = effective["sip"]["password_file"]
    if name is None or os.path.isabs(name):
        return None
    if os.path.basename(name) != name:
        raise BundleError(
            "sip.password_file %r: on a Pi it must be a file name next to the config "
            "or an absolute path on the Pi" % name
        )
    return pathlib.Path(config_path).resolve().parent / name


def warnings(effective, config_path):
    found = []
    state = effective["door"]["state_file"]
    if os.path.isabs(state) and not state.startswith(STATE_DIRECTORY):
        found.append(
            "door.state_file %s is outside %s, the service's only writable folder: "
            "the lockout state cannot be saved there" % (state, STATE_DIRECTORY)
        )
    password = effective["sip"]["password_file"]
    if password is not None and os.path.isabs(password):
        found.append("sip.password_file %s must exist on the Pi (not copied)" % password)
    return found


def _pure_source(work):
    """A copy of the project whose pyproject has no C extension table."""
    source = work / "source"
    shutil.copytree(
        ROOT / "firmware",
        source / "firmware",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"),
    )
    shutil.copy(ROOT / "README.md", source / "README.md")
    kept = []
    skipping = False
    for line in (ROOT / "pyproject.toml").read_text().splitlines(keepends=True):
        if line.strip() == EXTENSION_TABLE:
            skipping = True
        elif skipping and line.startswith("["):
            skipping = False
        if not skipping:
            kept.append(line)
    text = "".join(kept)
    if "ext-modules" in tomllib.loads(text).get("tool", {}).get("setuptools", {}):
        raise BundleError("pyproject.toml: could not drop the C extension table")
    (source / "pyproject.toml").write_text(text)
    return source


def wheel_command(source, out_folder):
    return [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
    ] + [
        "-w",
        str(out_folder),
        str(source),
    ]


def describe(effective, config_path, alsa):
    """The build steps as text, for --dry-run."""
    password = _password_file(effective, config_path)
    return [
        "copy firmware/, README.md and pyproject.toml without %s" % EXTENSION_TABLE,
        shlex.join(["python", *wheel_command("SOURCE", "BUNDLE")[1:]]),
        "door.toml (0600) from %s" % config_path,
        *(["secrets/%s (0600) from %s" % (password.name, password)] if password else []),
        "intercom.service from deploy/intercom.service.in (relay pin %d)"
        % effective["gpio"]["relay"],
        "asound.conf from %s" % alsa_config(alsa).relative_to(ROOT),
        "install.sh from deploy/install.sh",
    ]


def build_wheel(work, out_folder):
    """The pure-Python wheel of the project in out_folder; returns its path."""
    result = subprocess.run(
        wheel_command(_pure_source(work), out_folder), capture_output=True, text=True
    )
    wheels = list(pathlib.Path(out_folder).glob("intercom-*-py3-none-any.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        raise BundleError("pip wheel failed: %s" % (result.stderr.strip() or "no pure wheel"))
    return wheels[0]


def build(work, release, effective, config_path, alsa, out, wheel=None):
    """Builds work/bundle (with `wheel` when given, else a new one) and packs
    it; returns the .tar.gz path."""
    folder = work / "bundle"
    folder.mkdir()
    if wheel is None:
        out("building the wheel (pure Python)")
        build_wheel(work, folder)
    else:
        shutil.copy(wheel, folder)
    config = folder / "door.toml"
    config.touch(mode=0o600)
    config.write_bytes(pathlib.Path(config_path).read_bytes())
    password = _password_file(effective, config_path)
    if password is not None:
        (folder / "secrets").mkdir(mode=0o700)
        secret = folder / "secrets" / password.name
        secret.touch(mode=0o600)
        secret.write_bytes(password.read_bytes())
    (folder / "intercom.service").write_text(unit_text(effective))
    shutil.copy(alsa_config(alsa), folder / "asound.conf")
    shutil.copy(INSTALL_SCRIPT, folder / "install.sh")
    packed = work / ("intercom-%s.tar.gz" % release)
    packed.touch(mode=0o600)  # it holds the config's secrets, also once copied
    with tarfile.open(packed, "w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    out("bundle %s: %s" % (packed.name, " ".join(sorted(p.name for p in folder.iterdir()))))
    return packed
