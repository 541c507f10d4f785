"""Per-conversation data keys: what makes an erased conversation unreadable.

Every stored item of a conversation that holds her words or her address (inbox,
outbox, transcript, web mailbox, dead letters, the address, a counsellor's
close notes) is sealed with
AES-GCM under a random key of its own, the conversation's data key. The data key
is stored in Redis next to her other keys (`keys.data_key`), wrapped with a key
derived from HELPLINE_SECRET_KEY, and it goes with them: a safe exit deletes it,
and it expires with them after the retention period. Once it is gone, and the
append-only file rewritten (bot/store/compaction.py), every copy of her records
left anywhere (a replica's old file, a backup, a dump of the dead letters) is
ciphertext that nobody can open, not even with the secret key.

A sealed item is bytes: 0x00, then the nonce, the ciphertext and the tag
(Redis strings are binary: no base64, a quarter smaller). Its plaintext is
the text, deflated when that is shorter (a byte says which). Deflate starts
from a dictionary of the JSON our items are made of (DICTIONARY), so that a
short item shrinks too: a transcript entry of 70 bytes is sealed in 35 and
its 29 of nonce and tag. The dictionary never changes: another would be
another marker byte. An item that starts with `{` is a JSON item stored before
data keys existed (2026-12), read as it is.
"""

from __future__ import annotations

import os
import zlib
from collections import OrderedDict
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.store import keys
from bot.store.privacy import Privacy

SEALED = b"\x00"  # first byte of a sealed item (an item from before data keys is JSON: "{")
# What the sealed body holds: the text; it deflated (items sealed before 2026-12-04);
# it deflated from DICTIONARY.
PLAIN, DEFLATED, DEFLATED_V1 = b"\x00", b"\x01", b"\x02"
# What deflate may refer back to from the first byte of an item: the fields of
# the JSON items sealed here (an outbox item, an inbound message, a web mailbox
# item, a transcript entry), the most frequent last (nearest, so cheapest).
# NEVER edit: items sealed with it are opened with it.
DICTIONARY = (
    b'"options":[],"request_location":false,"location_label":"","message_ids":[],'
    b'"shared":true,"channel":"telegram","to":"+'
    b'{"channel":"sms","user_id":"","kind":"text","text":"","payload":null,"location":null,'
    b'"language_hint":null,"message_id":null,"dedup_id":null,"received_at":17'
    b'{"label":"","payload":"'
    b',"risk":"critical","category":"","why":"'
    b'{"id":"","from":"counsellor","at":17,"text":"","by":"'
    b',"status":"unprocessed"'
    b'{"id":"","ref":"'
    b'{"id":"","from":"bot","at":17,"ref":"'
    b'{"id":"","from":"user","at":17,"text":"'
)
CACHE_SIZE = 10_000  # data keys a process remembers (for accepting messages in one round trip)


class DataKey:
    """One conversation's data key: seals and opens its items."""

    def __init__(self, raw: bytes, wrapped: str):
        self._aead = AESGCM(raw)
        self.wrapped = wrapped  # as stored in Redis

    def seal(self, plaintext: str) -> bytes:
        raw = plaintext.encode()
        # raw deflate (no header, no checksum), from the dictionary
        packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        deflated = packer.compress(raw) + packer.flush()
        body = DEFLATED_V1 + deflated if len(deflated) < len(raw) else PLAIN + raw
        nonce = os.urandom(12)
        return SEALED + nonce + self._aead.encrypt(nonce, body, None)

    def open(self, item: bytes | str) -> str | None:
        """The plaintext of a sealed item; a JSON item from before data keys as it
        is; None if this key does not open it."""
        raw = item.encode() if isinstance(item, str) else item
        if not raw.startswith(SEALED):
            return raw.decode(errors="replace")
        try:
            body = self._aead.decrypt(raw[1:13], raw[13:], None)
            if body[:1] == DEFLATED_V1:
                unpacker = zlib.decompressobj(-15, zdict=DICTIONARY)
                return (unpacker.decompress(body[1:]) + unpacker.flush()).decode()
            if body[:1] == DEFLATED:
                return zlib.decompress(body[1:], -15).decode()
            return body[1:].decode()
        except (InvalidTag, ValueError, zlib.error):
            return None


def is_sealed(item: bytes | str) -> bool:
    return (item.encode() if isinstance(item, str) else item).startswith(SEALED)


class Vault:
    """Finds, creates and unwraps conversations' data keys."""

    def __init__(self, redis: Any, privacy: Privacy, retention_seconds: int):
        self.redis = redis
        self.privacy = privacy
        self.retention = retention_seconds
        self._cache: OrderedDict[str, DataKey] = OrderedDict()

    def new(self, pid: str) -> DataKey:
        raw = AESGCM.generate_key(bit_length=256)
        return self._remember(pid, DataKey(raw, self.privacy.wrap(raw, pid)))

    def unwrap(self, pid: str, wrapped: str | bytes | None) -> DataKey | None:
        """The data key stored as `wrapped` (None if there is none, or it does not open)."""
        if not wrapped:
            return None
        text = wrapped.decode() if isinstance(wrapped, bytes) else wrapped
        cached = self._cache.get(pid)
        if cached is not None and cached.wrapped == text:
            self._cache.move_to_end(pid)
            return cached
        raw = self.privacy.unwrap(text, pid)
        return None if raw is None else self._remember(pid, DataKey(raw, text))

    def cached(self, pid: str) -> DataKey:
        """The key this process last used for `pid`, or a new one: a guess, that
        the caller's write checks against the stored key (drain.lua's accept)."""
        found = self._cache.get(pid)
        return found if found is not None else self.new(pid)

    async def get(self, pid: str) -> DataKey | None:
        """The conversation's data key, if it has one."""
        return self.unwrap(pid, await self.redis.get(keys.data_key(pid)))

    async def ensure(self, pid: str) -> DataKey:
        """The conversation's data key, created if it has none (a conversation
        begun before data keys; one more round trip)."""
        candidate = self.new(pid)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.data_key(pid), candidate.wrapped, nx=True, ex=self.retention)
            pipe.get(keys.data_key(pid))
            _, stored = await pipe.execute()
        found = self.unwrap(pid, stored)
        if found is None:
            raise RuntimeError("the conversation's data key does not open with the secret key")
        return found

    def _remember(self, pid: str, key: DataKey) -> DataKey:
        self._cache[pid] = key
        self._cache.move_to_end(pid)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return key
