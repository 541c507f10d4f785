"""Redis memory per idle conversation, and the app's RSS.

The whole app in this process (its embedded Redis in a temporary folder, fake
Twilio and Telegram servers on loopback from tests/fakes.py), then N
conversations per channel, each a five-message exchange as a person has it
(a greeting, "yes I can talk", two menu choices, thanks), every reply delivered.
Redis's `used_memory` is read before and after each channel's batch (after a
warm-up of 200 other conversations of the channel): the
difference over N is what one idle conversation costs while it is kept
(HELPLINE_RETENTION_DAYS), shared structures (queues, the compaction schedule)
included. A breakdown by key, from MEMORY USAGE on a sample, shows where it goes.

    python benchmarks/memory.py [--quick]     # N = 10,000 per channel (1,000 quick)

Target (issue 15): bytes_per_conversation <= 2048, the largest of the three.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.dirname(HERE))

import asyncio  # noqa: E402
import itertools  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from aiohttp.test_utils import TestServer  # noqa: E402

from bot.channels.base import Inbound  # noqa: E402
from bot.channels.telegram import Pacer  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store import keys  # noqa: E402
from bot.testing.settle import settled  # noqa: E402
from helpline.app import CHANNELS, PIPELINE, REDIS, create_app  # noqa: E402
from tests.fakes import FakeTelegram, FakeTwilio  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXCHANGE = ("hello, I need some help", "1", "2", "1", "thank you")
# Conversations at once. Telegram paces each chat (about one message a second, as
# Telegram allows), so five replies take a chat five seconds: many at once.
CONCURRENT = {"web": 100, "sms": 100, "telegram": 400}
WARM_UP = 200
CHUNK = 1000
_ids = itertools.count(1)


def user_of(channel: str, i: int) -> str:
    if channel == "sms":
        return f"+4477009{i:05d}"  # Ofcom's drama range, with a serial
    if channel == "telegram":
        return str(700_000_000 + i)
    return f"memory-bench-session-{i:08d}"


async def converse(app, channel: str, i: int) -> None:
    pipeline = app[PIPELINE]
    for text in EXCHANGE:
        n = next(_ids)
        await pipeline.accept(
            Inbound(
                channel,
                user_of(channel, i),
                text=text,
                message_id=str(n) if channel == "telegram" else None,
                dedup_id=f"SM{n:032x}"
                if channel == "sms"
                else (str(n) if channel == "telegram" else None),
                language_hint="en" if channel == "telegram" else None,
            )
        )
        await asyncio.sleep(0)


async def used_memory(redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def batch(app, channel: str, count: int, first: int = 0) -> float:
    redis = app[REDIS]
    await settled(redis, timeout=600)
    before = await used_memory(redis)
    started = time.monotonic()
    gate = asyncio.Semaphore(CONCURRENT[channel])

    async def one(i: int) -> None:
        async with gate:
            await converse(app, channel, i)

    # A thousand people at a time: ten thousand coroutines at once on the paced
    # Telegram channel took over 25 minutes; in chunks, 10,000 take about 7.
    for start in range(first, first + count, CHUNK):
        await asyncio.gather(*(one(i) for i in range(start, min(start + CHUNK, first + count))))
        await settled(redis, timeout=1800)
    await asyncio.sleep(1)  # a last flush of metrics, timers
    after = await used_memory(redis)
    took = time.monotonic() - started
    print(
        f"{channel:9} {count} conversations, {count * len(EXCHANGE)} messages in {took:.0f} s: "
        f"{(after - before) / count:.0f} bytes each"
    )
    return (after - before) / count


async def breakdown(redis, sample: int = 50) -> None:
    """MEMORY USAGE of every key of a sample of conversations, by kind of key."""
    sizes: dict[str, int] = defaultdict(int)
    found = 0
    async for raw in redis.scan_iter(match=f"{keys.PREFIX}:c:*:state", count=1000):
        pid = raw.decode().split("{")[1].split("}")[0]
        for key in keys.conversation_keys(pid):
            usage = await redis.memory_usage(key)
            if usage:
                sizes[re.sub(r"\{[^}]*\}", "{pid}", key)] += usage
        found += 1
        if found >= sample:
            break
    print(f"\nbytes per conversation by key (MEMORY USAGE, a sample of {found}):")
    for key, total in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {key:32} {total / max(found, 1):7.0f}")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main(count: int) -> None:
    twilio, telegram = await FakeTwilio().start(), await FakeTelegram().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            flows_dir=ROOT / "flows",
            locales_dir=ROOT / "locales",
            secret_key=b"memory-benchmark-key-0123456789",
            public_url="https://help.example.org",
            channel_env={
                "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token,
                "TWILIO_FROM_NUMBER": "+15005550006",
                "TWILIO_API_BASE_URL": twilio.base_url,
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE_URL": telegram.base_url,
                "TELEGRAM_WEBHOOK_SECRET": "memory-benchmark-secret",
            },
            web_chat_limits=False,
        )
        app = create_app(settings)
        # The fake Bot API has no send limit, and memory does not depend on pace:
        # Telegram's own (25 a second) would make 50,000 replies take half an hour.
        app[CHANNELS]["telegram"].pacer = Pacer(per_second=100_000)
        server = TestServer(app)
        await server.start_server()
        try:
            costs = {}
            for channel in ("web", "sms", "telegram"):
                # Warm-up (other people): what Redis allocates once, on its first
                # keys of a kind, is not what one more conversation costs.
                await batch(app, channel, WARM_UP, first=10**6)
                costs[channel] = await batch(app, channel, count)
            await breakdown(app[REDIS])
            rss = rss_mb()
        finally:
            await server.close()
            await twilio.close()
            await telegram.close()
    print()
    for channel, cost in costs.items():
        print(f"{channel}_bytes_per_conversation={cost:.0f}")
    print(f"app_rss_mb={rss:.0f}")
    print(f"bytes_per_conversation={max(costs.values()):.0f}")


if __name__ == "__main__":
    asyncio.run(main(1000 if "--quick" in sys.argv else 10_000))
