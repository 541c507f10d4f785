"""Redis replies as text. redis-py types a reply as bytes | str (str when the
client decodes responses); this app's clients answer bytes."""

from __future__ import annotations


def decoded(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def decoded_or_empty(raw: bytes | str | None) -> str:
    """A reply that may be missing (a field not set, a key gone), as '' then."""
    return "" if raw is None else decoded(raw)
