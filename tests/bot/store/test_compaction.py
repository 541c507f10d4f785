"""Erasure that reaches the disk: after a safe exit, or once her data has
expired, no file of the data dir holds her words (bot/store/compaction.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.store import compaction, keys
from bot.testing.webchat import WebChat

WORDS = b"Zebraquartz"  # a word nobody else writes: found in a file, it is hers


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_socket() and needle in p.read_bytes()
    ]


async def eventually(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while not (result := await check()):
        if time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)
    return result


async def test_after_a_safe_exit_no_file_of_the_data_dir_holds_her_words(
    make_client, tmp_path, monkeypatch
):
    monkeypatch.setattr(compaction, "LOOK_EVERY_S", 0.2)
    data = tmp_path / "own-redis"
    client = await make_client(redis_url=None, data_dir=data)  # the embedded server, its AOF
    chat = WebChat(client)
    await chat.start()
    await chat.say(f"my name is {WORDS.decode()} and he took my passport")
    # appendfsync everysec: on disk within a second or so
    on_disk = await eventually(lambda: asyncio.sleep(0, files_holding(data, WORDS)))
    assert on_disk and all(name.startswith("appendonlydir") for name in on_disk), on_disk
    assert files_holding(data, chat.session.encode()) == []  # her address is sealed

    await chat.send("EXIT")
    left = await eventually(lambda: asyncio.sleep(0, not files_holding(data, WORDS)))
    assert left, files_holding(data, WORDS)
    assert files_holding(data, b"passport") == []
    assert data.stat().st_mode & 0o777 == 0o700
    for path in data.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, path


async def test_an_expired_conversation_is_compacted_a_live_one_waits(redis):
    """Due conversations whose keys are gone start one rewrite; one still written
    to is looked at again when its keys go."""
    now = time.time()
    await redis.zadd(keys.COMPACT, {"gone": now - 5, "alive": now - 5, "later": now + 3600})
    await redis.set(keys.state("alive"), "{}", ex=600)
    assert await compaction.compact_once(redis, now)
    remaining = dict(await redis.zrange(keys.COMPACT, 0, -1, withscores=True))
    assert set(remaining) == {b"alive", b"later"}
    assert remaining[b"alive"] == pytest.approx(now + 600, abs=5)
    # One rewrite per gap over every process: the next due one waits for the lock.
    await redis.delete(keys.state("alive"))
    await redis.zadd(keys.COMPACT, {"alive": now - 1})
    assert not await compaction.compact_once(redis, now)
    await redis.delete(keys.COMPACT_LOCK)
    assert await compaction.compact_once(redis, now)
    assert await redis.zrange(keys.COMPACT, 0, -1) == [b"later"]
