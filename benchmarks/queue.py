"""Claim latency of the counsellor queue: 10,000 queued conversations, 100
concurrent claimers (each an asyncio task with its own connection, as consoles
served by the app are), every claim one atomic Lua call.

    python benchmarks/queue.py
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `queue`: keep its folder off the
# import path so that `import queue` (used by redis-py) finds the real one.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

import asyncio  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from redis.asyncio import Redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store.embedded import EmbeddedRedis  # noqa: E402
from handoff.queue import LEVELS, HandoffQueue  # noqa: E402

QUEUED = 10_000
CLAIMERS = 100
CLAIMS_EACH = 30
THINK_S = 0.5  # mean pause between one claimer's claims: 200 claims a second in all, far above any real helpline


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), appendonly=True)
        server.start()
        redis = Redis.from_url(server.url, max_connections=CLAIMERS + 10)
        try:
            queue = HandoffQueue(redis, aging_minutes=5)
            now = time.time()
            start = time.perf_counter()
            for i in range(QUEUED):
                await queue.enqueue(
                    f"conv{i:05d}",
                    random.choice(LEVELS),
                    category=None,
                    reason="asked",
                    channel="sms",
                    language="en",
                    now=now - random.uniform(0, 3600),
                )
            fill = time.perf_counter() - start
            ids = [f"conv{i:05d}" for i in range(QUEUED)]
            random.shuffle(ids)
            await asyncio.gather(
                *(redis.ping() for _ in range(CLAIMERS))
            )  # open the connections first
            latencies: list[float] = []
            outcomes = {200: 0, 409: 0, 404: 0}
            next_id = iter(range(10**9))

            async def claimer(number: int) -> None:
                # A counsellor's console: claims one after another, a few milliseconds
                # apart (far faster than people click), in parallel with 99 others.
                for _ in range(CLAIMS_EACH):
                    await asyncio.sleep(random.expovariate(1 / THINK_S))
                    pid = (
                        ids[next(next_id) % QUEUED] if random.random() > 0.1 else ids[0]
                    )  # some collide
                    started = time.perf_counter()
                    code, _, _ = await queue.claim(pid, f"counsellor{number}")
                    latencies.append(time.perf_counter() - started)
                    outcomes[code] += 1

            start = time.perf_counter()
            await asyncio.gather(*(claimer(n) for n in range(CLAIMERS)))
            elapsed = time.perf_counter() - start

            burst: list[float] = []  # worst case: all 100 click at the same instant

            async def one(pid: str, name: str) -> None:
                started = time.perf_counter()
                await queue.claim(pid, name)
                burst.append(time.perf_counter() - started)

            for round_ in range(10):
                await asyncio.gather(
                    *(one(ids[-(round_ * CLAIMERS + n + 1)], f"c{n}") for n in range(CLAIMERS))
                )
            listing = []
            for _ in range(20):
                t = time.perf_counter()
                await queue.entries()
                listing.append(time.perf_counter() - t)
        finally:
            await redis.aclose()
            server.stop()
    p50, p99 = percentile(latencies, 0.50) * 1e3, percentile(latencies, 0.99) * 1e3
    print(
        f"queued {QUEUED} conversations in {fill:.1f} s; {len(latencies)} claims by {CLAIMERS} concurrent claimers "
        f"in {elapsed:.2f} s ({len(latencies) / elapsed:.0f}/s); outcomes {outcomes}"
    )
    print(
        f"claim latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(latencies) * 1e3:.2f} ms, "
        f"mean {statistics.mean(latencies) * 1e3:.2f} ms"
    )
    print(
        f"burst of {CLAIMERS} claims at the same instant (one client process): p50 "
        f"{percentile(burst, 0.5) * 1e3:.2f} ms, p99 {percentile(burst, 0.99) * 1e3:.2f} ms"
    )
    print(
        f"reading the queue for the console (200 most urgent of {QUEUED}): median {statistics.median(listing) * 1e3:.1f} ms"
    )
    print(f"claim_p50_ms={p50:.2f}")
    print(f"claim_p99_ms={p99:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
