"""Erasure that reaches the disk: her words are stored sealed with her data
key, and after a safe exit, or once her data has expired, no file of the data
dir holds that key (bot/store/vault.py, bot/store/compaction.py)."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from bot.store import compaction, keys
from bot.store.vault import Vault
from bot.testing.sealed import stored_data_keys
from bot.testing.webchat import WebChat
from helpline.app import PRIVACY, REDIS

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


async def test_after_a_safe_exit_nothing_on_disk_reads_her_words(
    make_client, tmp_path, monkeypatch
):
    """Her words reach the disk only sealed with her data key; after a safe exit
    (and the rewrite it brings) no file of the data dir holds her key, and no key
    left on disk opens a copy of her records taken before she left, not even
    with the secret key."""
    monkeypatch.setattr(compaction, "LOOK_EVERY_S", 0.2)
    data = tmp_path / "own-redis"
    client = await make_client(redis_url=None, data_dir=data)  # the embedded server, its AOF
    privacy, redis = client.app[PRIVACY], client.app[REDIS]
    chat = WebChat(client)
    await chat.start()
    await chat.say(f"my name is {WORDS.decode()} and he took my passport")
    pid = privacy.pid("web", chat.session)
    wrapped = await redis.get(keys.data_key(pid))
    records = await redis.lrange(keys.transcript(pid), 0, -1)
    key = Vault(redis, privacy, 60).unwrap(pid, wrapped)
    assert key is not None and any(WORDS.decode() in (key.open(r) or "") for r in records)
    # appendfsync everysec: on disk within a second or so, sealed
    assert await eventually(lambda: asyncio.sleep(0, files_holding(data, wrapped)))
    assert files_holding(data, records[-1]) != []
    backup = tmp_path / "backup"  # a copy of the data dir taken while she is there
    shutil.copytree(data, backup, ignore=shutil.ignore_patterns("*.sock"))
    for needle in (WORDS, b"passport", chat.session.encode()):
        assert files_holding(data, needle) == []  # not her words, not her address

    await chat.send("EXIT")
    gone = await eventually(lambda: asyncio.sleep(0, not files_holding(data, wrapped)))
    assert gone, files_holding(data, wrapped)
    assert not await redis.exists(keys.data_key(pid))
    for record in records:
        assert files_holding(data, record) == []
    # Every data key still stored (other conversations) fails on her records,
    # with the secret key at hand; so does every key string left in any file.
    survivors = await stored_data_keys(redis, privacy)
    assert all(k.open(r) is None for k in survivors for r in records)
    assert all(
        wrapped not in p.read_bytes() for p in data.rglob("*") if p.is_file() and not p.is_socket()
    )
    assert files_holding(backup, wrapped) != []  # what a backup taken before holds (README)
    assert data.stat().st_mode & 0o777 == 0o700
    for path in data.rglob("*"):
        if path.is_file() and not path.is_socket():
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
