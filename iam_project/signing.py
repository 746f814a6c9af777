"""The OIDC / access-token signing keys: RS256, generated on first run, rotated by a command.

Keys come from the environment (``IAM_OIDC_PRIVATE_KEY``, PEM; ``IAM_OIDC_PREVIOUS_KEY``) or from
``var/oidc/current.pem`` and ``var/oidc/previous.pem``, created when missing. The JWKS publishes
the current and the previous key, so tokens signed before a rotation still verify until they
expire. Processes read the keys at start: restart them after ``manage.py rotatesigningkey``.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


def generate_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _write_private(path, pem):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    os.replace(tmp, path)


def key_dir(var_dir):
    return Path(var_dir) / "oidc"


def load_keys(var_dir, environ=os.environ):
    """(current PEM, [previous PEMs]) — from the environment, else from var/oidc (made if missing)."""
    if environ.get("IAM_OIDC_PRIVATE_KEY"):
        previous = environ.get("IAM_OIDC_PREVIOUS_KEY", "")
        return environ["IAM_OIDC_PRIVATE_KEY"], [previous] if previous else []
    folder = key_dir(var_dir)
    current = folder / "current.pem"
    if not current.exists():
        _write_private(current, generate_pem())
    previous = folder / "previous.pem"
    return current.read_text(), [previous.read_text()] if previous.exists() else []


def rotate(var_dir):
    """Make a new current key; the current one becomes the previous (the older previous is dropped).
    Returns the new key's JWK thumbprint (its ``kid``)."""
    from jwcrypto import jwk

    folder = key_dir(var_dir)
    current = folder / "current.pem"
    if current.exists():
        _write_private(folder / "previous.pem", current.read_text())
    pem = generate_pem()
    _write_private(current, pem)
    return jwk.JWK.from_pem(pem.encode()).thumbprint()
