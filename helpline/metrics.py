"""Prometheus metrics of the whole line (GET /metrics), whichever process or
host serves the scrape.

Counters and histograms are counted in each process and added every second to
one Redis hash (`keys.METRICS`, HINCRBYFLOAT), so that with HELPLINE_PROCESSES=2,
or several hosts on one Redis, a scrape reads the sum of all of them; a process
killed loses at most its last second. Gauges (the queue by severity, the inbound
backlog and its age, dead letters) are read from Redis at the scrape. Labels never
carry personal data: channel names, severities, concepts, language codes,
reasons and outcomes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from redis.exceptions import RedisError

from bot.channels.base import Inbound, Outbound, PermanentSendError, RetryableSendError
from bot.pipeline.pipeline import backlog, read_backlog
from bot.store import keys
from handoff.queue import LEVELS

log = logging.getLogger("helpline.app")

FLUSH_EVERY_S = 1.0
SEP = keys.METRIC_SEP  # between a field's parts in the Redis hash: never in a label


@dataclass(frozen=True)
class Counted:
    name: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()  # a histogram when given


COUNTERS = {
    c.name: c
    for c in (
        Counted("helpline_messages_in", "Inbound messages accepted", ("channel",)),
        Counted("helpline_messages_out", "Outbound messages delivered", ("channel",)),
        Counted("helpline_send_failures", "Outbound messages that finally failed", ("channel",)),
        Counted("helpline_duplicate_deliveries", "Webhook deliveries seen before", ("channel",)),
        Counted(
            "helpline_provider_errors",
            "Sends the provider refused or could not take: rate_limited (429), "
            "unavailable (5xx, timeouts; retried) or refused (never retried)",
            ("channel", "kind"),
        ),
        Counted("helpline_handoffs", "Conversations handed to counsellors", ("severity",)),
        Counted(
            "helpline_queue_abandoned",
            "Queue entries that ended before a counsellor took them: exit (safe exit), "
            "withdrawn (she no longer waits) or silent (past the reply window)",
            ("reason",),
        ),
        Counted(
            "helpline_risk_detections",
            "Risk matches by language and concept (concept `model`: the model alone)",
            ("language", "concept"),
        ),
        Counted(
            "helpline_queue_wait_seconds",
            "Time from handoff to a counsellor's claim",
            buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
        ),
        Counted(
            "helpline_first_reply_seconds",
            "Time from handoff to the counsellor's first reply",
            buckets=(15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
        ),
        Counted(
            "helpline_processing_seconds",
            "Time from a message's arrival to its processing",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ),
    )
}


class Metrics:
    """What this process counted since its last flush to Redis."""

    def __init__(self) -> None:
        self._pending: dict[str, float] = {}
        # one flush at a time: a scrape's flush waits for the background one in
        # flight, or it would read the totals before that one's counts land
        self._flushing = asyncio.Lock()

    def inc(self, name: str, *labels: str, by: float = 1.0) -> None:
        counted = COUNTERS[name]
        assert len(labels) == len(counted.labels) and not counted.buckets, name
        field = keys.metric_field(name, *labels)
        self._pending[field] = self._pending.get(field, 0.0) + by

    def observe(self, name: str, value: float) -> None:
        counted = COUNTERS[name]
        assert counted.buckets, name
        for le in counted.buckets:
            if value <= le:
                field = keys.metric_field(name, "le", repr(float(le)))
                self._pending[field] = self._pending.get(field, 0.0) + 1
        for part, amount in (("count", 1.0), ("sum", value)):
            field = keys.metric_field(name, part)
            self._pending[field] = self._pending.get(field, 0.0) + amount

    async def flush(self, redis: Any) -> None:
        """Add what was counted to the line's totals; kept for the next try if Redis fails."""
        async with self._flushing:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            try:
                async with redis.pipeline(transaction=True) as pipe:
                    for field, amount in pending.items():
                        pipe.hincrbyfloat(keys.METRICS, field, amount)
                    await pipe.execute()
            except (RedisError, OSError):
                for field, amount in pending.items():
                    self._pending[field] = self._pending.get(field, 0.0) + amount
                raise

    # ------------------------------------------------------------------ hooks

    def count_accepted(self, inbound: Inbound, new: bool) -> None:
        """An inbound message stored (new) or a duplicate delivery seen again."""
        name = "helpline_messages_in" if new else "helpline_duplicate_deliveries"
        self.inc(name, inbound.channel)

    async def count_delivered(
        self, channel: str, outbound: Outbound, pid: str, error: Exception | None
    ) -> None:
        """A text delivered, or finally failed (logged without any personal data)."""
        if outbound.kind != "text":
            return
        if error is None:
            self.inc("helpline_messages_out", channel)
        else:
            self.inc("helpline_send_failures", channel)
            log.warning("a message to a %s conversation finally failed: %s", channel, error)

    def count_send_error(self, channel: str, error: Exception) -> None:
        """Each refusal or failure of the provider, retried or not."""
        if isinstance(error, RetryableSendError):
            kind = "rate_limited" if "429" in str(error) else "unavailable"
        elif isinstance(error, PermanentSendError):
            kind = "refused"
        else:
            return
        self.inc("helpline_provider_errors", channel, kind)

    # ------------------------------------------------------------------ scrape

    async def render(self, redis: Any, now: float) -> bytes:
        """The exposition text: the line's totals and the gauges read now."""
        with contextlib.suppress(RedisError, OSError):
            await self.flush(redis)
        registry = CollectorRegistry()
        registry.register(_LineCollector(await _read(redis, now)))
        return generate_latest(registry)


async def _read(redis: Any, now: float) -> dict[str, Any]:
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.METRICS)
            pipe.zrange(keys.WAITING, 0, 9999)
            pipe.zcard(keys.DEAD_LETTERS)
            read_backlog(pipe)
            totals, waiting, dead, count, oldest = await pipe.execute()
        async with redis.pipeline(transaction=False) as pipe:
            for pid in waiting:
                pipe.hget(keys.handoff(pid.decode()), "severity")
            severities = await pipe.execute() if waiting else []
    except (RedisError, OSError):
        return {"totals": {}, "redis_up": 0}
    by_severity: dict[str, int] = {}
    for severity in severities:
        name = severity.decode() if severity else "unknown"
        by_severity[name] = by_severity.get(name, 0) + 1
    pending, age = backlog(count, oldest, now)
    return {
        "redis_up": 1,
        "totals": {k.decode(): float(v) for k, v in totals.items()},
        "waiting": by_severity,
        "backlog": pending,
        "backlog_age": age,
        "dead": dead,
    }


class _LineCollector:
    def __init__(self, read: dict[str, Any]) -> None:
        self.read = read

    def collect(self) -> Iterable[Any]:
        totals: dict[str, float] = self.read["totals"]
        for counted in COUNTERS.values():
            mine = {
                tuple(f.split(SEP)[1:]): v
                for f, v in totals.items()
                if f.split(SEP, 1)[0] == counted.name
            }
            if counted.buckets:
                yield _histogram(counted, mine)
            else:
                family = CounterMetricFamily(counted.name, counted.help, labels=counted.labels)
                for labels, value in sorted(mine.items()):
                    if len(labels) == len(counted.labels):
                        family.add_metric(list(labels), value)
                yield family
        up = GaugeMetricFamily("helpline_redis_up", "Whether Redis answered the scrape")
        up.add_metric([], self.read["redis_up"])
        yield up
        if not self.read["redis_up"]:
            return
        queue = GaugeMetricFamily(
            "helpline_queue_length",
            "Conversations waiting for a counsellor, by the severity they were queued at",
            labels=("severity",),
        )
        waiting: dict[str, int] = self.read["waiting"]
        for severity in dict.fromkeys((*LEVELS, *sorted(waiting))):
            queue.add_metric([severity], waiting.get(severity, 0))
        yield queue
        for name, help_text, value in (
            (
                "helpline_backlog_conversations",
                "Conversations with inbound messages stored but not processed yet",
                self.read["backlog"],
            ),
            (
                "helpline_backlog_oldest_seconds",
                "How long the oldest of them has waited",
                self.read["backlog_age"],
            ),
            (
                "helpline_dead_letter_conversations",
                "Conversations with messages whose processing failed (helpline deadletters)",
                self.read["dead"],
            ),
        ):
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], value)
            yield gauge


def _histogram(counted: Counted, mine: dict[tuple[str, ...], float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(counted.name, counted.help)
    buckets = [
        (str(le) if le != int(le) else f"{le:.1f}", mine.get(("le", repr(float(le))), 0.0))
        for le in counted.buckets
    ]
    count = mine.get(("count",), 0.0)
    family.add_metric([], [*buckets, ("+Inf", count)], mine.get(("sum",), 0.0))
    return family


async def flush_forever(metrics: Metrics, redis: Any) -> None:
    """Flush every second for the app's lifetime; once more when cancelled."""
    try:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            with contextlib.suppress(RedisError, OSError):
                await metrics.flush(redis)
    finally:
        with contextlib.suppress(RedisError, OSError, asyncio.CancelledError):
            await metrics.flush(redis)
