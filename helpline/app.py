"""The aiohttp application: one `create_app(settings)` factory; every resource
(Redis, the pipeline, channels, background tasks) is owned by a cleanup context,
so that start and stop are symmetrical and tests build the whole app in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.base import Channel
from bot.channels.web import WebChannel
from bot.config import Settings
from bot.pipeline.pipeline import Pipeline
from bot.runtime.runtime import Flows, Runtime
from bot.store import keys
from bot.store.commit import Commit
from bot.store.embedded import EmbeddedRedis
from bot.store.privacy import Privacy
from helpline.metrics import Metrics

log = logging.getLogger("helpline.app")

FLOW_RELOAD_INTERVAL_S = 2.0


@dataclass
class Services:
    """Everything the app shares, reachable from handlers as request.app[SERVICES]."""

    settings: Settings
    channels: dict[str, Channel]
    metrics: Metrics = field(default_factory=Metrics)
    redis: Redis | None = None
    privacy: Privacy | None = None
    flows: Flows | None = None
    runtime: Runtime | None = None
    pipeline: Pipeline | None = None
    embedded: EmbeddedRedis | None = None
    extras: dict = field(default_factory=dict)


SERVICES = web.AppKey("services", Services)


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels this configuration enables; the web chat is always on."""
    channels: dict[str, Channel] = {"web": WebChannel()}
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings)
    if settings.sms_enabled:
        from bot.channels.sms import SmsChannel

        channels["sms"] = SmsChannel(settings)
    return channels


def open_redis(url: str, blocking: bool = False) -> Redis:
    """The app's client; `blocking` for pub/sub, which waits longer than any timeout."""
    if blocking:
        return Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5)
    return Redis.from_url(url, health_check_interval=30, socket_connect_timeout=5)


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = services.settings
    url = settings.redis_url
    if url is None:
        services.embedded = EmbeddedRedis(settings.data_dir, reuse_running=app[REUSE_EMBEDDED])
        url = services.embedded.start()
        log.info("embedded Redis started on %s", services.embedded.socket_path)
    services.redis = open_redis(url)
    services.extras["redis_url"] = url
    try:
        yield
    finally:
        await services.redis.aclose()
        if services.embedded is not None:
            services.embedded.stop()
            log.info("embedded Redis stopped")


async def _core_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = services.settings.with_secret()
    services.settings = settings
    services.privacy = Privacy(settings.secret_key)
    if services.flows is None:
        services.flows = Flows(settings.flows_dir, settings.locales_dir)
    services.runtime = Runtime(
        services.redis, services.privacy, services.flows, settings.retention_seconds
    )
    pipeline = Pipeline(services.redis, services.privacy, settings.retention_seconds)
    pipeline.backoff_base = settings.extra.get("backoff_base", pipeline.backoff_base)
    pipeline.max_attempts = settings.extra.get("max_attempts", pipeline.max_attempts)
    services.pipeline = pipeline
    runtime = services.runtime
    metrics = services.metrics

    async def process(pid: str, inbound, loaded: list) -> Commit:
        commit = Commit(pid, inbound.channel, settings.retention_seconds)
        commit.pop_inbox()
        await runtime.handle(pid, inbound, commit, loaded)
        metrics.processing_seconds.observe(max(0.0, time.time() - inbound.received_at))
        return commit

    async def delivered(channel: str, outbound, pid: str, error) -> None:
        if outbound.kind != "text":
            return
        if error is None:
            metrics.messages_out.labels(channel).inc()
        else:
            metrics.send_failures.labels(channel).inc()
            log.warning("a message to a %s conversation finally failed: %s", channel, error)

    def accepted(inbound, new: bool) -> None:
        (metrics.messages_in if new else metrics.duplicates).labels(inbound.channel).inc()

    pipeline.process = process
    pipeline.on_delivery = delivered
    pipeline.on_accept = accepted
    runtime.schedule_deletion = pipeline.schedule_deletion
    runtime.wake_worker = pipeline.wake_worker
    runtime.wake_sender = pipeline.wake_sender
    for channel in services.channels.values():
        pipeline.add_channel(channel)
        await channel.connect(pipeline)
    from handoff.console import create_first_admin
    from handoff.events import EventHub
    from helpline.services import install_services

    services.extras.update(await install_services(runtime, settings, metrics))
    handoff = services.extras["handoff"]
    hub = EventHub(open_redis(services.extras["redis_url"], blocking=True))
    await hub.start()
    secure = bool(settings.public_url and settings.public_url.startswith("https://"))
    app[CONSOLE].bind(handoff, services.privacy, hub, secure)
    # The terminal chat (its own channels) serves no console: it creates no account.
    password = await create_first_admin(handoff.counsellors) if not app[REUSE_EMBEDDED] else None
    if password:
        print(
            f"helpline: created the first supervisor account: user `admin`, password `{password}`. "
            "It is shown only this once: sign in at /console and add real accounts.",
            flush=True,
        )
    await pipeline.start()
    watcher = asyncio.create_task(_watch_flows(services.flows))
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await hub.stop()
        await hub.redis.aclose()
        await pipeline.stop()
        for channel in services.channels.values():
            await channel.disconnect()


async def _watch_flows(flows: Flows) -> None:
    while True:
        await asyncio.sleep(FLOW_RELOAD_INTERVAL_S)
        try:
            await asyncio.to_thread(flows.reload_if_changed)
        except Exception:
            log.exception("reloading the flows failed")


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await asyncio.wait_for(services.redis.ping(), 2)
    except (TimeoutError, RedisError, OSError) as exc:
        return web.json_response({"status": "unavailable", "redis": type(exc).__name__}, status=503)
    body = {
        "status": "ok",
        "redis": "ok",
        "flows": services.flows.flowset.version,
        "channels": sorted(services.channels),
    }
    return web.json_response(body)


async def metrics_view(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    with contextlib.suppress(RedisError, OSError):
        services.metrics.queue_length.set(await services.redis.zcard(keys.WAITING))
    return web.Response(
        body=generate_latest(services.metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


@web.middleware
async def storage_unavailable(request: web.Request, handler) -> web.StreamResponse:
    """Redis down: a clear 503 (Telegram and the web page retry; nothing was
    acknowledged, so nothing is lost), never a 500 with a traceback."""
    try:
        return await handler(request)
    except RedisError as exc:
        log.warning("Redis unavailable (%s): answered 503", type(exc).__name__)
        return web.json_response(
            {"error": "storage is unavailable for a moment; retry shortly"},
            status=503,
            headers={"Retry-After": "5"},
        )


CONSOLE = web.AppKey("console", object)
REUSE_EMBEDDED = web.AppKey("reuse_embedded", bool)


def create_app(
    settings: Settings,
    *,
    flows: Flows | None = None,
    channels: dict[str, Channel] | None = None,
    reuse_embedded: bool = False,
) -> web.Application:
    """The whole app for `settings`. With `flows` given (already validated), they are
    used as is; with `channels` given, only those (the terminal chat)."""
    channels = channels if channels is not None else build_channels(settings)
    app = web.Application(client_max_size=64 * 1024, middlewares=[storage_unavailable])
    app[SERVICES] = Services(settings=settings, channels=channels, flows=flows)
    app[REUSE_EMBEDDED] = reuse_embedded
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_core_ctx)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    for channel in channels.values():
        app.router.add_routes(channel.listen())
    from handoff.console import Console

    app[CONSOLE] = Console()
    app.router.add_routes(app[CONSOLE].routes())
    return app
