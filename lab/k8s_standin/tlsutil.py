"""Self-signed CA and leaf certificates (EC P-256: generated in milliseconds).

The `cryptography` package is imported only when a key or certificate has to be made: a restart that
finds its CA and a still-valid server certificate for the same names in the state dir loads neither.
"""
import datetime
import hashlib
import json
import os

RENEW_BEFORE = datetime.timedelta(days=30)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _pem_key(key):
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path, data):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


class CA:
    """The stand-in's CA. cert_pem is read from disk; the key and certificate objects load on first issue()."""

    def __init__(self, cert_pem, key_pem, cert=None, key=None):
        self.cert_pem, self._key_pem = cert_pem, key_pem
        self._cert, self._key = cert, key

    @property
    def fingerprint(self):
        return hashlib.sha256(self.cert_pem).hexdigest()

    def _load(self):
        if self._cert is None:
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization
            self._cert = x509.load_pem_x509_certificate(self.cert_pem)
            self._key = serialization.load_pem_private_key(self._key_pem, None)
        return self._cert, self._key

    @classmethod
    def load_or_create(cls, state_dir):
        crt, key, meta = (os.path.join(state_dir, n) for n in ("ca.crt", "ca.key", "ca.json"))
        if os.path.exists(crt) and os.path.exists(key):
            with open(crt, "rb") as f:
                cert_pem = f.read()
            with open(key, "rb") as f:
                key_pem = f.read()
            ca = cls(cert_pem, key_pem)
            not_after = None
            try:
                with open(meta) as f:
                    m = json.load(f)
                if m.get("sha256") == ca.fingerprint:
                    not_after = datetime.datetime.fromisoformat(m["not_after"])
            except (OSError, ValueError, KeyError):
                pass
            if not_after is None:
                not_after = ca._load()[0].not_valid_after_utc
                ca._save_meta(meta, not_after)
            if not_after > _now() + RENEW_BEFORE:
                return ca
        return cls._create(crt, key, meta)

    def _save_meta(self, path, not_after):
        with open(path, "w") as f:
            json.dump({"sha256": self.fingerprint, "not_after": not_after.isoformat()}, f)

    @classmethod
    def _create(cls, crt, key, meta):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        k = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clickview-lab-k8s-standin-ca")])
        now = _now()
        c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=3650))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
             .sign(k, hashes.SHA256()))
        key_pem = _pem_key(k)
        _write_private(key, key_pem)
        cert_pem = c.public_bytes(serialization.Encoding.PEM)
        with open(crt, "wb") as f:
            f.write(cert_pem)
        ca = cls(cert_pem, key_pem, c, k)
        ca._save_meta(meta, c.not_valid_after_utc)
        return ca

    def issue(self, common_name, dns_names=(), ips=(), not_before=None, not_after=None, server=True):
        """-> (cert_pem, key_pem, cert)"""
        import ipaddress
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        ca_cert, ca_key = self._load()
        k = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        nb = not_before or now - datetime.timedelta(minutes=1)
        na = not_after or now + datetime.timedelta(days=365)
        sans = [x509.DNSName(d) for d in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
             .issuer_name(ca_cert.subject).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        c = b.sign(ca_key, hashes.SHA256())
        return c.public_bytes(serialization.Encoding.PEM), _pem_key(k), c

    def server_cert(self, state_dir, common_name, dns_names, ips):
        """Paths of the API server's certificate and key in state_dir: re-used while they were issued by this
        CA for the same names and stay valid for RENEW_BEFORE, issued anew otherwise."""
        cp, kp, mp = (os.path.join(state_dir, n) for n in ("server.crt", "server.key", "server.json"))
        want = {"ca_sha256": self.fingerprint, "cn": common_name, "dns": sorted(dns_names), "ips": sorted(ips)}
        try:
            with open(mp) as f:
                m = json.load(f)
            if (os.path.exists(cp) and os.path.exists(kp) and {k: m.get(k) for k in want} == want
                    and datetime.datetime.fromisoformat(m["not_after"]) > _now() + RENEW_BEFORE):
                return cp, kp
        except (OSError, ValueError, KeyError):
            pass
        crt, key, c = self.issue(common_name, dns_names, ips)
        with open(cp, "wb") as f:
            f.write(crt)
        _write_private(kp, key)
        with open(mp, "w") as f:
            json.dump(dict(want, not_after=c.not_valid_after_utc.isoformat()), f)
        return cp, kp
