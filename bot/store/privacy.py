"""Pseudonymous ids and encrypted contact addresses.

Redis never holds a chat id or a phone number in the clear: a conversation is
keyed by an HMAC of (channel, user id), and the address needed to reply is kept
encrypted with AES-GCM. Both keys derive from HELPLINE_SECRET_KEY.

One key format everywhere (`bot.config.key_bytes`): 64 hexadecimal digits, which is what
the generated key file holds and what `openssl rand -hex 32` prints, are the 32
bytes they spell; any other text of 16 characters or more is its UTF-8 bytes.
So the key file's content can be copied into HELPLINE_SECRET_KEY as it is.

Rotation: previous keys (HELPLINE_OLD_SECRET_KEYS) are accepted for reading.
An address or a cookie sealed with an old key still opens, and a conversation
begun under an old key keeps its pseudonymous id until it ends or expires
(`find_pid`); everything new is sealed and named with the current key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.store import keys


def _derive(secret_key: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret_key, purpose, hashlib.sha256).digest()


class _Keys:
    """What one secret key derives: one key per use."""

    def __init__(self, secret_key: bytes):
        self.pid_key = _derive(secret_key, b"helpline pseudonymous ids")
        self.aead = AESGCM(_derive(secret_key, b"helpline contact addresses"))
        self.wrapping = AESGCM(_derive(secret_key, b"helpline data keys"))
        self.cookie_key = _derive(secret_key, b"helpline console cookies")
        self.telegram_secret = hmac.new(
            secret_key, b"helpline telegram webhook", hashlib.sha256
        ).hexdigest()[:48]

    def pid(self, channel: str, user_id: str) -> str:
        digest = hmac.new(self.pid_key, f"{channel}:{user_id}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:15]).decode().lower()

    def mac(self, value: str) -> str:
        return hmac.new(self.cookie_key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _addresses(derived: _Keys) -> AESGCM:
    return derived.aead


def _data_keys(derived: _Keys) -> AESGCM:
    return derived.wrapping


class Privacy:
    def __init__(self, secret_key: bytes, old_keys: tuple[bytes, ...] | list[bytes] = ()):
        self._current = _Keys(secret_key)
        self._old = [_Keys(k) for k in dict.fromkeys(old_keys) if k != secret_key]
        self._all = [self._current, *self._old]
        self.telegram_secret = self._current.telegram_secret
        # Telegram may still send the secret it was given under an old key until
        # the webhook is registered again (at start).
        self.telegram_secrets = [k.telegram_secret for k in self._all]

    def pid(self, channel: str, user_id: str) -> str:
        """The conversation's pseudonymous id: stable, not reversible without the key."""
        return self._current.pid(channel, user_id)

    async def find_pid(self, redis: Any, channel: str, user_id: str) -> str:
        """The id of her conversation: the current key's, unless a conversation
        begun under an old key is still going (rotation); one EXISTS per key, and
        only while old keys are set."""
        pid = self._current.pid(channel, user_id)
        if not self._old:
            return pid
        if await redis.exists(keys.state(pid)):
            return pid
        for old in self._old:
            earlier = old.pid(channel, user_id)
            if await redis.exists(keys.state(earlier)):
                return earlier
        return pid

    def encrypt(self, plaintext: str, context: str = "") -> str:
        return self._seal(_addresses, plaintext.encode(), context)

    def decrypt(self, token: str, context: str = "") -> str | None:
        opened = self._open(_addresses, token, context)
        return None if opened is None else opened.decode()

    def wrap(self, data_key: bytes, pid: str) -> str:
        """A conversation's data key (bot/store/vault.py), sealed for storing beside her data."""
        return self._seal(_data_keys, data_key, pid)

    def unwrap(self, wrapped: str, pid: str) -> bytes | None:
        return self._open(_data_keys, wrapped, pid)

    def _seal(self, use: Callable[[_Keys], AESGCM], data: bytes, context: str) -> str:
        """`data` sealed with the current key's AES-GCM for `use`, bound to `context`."""
        nonce = os.urandom(12)
        sealed = use(self._current).encrypt(nonce, data, context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def _open(self, use: Callable[[_Keys], AESGCM], token: str, context: str) -> bytes | None:
        """What `_seal` sealed, with the current key or an old one (rotation)."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except ValueError:
            return None
        for derived in self._all:
            try:
                return use(derived).decrypt(raw[:12], raw[12:], context.encode())
            except (InvalidTag, ValueError):
                continue
        return None

    def sign(self, value: str) -> str:
        return f"{value}.{self._current.mac(value)}"

    def unsign(self, signed: str) -> str | None:
        value, _, mac = signed.rpartition(".")
        if not value:
            return None
        for derived in self._all:
            if hmac.compare_digest(mac, derived.mac(value)):
                return value
        return None
