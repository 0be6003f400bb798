# A test CA and the certificates it signs, made with the openssl command
# (Debian's openssl) into a test's folder: ECDSA P-256 keys, valid for two
# days, server certificates with subjectAltName (IP and DNS names), client
# certificates for clientAuth.

import pathlib
import subprocess

DAYS = "2"


def _openssl(*arguments, cwd):
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)


class Authority:
    """ca.pem and ca.key in folder; issue() signs certificates with them."""

    def __init__(self, folder, name="intercom test CA"):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.certificate = self.folder / "ca.pem"
        self.key = self.folder / "ca.key"
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", self.key.name, "-out", self.certificate.name, "-days", DAYS,
            "-subj", "/CN=%s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=self.folder,
        )  # fmt: skip

    def issue(self, name, addresses=(), hosts=(), client=False):
        """(certificate path, key path) of a certificate for name."""
        key = self.folder / ("%s.key" % name)
        request = self.folder / ("%s.csr" % name)
        certificate = self.folder / ("%s.pem" % name)
        extensions = self.folder / ("%s.ext" % name)
        lines = ["basicConstraints=CA:FALSE"]
        if client:
            lines.append("extendedKeyUsage=clientAuth")
        else:
            names = ["IP:%s" % address for address in addresses] + ["DNS:%s" % h for h in hosts]
            lines += ["extendedKeyUsage=serverAuth", "subjectAltName=" + ",".join(names)]
        extensions.write_text("\n".join(lines) + "\n")
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key.name, "-out", request.name, "-subj", "/CN=%s" % name,
            cwd=self.folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", request.name, "-CA", self.certificate.name,
            "-CAkey", self.key.name, "-CAcreateserial", "-out", certificate.name,
            "-days", DAYS, "-extfile", extensions.name,
            cwd=self.folder,
        )  # fmt: skip
        return certificate, key
