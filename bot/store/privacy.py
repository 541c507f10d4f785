"""Pseudonymous ids and encrypted contact addresses.

Redis never holds a chat id or a phone number in the clear: a conversation is
keyed by an HMAC of (channel, user id), and the address needed to reply is kept
encrypted with AES-GCM. Both keys derive from HELPLINE_SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Privacy:
    def __init__(self, secret_key: bytes):
        self._pid_key = hmac.new(secret_key, b"helpline pseudonymous ids", hashlib.sha256).digest()
        self._aead = AESGCM(
            hmac.new(secret_key, b"helpline contact addresses", hashlib.sha256).digest()
        )
        self.cookie_key = hmac.new(secret_key, b"helpline console cookies", hashlib.sha256).digest()
        self.telegram_secret = hmac.new(
            secret_key, b"helpline telegram webhook", hashlib.sha256
        ).hexdigest()[:48]

    def pid(self, channel: str, user_id: str) -> str:
        """The conversation's pseudonymous id: stable, not reversible without the key."""
        digest = hmac.new(self._pid_key, f"{channel}:{user_id}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:15]).decode().lower()

    def encrypt(self, plaintext: str, context: str = "") -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, context: str = "") -> str | None:
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            return None

    def sign(self, value: str) -> str:
        mac = hmac.new(self.cookie_key, value.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{value}.{mac}"

    def unsign(self, signed: str) -> str | None:
        value, _, mac = signed.rpartition(".")
        expected = hmac.new(self.cookie_key, value.encode(), hashlib.sha256).hexdigest()[:32]
        return value if value and hmac.compare_digest(mac, expected) else None
