# A test CA and the certificates it signs, made with the openssl command
# (Debian's openssl) into a test's folder: ECDSA P-256 keys, valid for two
# days, server certificates with subjectAltName (IP and DNS names), client
# certificates for clientAuth; an expired server certificate (OpenSSL 3.0's
# x509 cannot date one in the past: made with the cryptography package);
# the SHA-256 fingerprint of a certificate.

import datetime
import hashlib
import ipaddress
import pathlib
import ssl
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

    def issue_expired(self, name, addresses=()):
        """(certificate path, key path) of a server certificate for name
        that expired yesterday, signed by this CA."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        authority_key = serialization.load_pem_private_key(self.key.read_bytes(), None)
        authority = x509.load_pem_x509_certificate(self.certificate.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names = [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(authority.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=3))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(authority_key, hashes.SHA256())
        )
        certificate_path = self.folder / ("%s.pem" % name)
        key_path = self.folder / ("%s.key" % name)
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return certificate_path, key_path


def fingerprint(certificate_path):
    """The SHA-256 fingerprint of a PEM certificate, as AA:BB:... hex."""
    der = ssl.PEM_cert_to_DER_cert(pathlib.Path(certificate_path).read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))
