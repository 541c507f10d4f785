"""The flows' own texts, kept once for everyone who was sent them.

A bot reply rendered from a flow's templates and the line's settings alone (no
variable of hers: `Texts.public` in bot/conversation/texts.py) names no one and
is the same for everybody who reached that step. Her transcript and her web
mailbox keep only its digest (`ref`); the text is kept once, in keys.TEXTS.
That she was sent it, and when, stays in her sealed entry and goes with her.
A menu of 300 characters costs her 8.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from bot.store import keys

# What an entry shows if its text is not in keys.TEXTS (never: nothing deletes it).
MISSING = "(a text of the flows, no longer stored)"


def text_ref(text: str) -> str:
    """The digest that stands for `text`: 48 bits, 8 characters (the flows have a
    few thousand texts in all their languages: a collision is a chance in 10^7)."""
    digest = hashlib.blake2b(text.encode(), digest_size=6, person=b"helpline-text").digest()
    return base64.urlsafe_b64encode(digest).decode()


def keep_command(ref: str, text: str) -> list[str]:
    """The write that keeps `text` under `ref` (once: HSETNX)."""
    return ["HSETNX", keys.TEXTS, ref, text]


async def shared_texts(redis: Any, refs: set[str]) -> dict[str, str | None]:
    """The texts of `refs`, in one round trip (None: not stored)."""
    if not refs:
        return {}
    ordered = sorted(refs)
    found = await redis.hmget(keys.TEXTS, ordered)
    return {
        ref: raw.decode() if raw is not None else None
        for ref, raw in zip(ordered, found, strict=True)
    }


async def fill_texts(redis: Any, entries: list[dict]) -> list[dict]:
    """Transcript entries with the text of each `ref` put back (in place)."""
    texts = await shared_texts(redis, {e["ref"] for e in entries if "ref" in e})
    for entry in entries:
        if "ref" in entry:
            entry["text"] = texts[entry.pop("ref")] or MISSING
    return entries
