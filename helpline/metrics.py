"""Prometheus metrics of one app process (GET /metrics). Labels never carry
personal data: only channel names, severities and outcomes."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.channels.base import Inbound, Outbound

log = logging.getLogger("helpline.app")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "helpline_messages_in", "Inbound messages accepted", ["channel"], registry=r
        )
        self.messages_out = Counter(
            "helpline_messages_out", "Outbound messages delivered", ["channel"], registry=r
        )
        self.send_failures = Counter(
            "helpline_send_failures",
            "Outbound messages that finally failed",
            ["channel"],
            registry=r,
        )
        self.duplicates = Counter(
            "helpline_duplicate_deliveries",
            "Webhook deliveries seen before",
            ["channel"],
            registry=r,
        )
        self.handoffs = Counter(
            "helpline_handoffs", "Conversations handed to counsellors", ["severity"], registry=r
        )
        self.queue_length = Gauge(
            "helpline_queue_length", "Conversations waiting for a counsellor", registry=r
        )
        self.wait_seconds = Histogram(
            "helpline_queue_wait_seconds",
            "Time from handoff to a counsellor's claim",
            buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
            registry=r,
        )
        self.processing_seconds = Histogram(
            "helpline_processing_seconds",
            "Time from a message's arrival to its processing",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

    def count_accepted(self, inbound: Inbound, new: bool) -> None:
        """An inbound message stored (new) or a duplicate delivery seen again."""
        (self.messages_in if new else self.duplicates).labels(inbound.channel).inc()

    async def count_delivered(
        self, channel: str, outbound: Outbound, pid: str, error: Exception | None
    ) -> None:
        """A text delivered, or finally failed (logged without any personal data)."""
        if outbound.kind != "text":
            return
        if error is None:
            self.messages_out.labels(channel).inc()
        else:
            self.send_failures.labels(channel).inc()
            log.warning("a message to a %s conversation finally failed: %s", channel, error)
