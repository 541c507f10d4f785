"""One clock: the app takes it at construction, and every time it records
comes from it (bot/clock.py); nothing reads the wall clock behind its back."""

from __future__ import annotations

import re

from bot.store import keys
from bot.testing.sealed import opened
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from helpline.app import PRIVACY
from tests.conftest import ROOT

FIXED = 1_900_000_000.0  # 2030-03-17: far from today, so a stray wall-clock time shows


async def test_every_time_the_app_records_comes_from_its_clock(make_client, redis):
    client = await make_client(clock=lambda: FIXED)
    chat = WebChat(client)
    await chat.start()
    await chat.say("COUNSELLOR")
    await settled(redis)
    pid = client.app[PRIVACY].pid("web", chat.session)
    times = {
        entry["at"] for entry in await opened(redis, client.app[PRIVACY], pid, keys.transcript)
    }
    assert times == {FIXED}
    [handoff] = await redis.keys(keys.handoff("*"))
    assert float(await redis.hget(handoff, "enqueued_at")) == FIXED
    assert await redis.zrange(keys.WORK_PENDING, 0, -1, withscores=True) == []


def test_no_module_reads_the_wall_clock_but_the_clock():
    """Durations (timeouts, pacing, progress) use time.monotonic; dates come from a Clock."""
    readers = [
        str(path.relative_to(ROOT))
        for package in ("bot", "handoff", "helpline")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"\btime\.time\b|datetime\.now\(|datetime\.utcnow\(", path.read_text())
    ]
    assert readers == ["bot/clock.py"]
