"""Field encryption for ID numbers and bank accounts, and keyed hashes to find them again.

AES-256-GCM with a random nonce per value; the key (CARENET_FIELD_KEY, 32 bytes, base64) is
neither in the database nor derived from SECRET_KEY. Equality search uses an HMAC-SHA256 "blind
index" under a sub-key derived with HKDF, so the hash column alone reveals nothing without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "g1:"


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _load_key_text() -> str:
    if settings.FIELD_ENCRYPTION_KEY:
        return settings.FIELD_ENCRYPTION_KEY
    path = settings.FIELD_KEY_FILE
    if not path.exists():
        if not settings.DEMO:
            raise ImproperlyConfigured("CARENET_FIELD_KEY is not set")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key())
    return path.read_text().strip()


@lru_cache(maxsize=1)
def _keys() -> tuple[AESGCM, bytes]:
    try:
        master = base64.urlsafe_b64decode(_load_key_text())
    except ValueError as exc:
        raise ImproperlyConfigured("CARENET_FIELD_KEY must be 32 bytes, urlsafe base64") from exc
    if len(master) != 32:
        raise ImproperlyConfigured("CARENET_FIELD_KEY must decode to exactly 32 bytes")

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    return AESGCM(derive(b"carenet-field-encryption")), derive(b"carenet-blind-index")


def reset_key_cache() -> None:
    _keys.cache_clear()


def encrypt(plaintext: str | None, *, purpose: str) -> str:
    """`purpose` is bound as associated data: a ciphertext copied into another column will not decrypt."""
    if not plaintext:
        return ""
    aes, _ = _keys()
    nonce = os.urandom(12)
    blob = aes.encrypt(nonce, plaintext.encode(), purpose.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + blob).decode()


def decrypt(token: str | None, *, purpose: str) -> str:
    if not token:
        return ""
    if not token.startswith(PREFIX):
        raise ValueError("unknown ciphertext format")
    aes, _ = _keys()
    raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
    return aes.decrypt(raw[:12], raw[12:], purpose.encode()).decode()


def blind_index(value: str | None, *, purpose: str) -> str | None:
    if not value:
        return None
    _, key = _keys()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def encrypt_bytes(data: bytes, *, purpose: str) -> bytes:
    """A whole file (an imported list holds ID numbers): nonce + AES-GCM ciphertext, `purpose` bound."""
    aes, _ = _keys()
    nonce = os.urandom(12)
    return nonce + aes.encrypt(nonce, data, purpose.encode())


def decrypt_bytes(blob: bytes, *, purpose: str) -> bytes:
    aes, _ = _keys()
    return aes.decrypt(blob[:12], blob[12:], purpose.encode())
