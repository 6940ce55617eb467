"""Encryption at rest and blind indexes for personal data (PIPL, JR/T 0171-2020).

Phone numbers, ID numbers and e-mail addresses are stored AES-GCM encrypted; an HMAC "blind
index" of the normalised value lets the app find a customer by phone without decrypting rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, has_app_context

_PREFIX = "v1:"
_keys: dict[str, bytes] = {}  # the last configured app's keys, for code outside an app context


def derive_keys(key_material: str) -> dict[str, bytes]:
    """The encryption and blind-index keys derived from the configured secret."""
    root = hashlib.sha256(("kesheng-pii|" + key_material).encode()).digest()
    return {
        "enc": hmac.new(root, b"encrypt", hashlib.sha256).digest(),
        "idx": hmac.new(root, b"blind-index", hashlib.sha256).digest(),
    }


def configure(key_material: str) -> dict[str, bytes]:
    """Derive the keys (create_app stores them on the app); returns them."""
    keys = derive_keys(key_material)
    _keys.clear()
    _keys.update(keys)
    return keys


def _key(name: str) -> bytes:
    # Each app encrypts with its own keys, so two apps in one process (tests, tools) never
    # read each other's ciphertext with the wrong key.
    keys = current_app.extensions.get("pii_keys") if has_app_context() else None
    keys = keys or _keys
    if name not in keys:
        raise RuntimeError("personal-data keys are not configured (create_app does this)")
    return keys[name]


def encrypt(plain: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key("enc")).encrypt(nonce, plain.encode("utf-8"), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


class KeyMismatch(RuntimeError):
    """Stored personal data does not open with the configured key: PII_KEY (or SECRET_KEY,
    which it defaults to) is not the key the data was encrypted with."""


def decrypt(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        raise ValueError("not an encrypted value")
    raw = base64.b64decode(stored[len(_PREFIX) :])
    try:
        return AESGCM(_key("enc")).decrypt(raw[:12], raw[12:], None).decode("utf-8")
    except InvalidTag:
        raise KeyMismatch(
            "stored personal data cannot be decrypted: PII_KEY (or SECRET_KEY, its default) "
            "is not the key it was encrypted with"
        ) from None


def normalise_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def blind_index(kind: str, value: str | None) -> str | None:
    """A keyed hash of a normalised value, for equality look-ups; None for empty input."""
    if not value:
        return None
    norm = normalise_phone(value) if kind == "phone" else value.strip().lower()
    if not norm:
        return None
    return hmac.new(_key("idx"), f"{kind}|{norm}".encode(), hashlib.sha256).hexdigest()
