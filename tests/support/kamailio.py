# Kamailio 5.6 as the tests run it (PEERS.md): in the foreground (-DD -E),
# one UDP worker, its own run folder, the config's !NAME! placeholders
# filled with --substdef, on a free 127.0.0.1 port (a new one when it was
# taken before Kamailio bound it), stopped by its PID. With tls=KamailioTls
# (proxy.cfg only) it also listens for SIP over TLS (PEERS.md "TLS and
# SRTP") on tls_port, with the certificate and the client-certificate rule
# the test gives; BuildingProxy(tls_certificate=...) runs the shipped
# building.cfg with WITH_TLS and the shipped tls.cfg.example (ShippedTls).

import pathlib
import subprocess

from host_tools.kamailio_users import write_users_file
from support.paths import KAMAILIO_CONFIGS, ROOT
from support.peers import ensure_installed
from support.ports import free_port, retry_when_taken
from support.processes import PeerProcess
from support.sip_proxy import SipProxy

# Registrar + proxy, users door/flat1/flat2 (tests/integration/kamailio).
PROXY_CONFIG = KAMAILIO_CONFIGS / "proxy.cfg"
# Registrar only, digest with nonce-count checks, 405 to anything else.
REGISTRAR_CONFIG = KAMAILIO_CONFIGS / "registrar.cfg"
# The building proxy we ship (deploy/kamailio) and its tls module's file.
BUILDING_CONFIG = ROOT / "deploy" / "kamailio" / "building.cfg"
BUILDING_TLS_CONFIG = ROOT / "deploy" / "kamailio" / "tls.cfg.example"
DOOR_PASSWORD = "door-secret-42"
# Debian kamailio-tls-modules
TLS_MODULE = pathlib.Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so")
FLAT_PASSWORD = "flat-secret-17"


class KamailioTls:
    """What Kamailio's TLS listener presents and asks: its certificate and
    key (PEM files); with client_ca, a client must show a certificate that
    this CA signed (require_certificate), else none is asked for. Kamailio
    connecting to a TLS contact (a call to a door registered over TLS)
    checks that one's certificate against peer_ca when given."""

    def __init__(self, certificate, key, client_ca=None, peer_ca=None):
        self.certificate = certificate
        self.key = key
        self.client_ca = client_ca
        self.peer_ca = peer_ca

    def config_text(self):
        server = [
            "[server:default]",
            "method = TLSv1.2+",
            "private_key = %s" % self.key,
            "certificate = %s" % self.certificate,
        ]
        server += _certificate_check(self.client_ca)
        client = ["[client:default]", "method = TLSv1.2+"]
        client += _certificate_check(self.peer_ca)
        return "\n".join(server + [""] + client) + "\n"


def _certificate_check(ca):
    """tls.cfg lines of a profile that checks the other side's certificate
    against ca (a PEM file), or asks for none when ca is None."""
    if ca is None:
        return ["verify_certificate = no", "require_certificate = no"]
    return ["verify_certificate = yes", "require_certificate = yes", "ca_list = %s" % ca]


class ShippedTls:
    """deploy/kamailio/tls.cfg.example as an installer copies it, with the
    proxy's certificate and key (PEM files) where it says to put them."""

    PLACES = ("/etc/kamailio/building-tls/proxy.pem", "/etc/kamailio/building-tls/proxy.key")

    def __init__(self, certificate, key):
        self.files = (certificate, key)

    def config_text(self):
        text = BUILDING_TLS_CONFIG.read_text()
        for place, path in zip(self.PLACES, self.files, strict=True):
            assert place in text, (BUILDING_TLS_CONFIG, place)
            text = text.replace(place, str(path))
        return text


class Kamailio(SipProxy):
    """One Kamailio logging to rundir/kamailio.log; `config`'s !SIP_PORT!
    and !RUNDIR! (and the names in `substitutions`) filled in. start()
    again after stop() restarts it on the same port."""

    LOG_PREFIX = "interop: "  # the lines the config logs for the tests
    TCP = False  # whether the config listens on TCP too, on the same port

    def __init__(self, rundir, config=PROXY_CONFIG, substitutions=None, memory_mb=16, tls=None):
        self.rundir = pathlib.Path(rundir)
        self.config = config
        self.memory_mb = memory_mb
        self.tls = tls
        self.tls_port = None
        if substitutions is None:
            substitutions = {"DOOR_PASSWORD": DOOR_PASSWORD, "FLAT_PASSWORD": FLAT_PASSWORD}
        self.substitutions = substitutions
        self.port = None
        self.log_path = self.rundir / "kamailio.log"
        self.peer = None

    def start(self):
        ensure_installed(["kamailio", "kamcmd"], "kamailio")
        if self.tls is not None:
            ensure_installed([str(TLS_MODULE)], "kamailio-tls-modules")
        if self.port is not None:  # a restart: whoever uses it knows this port
            return self._start(self.port, self.tls_port)
        return retry_when_taken(lambda: self._start(free_port(tcp=self.TCP), self._free_tls_port()))

    def _free_tls_port(self):
        return None if self.tls is None else free_port(tcp=True)

    def _start(self, port, tls_port):
        self.port = port
        self.tls_port = tls_port
        command = ["kamailio", "-DD", "-E", "-f", self.config, "-m", self.memory_mb, "-M", 4]
        if self.tls is not None:
            tls_config = self.rundir / "tls.cfg"
            tls_config.write_text(self.tls.config_text())
            command += ["-A", "WITH_TLS"]
            command += ["--substdef=!TLS_PORT!%d!" % tls_port]
            command += ["--substdef=!TLS_CONFIG!%s!" % tls_config]
        # One UDP worker (overrides the config's `children`): with several,
        # two messages the door sends back to back (ACK and BYE, 180 and
        # 403, the 487 after the proxy's 200 for a CANCEL) can be relayed
        # by different workers in either order, which SIPp's strict
        # scenarios report as a failed call.
        command += ["-n", 1, "-Y", self.rundir, "-w", self.rundir]
        values = [("SIP_PORT", port), ("RUNDIR", self.rundir)]
        for name, value in values + sorted(self.substitutions.items()):
            command.append("--substdef=!%s!%s!" % (name, value))
        self.peer = PeerProcess("kamailio", self.log_path).launch(command)
        self.peer.wait_started(lambda: self.kamcmd("core.version").returncode == 0)
        return self

    def kamcmd(self, *arguments):
        command = ["kamcmd", "-s", "unix:%s/ctl" % self.rundir] + list(arguments)
        return subprocess.run(command, capture_output=True, text=True, timeout=10)

    def tcp_source_ports(self):
        """Source ports of the TCP connections Kamailio holds (kamcmd core.tcp_list)."""
        listing = self.kamcmd("core.tcp_list").stdout
        return [int(line.split(":")[1]) for line in listing.splitlines() if "src_port:" in line]

    def bindings(self):
        """{user: [contact URI, ...]} from `kamcmd ul.dump`."""
        result = self.kamcmd("ul.dump")
        assert result.returncode == 0, result.stderr
        found = {}
        user = None
        for line in result.stdout.splitlines():
            name, _, value = line.strip().partition(":")
            if name == "AoR":
                user = value.strip()
                found[user] = []
            elif name == "Address" and user is not None:
                found[user].append(value.strip())
        return found


class BuildingProxy(Kamailio):
    """Kamailio with deploy/kamailio/building.cfg; users {name: (password,
    role)} go into a generated users file, the port and paths by --substdef;
    with tls_certificate (certificate, key) also SIP over TLS (WITH_TLS)."""

    LOG_PREFIX = "building: "
    TCP = True

    def __init__(self, rundir, users, tls_certificate=None):
        tls = None if tls_certificate is None else ShippedTls(*tls_certificate)
        super().__init__(rundir, BUILDING_CONFIG, {}, memory_mb=32, tls=tls)
        self.users = dict(users)

    def start(self):
        self.substitutions["USERS_FILE"] = write_users_file(self.rundir, self.users)
        return super().start()
