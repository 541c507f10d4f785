"""Each step of drain.lua through its one Python interface (DrainScript),
against the real Redis server: what the pipeline's order and crash safety rest on."""

from __future__ import annotations

import itertools

import pytest

from bot.pipeline import drain
from bot.pipeline.drain import LOCK_TTL_MS, DrainScript, Head
from bot.store import keys

_names = itertools.count()


@pytest.fixture
def lists(redis):
    """A fresh kind of list (its own keys), with one key read along."""
    n = next(_names)
    return DrainScript(
        redis,
        lambda pid: f"hl:test{n}:list:{pid}",
        lambda pid: f"hl:test{n}:lock:{pid}",
        f"hl:test{n}:pending",
        (lambda pid: f"hl:test{n}:state:{pid}",),
    )


async def test_accept_stores_once_and_takes_a_free_list(lists, redis):
    await redis.set(lists.read_along[0]("p"), "state")
    assert await lists.accept("p", "m1", "A", "id-1", 60, 60, "k") == (
        True,
        Head(b"m1", [b"state"]),
    )
    assert await lists.accept("p", "m1", "B", "id-1", 60, 60, "k") == (False, None)
    # held by A: stored, not taken
    assert await lists.accept("p", "m2", "B", "id-2", 60, 60, "k") == (True, None)
    assert await redis.lrange(lists.list_key("p"), 0, -1) == [b"m1", b"m2"]
    assert await redis.get(lists.lock_key("p")) == b"A"


async def test_an_id_is_a_duplicate_within_the_window_among_her_last_ids(redis, monkeypatch):
    """A provider's retry is a duplicate while its id is remembered: for the
    window, among her last DEDUP_KEEP ids (a flood cannot grow the set). The ids
    are hers: in her conversation's set, which expires with it."""
    monkeypatch.setattr(drain, "DEDUP_KEEP", 3)
    now = [1000.0]
    n = next(_names)
    lists = DrainScript(
        redis,
        lambda pid: f"hl:test{n}:list:{pid}",
        lambda pid: f"hl:test{n}:lock:{pid}",
        f"hl:test{n}:pending",
        clock=lambda: now[0],
    )
    pid = f"dedup{n}"

    async def stored(item: str, dedup_id: str) -> bool:
        now[0] += 1
        result = await lists.accept(pid, item, "", dedup_id, 60, 3600, "k")
        assert isinstance(result, tuple)
        return result[0]

    assert [await stored(f"m{i}", f"id-{i}") for i in range(4)] == [True] * 4
    assert not await stored("m3", "id-3")  # remembered
    assert await stored("m0", "id-0")  # the oldest fell out of her last 3
    assert 3000 < await redis.ttl(keys.seen(pid)) <= 3600
    now[0] += 61  # past the window: every id is forgotten
    assert await stored("m2", "id-2")
    assert await redis.zcard(keys.seen(pid)) == 1
    assert await redis.llen(lists.list_key(pid)) == 6


async def test_apply_hands_back_the_next_item_then_releases(lists, redis):
    await lists.accept("p", "m1", "", "", 60, 60, "k")
    await lists.accept("p", "m2", "", "", 60, 60, "k")
    head = await lists.take("p", "A")
    assert head is not None and head.item == b"m1"
    assert await lists.take("p", "B") is None  # busy
    applied = await lists.apply("p", "A", [["LPOP", lists.list_key("p")]])
    assert applied.kept and applied.next is not None and applied.next.item == b"m2"
    applied = await lists.apply("p", "A", [["LPOP", lists.list_key("p")]])
    assert applied.kept and applied.next is None
    assert await redis.get(lists.lock_key("p")) is None
    assert await redis.zscore(lists.pending, "p") is None  # nothing left to do


async def test_a_lost_lock_writes_nothing(lists, redis):
    await lists.accept("p", "m1", "A", "", 60, 60, "k")
    await redis.set(lists.lock_key("p"), "B")  # A's lock expired; B took the list
    applied = await lists.apply("p", "A", [["LPOP", lists.list_key("p")], ["SET", "hl:test:w", 1]])
    assert not applied.kept
    assert await redis.exists("hl:test:w") == 0
    assert await redis.lrange(lists.list_key("p"), 0, -1) == [b"m1"]
    assert await redis.get(lists.lock_key("p")) == b"B"


async def test_a_missing_guard_skips_the_writes(lists, redis):
    await lists.accept("p", "m1", "A", "", 60, 60, "k")
    applied = await lists.apply(
        "p", "A", [["SET", "hl:test:guarded", 1]], guard="hl:test:erased-meanwhile"
    )
    assert applied.kept and applied.skipped
    assert await redis.exists("hl:test:guarded") == 0
    await redis.set("hl:test:guard", 1)
    applied = await lists.apply("p", "A", [["SET", "hl:test:guarded", 1]], guard="hl:test:guard")
    assert applied.kept and not applied.skipped
    assert await redis.exists("hl:test:guarded") == 1


async def test_apply_takes_the_other_list_along(lists, redis):
    outboxes = DrainScript(
        redis, lambda pid: f"hl:test:out:{pid}", lambda pid: f"hl:test:outlock:{pid}", "hl:test:op"
    )
    await lists.accept("p", "m1", "A", "", 60, 60, "k")
    applied = await lists.apply(
        "p",
        "A",
        [["LPOP", lists.list_key("p")], ["RPUSH", outboxes.list_key("p"), "reply"]],
        then=(outboxes, "S"),
    )
    assert applied.then == Head(b"reply", [])
    assert await redis.get(outboxes.lock_key("p")) == b"S"


async def test_release_marks_the_conversation_stale(lists, redis):
    await lists.accept("p", "m1", "", "", 60, 60, "k")
    assert await redis.zscore(lists.pending, "p") > 0
    assert await lists.take("p", "A") is not None
    assert not await lists.release("p", "B")  # not B's to release
    assert await redis.get(lists.lock_key("p")) == b"A"
    assert await lists.release("p", "A")
    assert await redis.get(lists.lock_key("p")) is None
    assert await redis.zscore(lists.pending, "p") == 0  # the next sweep takes it at once
    assert await redis.lrange(lists.list_key("p"), 0, -1) == [b"m1"]  # nothing lost


async def test_renew_extends_only_the_callers_lock(lists, redis):
    await lists.accept("p", "m1", "A", "", 60, 60, "k")
    await redis.pexpire(lists.lock_key("p"), 1000)
    assert not await lists.renew("p", "B")
    assert await redis.pttl(lists.lock_key("p")) <= 1000
    assert await lists.renew("p", "A")
    assert 1000 < await redis.pttl(lists.lock_key("p")) <= LOCK_TTL_MS


async def test_hold_takes_the_lock_alone_for_its_lifetime(lists, redis):
    assert await lists.hold("p", "console")
    assert not await lists.hold("p", "worker")
    assert 0 < await redis.pttl(lists.lock_key("p")) <= LOCK_TTL_MS


async def test_accept_stores_her_data_key_once_and_refuses_another(lists, redis):
    """Two processes guessing her data key: the first stores it, the second is
    told the stored one (and stores nothing) so that it seals with it instead."""
    from bot.store import keys

    assert await lists.accept("p", "m1", "", "", 60, 60, "key-A") == (True, None)
    assert await redis.get(keys.data_key("p")) == b"key-A"
    assert await lists.accept("p", "m2", "", "id-9", 60, 60, "key-B") == b"key-A"
    assert await redis.lrange(lists.list_key("p"), 0, -1) == [b"m1"]
    assert not await redis.exists(keys.seen("p"))  # not remembered: it is sent again
    assert await lists.accept("p", "m2", "", "id-9", 60, 60, "key-A") == (True, None)


async def test_a_safe_exit_keeps_her_data_key_while_her_inbox_holds_messages(lists, redis):
    """Messages she sent after her exit word, not processed yet, are sealed with
    her key: it goes only with the last of them."""
    from bot.store import keys

    await lists.accept("p", "exit", "A", "", 60, 60, "k")
    await lists.accept("p", "hello again", "", "", 60, 60, "k")
    erase = [["LPOP", lists.list_key("p")], ["DELIFEMPTY", keys.data_key("p"), lists.list_key("p")]]
    applied = await lists.apply("p", "A", erase)
    assert applied.next is not None and applied.next.item == b"hello again"
    assert await redis.get(keys.data_key("p")) == b"k"
    await lists.apply("p", "A", erase)
    assert not await redis.exists(keys.data_key("p"))
