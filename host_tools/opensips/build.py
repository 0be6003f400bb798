"""OpenSIPS for the proxy tests and for a building that runs it: the core
and the modules deploy/opensips/building.cfg and the tests' configs load,
built from source (Debian 12 does not package OpenSIPS).

    build_opensips(work, archive=None, log=None) -> Opensips(binary, module_dir)
        archive: the release's source archive (opensips-<version>.tar.gz,
        one top folder opensips-<version>/), unpacked into work once;
        None: a shallow clone of the release tag into work, once.
        The core (`make app`) and the modules in MODULES (`make modules
        modules=...`) are built in the tree; make rebuilds nothing that
        is up to date, and a stamp holding the archive's sha256 (or the tag)
        and the module list skips make altogether on the next run.

OPENSIPS_VERSION is the one pin. Build dependencies (bison, flex, a C
compiler, make) are requirements/apt-opensips.txt.
"""

import os
import pathlib
import shutil
import subprocess

from host_tools.source_archive import sha256_file, unpack_once

OPENSIPS_VERSION = "3.6.8"
OPENSIPS_TAG = OPENSIPS_VERSION
OPENSIPS_REPOSITORY = "https://github.com/OpenSIPS/opensips.git"
# What the configs load (UDP and TCP are in the core): signalling,
# transactions, the registrar with its in-memory location table, digest
# auth, record-route, NAT help, flood protection, message checks and the MI
# socket the tests read the bindings from; SIP over TLS (proto_tls, its
# certificates in tls_mgm, OpenSSL underneath in tls_openssl: libssl-dev).
MODULES = (
    "signaling",
    "sl",
    "tm",
    "rr",
    "maxfwd",
    "sipmsgops",
    "textops",
    "usrloc",
    "registrar",
    "auth",
    "nathelper",
    "pike",
    "mi_datagram",
    "tls_mgm",
    "tls_openssl",
    "proto_tls",
)


class BuildError(Exception):
    pass


class Opensips:
    def __init__(self, root):
        self.root = pathlib.Path(root).resolve()
        self.binary = self.root / "opensips"
        self.module_dir = self.root / "modules"

    def module_path(self, name):
        return self.module_dir / name / (name + ".so")


def tree_name():
    return "opensips-" + OPENSIPS_VERSION


def _clone(work):
    root = work / tree_name()
    if (work / (tree_name() + ".cloned")).is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(
        ["git", "clone", "--depth", "1", "--branch", OPENSIPS_TAG, OPENSIPS_REPOSITORY, str(root)],
        check=True,
    )
    (work / (tree_name() + ".cloned")).write_text(OPENSIPS_TAG)
    return root


def _make(arguments, root, log):
    done = subprocess.run(
        ["make", "-j%d" % (os.cpu_count() or 1)] + arguments,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
    )
    if done.returncode != 0:
        raise BuildError(
            "`make %s` in %s failed (exit %d)%s"
            % (" ".join(arguments), root, done.returncode, "; see " + log.name if log else "")
        )


def build_opensips(work, archive=None, log=None):
    work = pathlib.Path(work)
    work.mkdir(parents=True, exist_ok=True)
    if archive:
        root = unpack_once(
            archive,
            work,
            tree_name(),
            "OPENSIPS_ARCHIVE names the release's %s.tar.gz, e.g. "
            "../shared/vendor/%s.tar.gz; unset, `make opensips` clones tag %s"
            % (tree_name(), tree_name(), OPENSIPS_TAG),
        )
        source = sha256_file(archive)
    else:
        source = OPENSIPS_TAG
        root = _clone(work)
    opensips = Opensips(root)
    stamp = work / (tree_name() + ".built")
    wanted = "%s %s" % (source, " ".join(MODULES))
    if stamp.is_file() and stamp.read_text() == wanted and opensips.binary.is_file():
        return opensips
    stamp.unlink(missing_ok=True)
    _make(["app"], root, log)
    # From the top folder: it builds the libraries the modules link first.
    _make(["modules", "modules=" + " ".join("modules/" + name for name in MODULES)], root, log)
    missing = [name for name in MODULES if not opensips.module_path(name).is_file()]
    if missing or not opensips.binary.is_file():
        raise BuildError("%s: built, but %s missing" % (root, missing or [opensips.binary]))
    stamp.write_text(wanted)
    return opensips
