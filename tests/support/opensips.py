# OpenSIPS 3.6 as the tests run it: built once per checkout from the
# release archive OPENSIPS_ARCHIVE names (`make test` sets it to
# ../shared/vendor/opensips-3.6.8.tar.gz; host_tools/opensips builds it into
# build/opensips, and a second run builds nothing), in the foreground with
# its log on stderr, its own run folder, the config's @NAME@ placeholders
# filled by the sed it runs as its preprocessor (-p), on a free 127.0.0.1
# port for UDP and TCP (a new one when it was taken), stopped by its PID.
# With tls_certificate (certificate, key) the config's @WITH_TLS@ lines are
# on: SIP over TLS on tls_port with that certificate.
# The same interface as support.kamailio's proxies: address, port,
# bindings(), wait_registered(), log_lines().

import json
import os
import pathlib
import shutil
import socket

from host_tools.opensips.build import build_opensips
from support.paths import ROOT
from support.ports import free_port, retry_when_taken
from support.processes import PeerProcess
from support.sip_proxy import SipProxy

BUILDING_CONFIG = ROOT / "deploy" / "opensips" / "building.cfg"
BUILD_WORK = ROOT / "build" / "opensips"


class OpensipsMissingError(RuntimeError):
    pass


def built_opensips(log_folder):
    """The Opensips build (host_tools.opensips.build) from OPENSIPS_ARCHIVE;
    unset, it raises and says what to set (a clone needs the network)."""
    archive = os.environ.get("OPENSIPS_ARCHIVE")
    if not archive:
        raise OpensipsMissingError(
            "OPENSIPS_ARCHIVE is not set: name the OpenSIPS source archive, e.g. "
            "OPENSIPS_ARCHIVE=../shared/vendor/opensips-3.6.8.tar.gz (`make test` sets it)"
        )
    with open(pathlib.Path(log_folder) / "opensips-build.log", "w") as log:
        return build_opensips(BUILD_WORK, archive, log=log)


class Opensips(SipProxy):
    """One OpenSIPS running `config` with its @NAME@ placeholders filled:
    SIP_ADDR, SIP_PORT, SIP_DOMAIN, RUNDIR, MPATH, WORKERS and the TLS ones
    by us, the others from `substitutions`."""

    LOG_PREFIX = "building: "

    def __init__(self, build, rundir, config, substitutions, tls_certificate=None):
        self.build = build
        self.rundir = pathlib.Path(rundir)
        self.config = config
        self.substitutions = dict(substitutions)
        self.tls_certificate = tls_certificate
        self.port = None
        self.tls_port = None
        self.log_path = self.rundir / "opensips.log"
        self.peer = None

    def start(self):
        if self.port is not None:
            return self._start(self.port, self.tls_port)
        return retry_when_taken(lambda: self._start(free_port(tcp=True), self._free_tls_port()))

    def _free_tls_port(self):
        return None if self.tls_certificate is None else free_port(tcp=True)

    def _values(self, port):
        values = {
            "SIP_ADDR": "127.0.0.1",
            "SIP_PORT": port,
            "SIP_DOMAIN": "127.0.0.1",
            "RUNDIR": self.rundir,
            "MPATH": "%s/" % self.build.module_dir,
            # One worker each: with several, two messages sent back to back
            # (ACK and BYE, 180 and 403) can be relayed in either order
            # (as with Kamailio, support.kamailio).
            "WORKERS": 1,
            "WITH_TLS": "#",
        }
        if self.tls_certificate is not None:
            certificate, key = self.tls_certificate
            values.update(WITH_TLS="", TLS_PORT=self.tls_port)
            values.update(TLS_CERTIFICATE=certificate, TLS_KEY=key)
        values.update(self.substitutions)
        return values

    def _start(self, port, tls_port):
        self.port = port
        self.tls_port = tls_port
        self.rundir.mkdir(parents=True, exist_ok=True)
        # opensips -p splits its command at blanks: no value may hold one.
        preprocessor = ["sed"]
        for name, value in sorted(self._values(port).items()):
            assert " " not in str(value), (name, value)
            preprocessor += ["-e", "s|@%s@|%s|g" % (name, value)]
        command = [self.build.binary, "-F", "-f", self.config, "-p", " ".join(preprocessor)]
        command += ["-m", 32, "-M", 8, "-w", self.rundir]
        self.peer = PeerProcess("opensips", self.log_path).launch(command)
        self.peer.wait_started(self._ready, timeout_s=20.0)
        return self

    def mi(self, method, params=None):
        """One JSON-RPC call over the mi_datagram socket: its result."""
        request = {"jsonrpc": "2.0", "method": method, "id": 1}
        if params is not None:
            request["params"] = params
        reply_path = self.rundir / ("mi-reply-%d.sock" % os.getpid())
        reply_path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(reply_path))
            try:
                sock.settimeout(5.0)
                sock.sendto(json.dumps(request).encode(), str(self.rundir / "opensips-mi.sock"))
                answer = json.loads(sock.recv(65536))
            finally:
                reply_path.unlink(missing_ok=True)
        assert "result" in answer, answer
        return answer["result"]

    def _ready(self):
        """The MI socket answers and TCP accepts (its listener starts last)."""
        try:
            self.mi("version")
            socket.create_connection(self.address, timeout=1.0).close()
        except (OSError, ValueError):
            return False
        return True

    def tcp_source_ports(self):
        """Source ports of the TCP connections OpenSIPS holds (MI list_tcp_conns)."""
        connections = self.mi("list_tcp_conns").get("Connections", [])
        return [int(connection["Remote"].rsplit(":", 1)[1]) for connection in connections]

    def bindings(self):
        """{user: [contact URI, ...]} from the MI command ul_dump."""
        found = {}
        for domain in self.mi("ul_dump")["Domains"]:
            for record in domain.get("AORs", []):
                contacts = [contact["Contact"] for contact in record.get("Contacts", [])]
                found[record["AOR"]] = contacts
        return found


class OpensipsBuildingProxy(Opensips):
    """OpenSIPS with deploy/opensips/building.cfg; users {name: (password,
    role)} go into a generated building-users.cfg (route[building_user]);
    with tls_certificate (certificate, key) also SIP over TLS."""

    def __init__(self, build, rundir, users, tls_certificate=None):
        substitutions = {"PIKE_SECONDS": 2, "PIKE_REQS": 64}
        super().__init__(build, rundir, BUILDING_CONFIG, substitutions, tls_certificate)
        self.users = dict(users)

    def write_users(self):
        lines = ["route[building_user] {", "    switch ($var(user)) {"]
        for name, (password, role) in self.users.items():
            lines.append('    case "%s":' % name)
            lines.append('        $var(password) = "%s";' % password)
            lines.append('        $var(role) = "%s";' % role)
            lines.append("        break;")
        lines += ["    }", "}"]
        self.rundir.mkdir(parents=True, exist_ok=True)
        (self.rundir / "building-users.cfg").write_text("\n".join(lines) + "\n")

    def start(self):
        # building.cfg includes building-users.cfg from its own folder
        # (before -p runs): the committed file, copied byte for byte.
        self.write_users()
        self.config = self.rundir / BUILDING_CONFIG.name
        shutil.copyfile(BUILDING_CONFIG, self.config)
        return super().start()
