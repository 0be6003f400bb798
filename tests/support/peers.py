# Third-party peers come from Debian (requirements/apt.txt, installed by
# make): a missing one is installed with apt-get; when that fails the test
# fails with the reason (nothing is skipped).

import os
import shutil
import subprocess


def _present(binary):
    """A program on PATH, or a file by its absolute path (a module)."""
    return os.path.isabs(binary) and os.path.exists(binary) or shutil.which(binary)


def ensure_installed(binaries, package):
    """apt-get install `package` unless every binary is on PATH (or, given
    by an absolute path, exists)."""
    if all(_present(binary) for binary in binaries):
        return
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = as_root + ["apt-get", "install", "-y", "--no-install-recommends"]
    install += ["-o", "DPkg::Lock::Timeout=120", package]
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run(install, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(as_root + ["apt-get", "update"], env=environment, capture_output=True)
        done = subprocess.run(install, env=environment, capture_output=True, text=True)
    missing = [binary for binary in binaries if not _present(binary)]
    if missing:
        raise RuntimeError(
            "%s missing and `apt-get install %s` failed (exit %d):\n%s"
            % (", ".join(missing), package, done.returncode, done.stdout + done.stderr)
        )
