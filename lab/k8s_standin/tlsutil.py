"""Self-signed CA and leaf certificates (EC P-256: generated in milliseconds)."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class CA:
    def __init__(self, cert, key):
        self.cert, self.key = cert, key

    @property
    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load_or_create(cls, state_dir):
        crt, key = os.path.join(state_dir, "ca.crt"), os.path.join(state_dir, "ca.key")
        if os.path.exists(crt) and os.path.exists(key):
            with open(crt, "rb") as f:
                c = x509.load_pem_x509_certificate(f.read())
            with open(key, "rb") as f:
                k = serialization.load_pem_private_key(f.read(), None)
            if c.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30):
                return cls(c, k)
        k = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clickview-lab-k8s-standin-ca")])
        now = datetime.datetime.now(datetime.timezone.utc)
        c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=3650))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
             .sign(k, hashes.SHA256()))
        old = os.umask(0o077)
        try:
            with open(key, "wb") as f:
                f.write(_pem_key(k))
        finally:
            os.umask(old)
        with open(crt, "wb") as f:
            f.write(c.public_bytes(serialization.Encoding.PEM))
        return cls(c, k)

    def issue(self, common_name, dns_names=(), ips=(), not_before=None, not_after=None, server=True):
        """-> (cert_pem, key_pem, cert)"""
        k = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        nb = not_before or now - datetime.timedelta(minutes=1)
        na = not_after or now + datetime.timedelta(days=365)
        sans = [x509.DNSName(d) for d in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
             .issuer_name(self.cert.subject).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        c = b.sign(self.key, hashes.SHA256())
        return c.public_bytes(serialization.Encoding.PEM), _pem_key(k), c
