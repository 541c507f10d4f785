"""The aiohttp application: `create_app(settings)` builds every part and passes
each its collaborators (the one place that sees both bot/ and handoff/); small
cleanup contexts start and stop what runs, in order, so that start and stop are
symmetrical and tests build the whole app in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError

from bot.channels import build_channels, webhook_routes
from bot.channels.base import Channel, Inbound
from bot.clock import Clock, wall_clock
from bot.config import SENTINEL_SCHEME, Settings
from bot.pipeline.pipeline import Pipeline, backlog, read_backlog
from bot.runtime.conversations import Conversations
from bot.runtime.live import Flows
from bot.runtime.runtime import Runtime
from bot.store.commit import Commit
from bot.store.compaction import compact_forever
from bot.store.embedded import EmbeddedRedis
from bot.store.privacy import Privacy
from bot.store.vault import DataKey
from handoff.console import Console
from handoff.events import EventHub
from handoff.pages import error
from handoff.relay import Handoff
from handoff.sessions import create_first_admin
from helpline.logs import request_ids
from helpline.metrics import Metrics, flush_forever
from helpline.services import build_services, start_shelters

log = logging.getLogger("helpline.app")

FLOW_RELOAD_INTERVAL_S = 2.0

# One typed key per resource the handlers and cleanup contexts share.
SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
EMBEDDED = web.AppKey("embedded", EmbeddedRedis)  # absent with REDIS_URL
PRIVACY = web.AppKey("privacy", Privacy)
FLOWS = web.AppKey("flows", Flows)
METRICS = web.AppKey("metrics", Metrics)
CHANNELS = web.AppKey("channels", dict[str, Channel])
PIPELINE = web.AppKey("pipeline", Pipeline)
RUNTIME = web.AppKey("runtime", Runtime)
HANDOFF = web.AppKey("handoff", Handoff)
EVENTS = web.AppKey("events", EventHub)
CREATES_FIRST_ADMIN = web.AppKey("creates_first_admin", bool)


# A call holds a connection only for its round trip, and the scripts' calls of one
# event-loop turn share one (bot/store/scripts.py): 300 conversations at once use
# a few dozen. When all are busy a call waits for one (up to POOL_WAIT_S, then a
# ConnectionError: a 503 for a request, a retry for a send), never fails at once.
POOL_SIZE = 64
POOL_WAIT_S = 10.0
# At shutdown, sends under way get this long to finish; with the web requests'
# own wait (run.py) the whole stop stays within Docker's 10 s, and usually 5.
SEND_GRACE_S = 4.0
SUPERVISE_EVERY_S = 0.5  # how often the embedded Redis is checked for life
# /healthz answers 503 when a stored message has waited this long unprocessed (the
# sweep takes over a dead holder's work after 10 s; a minute means stuck).
BACKLOG_STUCK_S = 60.0


def open_redis(url: str, blocking: bool = False) -> Redis:
    """The app's client; `blocking` for pub/sub, which waits longer than any timeout.
    A Sentinel group (redis+sentinel://host:port,.../name, from REDIS_SENTINELS)
    gives a client that asks the Sentinels for the primary, and again after a
    failover."""
    if url.startswith(f"{SENTINEL_SCHEME}://"):
        return _sentinel_client(url, blocking)
    if blocking:
        return Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_S,
        health_check_interval=30,
        socket_connect_timeout=5,
    )
    return Redis.from_pool(pool)


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """The primary's connections, found by the Sentinels, with a cap that makes a
    request wait for a free connection (as BlockingConnectionPool does) rather than fail."""


def _sentinel_client(url: str, blocking: bool) -> Redis:
    addresses, _, name = url.split("://", 1)[1].rpartition("/")
    sentinels = [
        (host, int(port)) for host, _, port in (a.rpartition(":") for a in addresses.split(","))
    ]
    group = Sentinel(sentinels, socket_connect_timeout=2, socket_timeout=2)
    if blocking:
        return group.master_for(name, socket_timeout=None, socket_connect_timeout=5)
    return group.master_for(
        name,
        connection_pool_class=_BlockingSentinelPool,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_S,
        health_check_interval=30,
        socket_connect_timeout=5,
    )


def create_app(
    settings: Settings,
    *,
    flows: Flows | None = None,
    channels: dict[str, Channel] | None = None,
    reuse_embedded: bool = False,
    clock: Clock = wall_clock,
) -> web.Application:
    """The whole app for `settings`. With `flows` given (already validated), they are
    used as is; with `channels` given, only those (the terminal chat, which also
    reuses a running app's embedded Redis and creates no account)."""
    settings = settings.with_secret()
    app = web.Application(
        client_max_size=64 * 1024, middlewares=[request_ids, storage_unavailable, json_api_errors]
    )
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir, reuse_running=reuse_embedded)
        app[EMBEDDED] = embedded
        url = embedded.url
    redis = open_redis(url)  # connects on first use, once the cleanup contexts start Redis
    assert settings.secret_key is not None  # with_secret() sets it
    privacy = Privacy(settings.secret_key, settings.old_secret_keys)
    flows = flows or Flows(settings.flows_dir, settings.locales_dir, settings.retention_days)
    channels = channels if channels is not None else build_channels(settings)
    metrics = Metrics()
    conversations = Conversations(redis, privacy, flows, settings.retention_seconds, clock)

    # The pipeline hands each message to the runtime, and the handoff wakes the
    # pipeline after a console change: `runtime` is assigned below, before any
    # message can arrive (the cleanup contexts start the pipeline).
    async def process(pid: str, inbound: Inbound, loaded: list, key: DataKey) -> Commit:
        commit = Commit(
            pid, inbound.channel, settings.retention_seconds, conversations.clock(), key
        )
        commit.pop_inbox()
        await runtime.handle(pid, inbound, commit, loaded)
        metrics.observe(
            "helpline_processing_seconds", max(0.0, conversations.clock() - inbound.received_at)
        )
        return commit

    pipeline = Pipeline(
        redis,
        conversations.vault,
        settings.retention_seconds,
        process=process,
        on_accept=metrics.count_accepted,
        on_delivery=metrics.count_delivered,
        on_send_error=metrics.count_send_error,
        max_attempts=settings.send_attempts,
        backoff_base=settings.send_backoff_s,
        clock=conversations.clock,
        words=flows,
        # With Sentinels, a message is acknowledged once a replica has it too:
        # the replica a failover promotes holds every acknowledged message.
        replicas=1 if url.startswith(f"{SENTINEL_SCHEME}://") else 0,
    )
    for channel in channels.values():
        pipeline.add_channel(channel)
    services = build_services(conversations, settings, wake=pipeline, metrics=metrics)
    runtime = services.runtime
    hub = EventHub(open_redis(url, blocking=True))
    secure = bool(settings.public_url and settings.public_url.startswith("https://"))
    console = Console(services.handoff, privacy, hub, secure, settings.trusted_proxies)

    app[SETTINGS] = settings
    app[REDIS] = redis
    app[PRIVACY] = privacy
    app[FLOWS] = flows
    app[METRICS] = metrics
    app[CHANNELS] = channels
    app[PIPELINE] = pipeline
    app[RUNTIME] = runtime
    app[HANDOFF] = services.handoff
    app[EVENTS] = hub
    app[CREATES_FIRST_ADMIN] = not reuse_embedded
    app.cleanup_ctx.extend([redis_ctx, shelters_ctx, events_ctx, channels_ctx, pipeline_ctx])
    app.cleanup_ctx.append(flows_watch_ctx)
    app.on_shutdown.append(close_open_requests)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_routes(webhook_routes(channels.values()))
    app.router.add_routes(console.routes())
    return app


# ---------------------------------------------------------------------- start and stop


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The embedded Redis (unless REDIS_URL is set), supervised, and the app's client."""
    embedded = app.get(EMBEDDED)
    supervisor = None
    if embedded is not None:
        embedded.start()
        log.info("embedded Redis started on %s", embedded.socket_path)
        if embedded.process is not None:  # ours (not another app's, reused)
            supervisor = asyncio.create_task(supervise(embedded))
    compactor = asyncio.create_task(compact_forever(app[REDIS], app[RUNTIME].conversations.clock))
    try:
        yield
    finally:
        for task in (supervisor, compactor):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await app[REDIS].aclose()
        if embedded is not None:
            embedded.stop()
            log.info("embedded Redis stopped")


async def supervise(embedded: EmbeddedRedis) -> None:
    """Start the embedded Redis again whenever it dies. Meanwhile requests get 503
    with Retry-After and the pipeline retries; the clients reconnect by themselves."""
    while True:
        await asyncio.sleep(SUPERVISE_EVERY_S)
        embedded.restart_if_dead()  # on the loop's thread: see there why


async def shelters_ctx(app: web.Application) -> AsyncIterator[None]:
    await start_shelters(app[RUNTIME].conversations, app[SETTINGS])
    yield


async def events_ctx(app: web.Application) -> AsyncIterator[None]:
    """Live events for the consoles (Redis pub/sub, its own client)."""
    hub = app[EVENTS]
    await hub.start()
    try:
        yield
    finally:
        await hub.stop()
        await hub.redis.aclose()


async def first_admin(app: web.Application) -> str | None:
    """With no counsellor accounts at all, create supervisor `admin`; its one-time
    password, or None. `helpline run` calls it once the server listens, so that the
    password is never shown by a start that then fails."""
    if not app[CREATES_FIRST_ADMIN]:
        return None
    return await create_first_admin(app[HANDOFF].counsellors)


async def channels_ctx(app: web.Application) -> AsyncIterator[None]:
    channels = app[CHANNELS].values()
    for channel in channels:
        await channel.connect(app[PIPELINE])
    try:
        yield
    finally:
        for channel in channels:
            await channel.disconnect()


async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    """The workers, senders, sweeps and erasers of this process; at shutdown the
    sends under way finish (within SEND_GRACE_S), so none is made twice."""
    await app[PIPELINE].start()
    flusher = asyncio.create_task(flush_forever(app[METRICS], app[REDIS]))
    try:
        yield
    finally:
        await app[PIPELINE].stop(grace_s=SEND_GRACE_S)
        flusher.cancel()  # it flushes once more as it stops
        with contextlib.suppress(asyncio.CancelledError):
            await flusher


async def close_open_requests(app: web.Application) -> None:
    """Shutting down (after the listening sockets closed): long polls and console
    event streams end at once, instead of holding the shutdown for their timeout."""
    for channel in app[CHANNELS].values():
        channel.close_requests()
    app[EVENTS].close_streams()


async def flows_watch_ctx(app: web.Application) -> AsyncIterator[None]:
    """Flows and catalogs edited on disk are live within seconds (an edit with
    errors is refused, and the last good set keeps running)."""
    flows = app[FLOWS]

    async def watch() -> None:
        while True:
            await asyncio.sleep(FLOW_RELOAD_INTERVAL_S)
            try:
                await asyncio.to_thread(flows.reload_if_changed)
            except Exception:
                log.exception("reloading the flows failed")

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


# ---------------------------------------------------------------------- operators' routes


async def healthz(request: web.Request) -> web.Response:
    """Redis, the inbound backlog (503 when stuck), the flows' last refused edit and
    the channels' state; no personal data."""
    app = request.app
    redis = app[REDIS]
    try:
        async with asyncio.timeout(2), redis.pipeline(transaction=False) as pipe:
            # one round trip: an answer is also the proof that Redis is there
            read_backlog(pipe)
            count, oldest = await pipe.execute()
    except (TimeoutError, RedisError, OSError) as exc:
        return web.json_response(
            {"status": "unavailable", "redis": type(exc).__name__},
            status=503,
            headers={"Retry-After": "5"},
        )
    waiting, waited = backlog(count, oldest, app[RUNTIME].conversations.clock())
    stuck = waited > BACKLOG_STUCK_S
    body = {
        "status": "stuck" if stuck else "ok",
        "redis": "ok",
        # her messages stored but not yet processed, and how long the oldest has waited
        "backlog": {"conversations": waiting, "oldest_seconds": round(waited, 1)},
        "flows": app[FLOWS].flowset.version,
        "flows_reload_error": app[FLOWS].reload_error,
        "channels": sorted(app[CHANNELS].keys()),
        "channel_state": {name: c.state for name, c in sorted(app[CHANNELS].items())},
        # a refused or partly broken translation catalog, in the checkers' format
        "catalogs": [str(issue) for issue in app[FLOWS].catalogs.problems] or "ok",
    }
    return web.json_response(body, status=503 if stuck else 200)


async def metrics_view(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics_token
    if token is not None:
        sent = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(sent, f"Bearer {token}".encode()):
            return web.json_response(
                {"error": "send the metrics token: Authorization: Bearer <HELPLINE_METRICS_TOKEN>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    now = request.app[RUNTIME].conversations.clock()
    return web.Response(
        body=await request.app[METRICS].render(request.app[REDIS], now),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


JSON_APIS = ("/console/api/", "/chat/api/")


@web.middleware
async def json_api_errors(request: web.Request, handler) -> web.StreamResponse:
    """An unknown route or a wrong method under the JSON APIs answers as they do,
    `{"error": sentence}` (their OpenAPI document says so), not aiohttp's text."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(JSON_APIS):
            raise
        response = error(exc.status, f"{exc.reason}.")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response


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
