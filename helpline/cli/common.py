"""What every command shares: exit codes, settings and flows loaded or a clear
sentence and an exit code, logging, and Redis for the commands that write to it."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.channels import REGISTRY
from bot.config import ConfigError, Settings, load_settings
from bot.runtime.live import Flows, FlowsInvalid

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def settings_or_exit() -> Settings:
    try:
        return load_settings(channels=REGISTRY.values())
    except ConfigError as exc:
        print("helpline: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def setup_logging(verbose: bool = False, log_format: str = "text", process_index: int = 0) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if log_format == "json":
        from helpline.logs import JsonLines

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLines(process_index))
    for noisy in ("aiohttp.access", "httpx", "telegram", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(MalformedRequests())


class MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (already answered 400) as an error,
    with a traceback and the client's address: one line instead, no address."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        problem = record.exc_info[1] if record.exc_info else None
        if isinstance(problem, HttpProcessingError):
            record.msg, record.args = (
                "refused a malformed HTTP request (400, %s)",
                (type(problem).__name__,),
            )
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def flows_or_exit(settings: Settings):
    try:
        return Flows(settings.flows_dir, settings.locales_dir, settings.retention_days)
    except FlowsInvalid as exc:
        print(
            f"helpline: the flows in {settings.flows_dir} have errors; fix them and start again:",
            file=sys.stderr,
        )
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None


def flows_dir(arg: str | None) -> Path:
    """The flows directory a command works on: its argument, else HELPLINE_FLOWS_DIR."""
    return Path(arg or os.environ.get("HELPLINE_FLOWS_DIR") or "flows")


def locales_dir() -> Path:
    return Path(os.environ.get("HELPLINE_LOCALES_DIR") or "locales")


class StartError(Exception):
    """The app cannot start: one sentence for the operator, no secret in it."""


def cannot_start(sentence: str) -> int:
    print(f"helpline: {sentence}", file=sys.stderr)
    return EXIT_CONFIG


async def starting(step, settings: Settings, listening: bool = False) -> None:
    """Run a start-up step; what can go wrong in it becomes a StartError sentence."""
    import errno

    from redis.exceptions import RedisError

    from bot.store.embedded import EmbeddedRedisError

    where = f"{settings.host}:{settings.port}"
    try:
        await step
    except EmbeddedRedisError as exc:
        raise StartError(str(exc)) from None
    except RedisError as exc:
        target = (
            _without_password(settings.redis_url) if settings.redis_url else "the embedded Redis"
        )
        # redis-py may append its connection pool's description ("No master found
        # for 'x' : {...}"): the operator needs the reason, not that
        detail = str(exc).split(" : ")[0].rstrip(".")
        if len(detail) > 200:
            detail = detail[:200] + "..."
        variables = (
            "REDIS_SENTINELS and REDIS_SENTINEL_MASTER"
            if (settings.redis_url or "").startswith("redis+sentinel://")
            else "REDIS_URL"
        )
        raise StartError(
            f"cannot use Redis at {target} ({type(exc).__name__}: {detail}). "
            f"Check {variables} and that the server runs."
        ) from None
    except OSError as exc:
        if listening and exc.errno == errno.EADDRINUSE:
            raise StartError(
                f"cannot listen on {where}: the port is in use. Is another program (or "
                "another helpline) using it? Set HELPLINE_PORT to another port."
            ) from None
        if listening and exc.errno == errno.EACCES:
            raise StartError(
                f"cannot listen on {where}: permission denied (ports below 1024 need "
                "privileges). Set HELPLINE_PORT to 1024 or more, e.g. 8080."
            ) from None
        if listening and exc.errno == errno.EADDRNOTAVAIL:
            raise StartError(
                f"cannot listen on {where}: {settings.host} is not an address of this "
                "machine. Set HELPLINE_HOST to one of its addresses, or 0.0.0.0."
            ) from None
        if exc.filename:
            raise StartError(f"cannot open {exc.filename}: {exc.strerror}.") from None
        raise StartError(
            f"{'cannot listen on ' + where if listening else 'could not start'}: "
            f"{exc.strerror or exc}."
        ) from None


def _without_password(url: str) -> str:
    """The URL to show: without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def cli_redis(settings: Settings) -> AsyncIterator:
    """Redis for a command run beside the app: REDIS_URL, else the running app's
    embedded server on the same data dir, else one started for the command and
    stopped after it. A server that cannot start is one sentence and exit code 2."""
    from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError
    from helpline.app import open_redis

    embedded = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir, reuse_running=True)
        try:
            url = embedded.start()
        except EmbeddedRedisError as exc:
            print(f"helpline: {exc}", file=sys.stderr)
            raise SystemExit(EXIT_CONFIG) from None
    redis = open_redis(url)
    try:
        try:
            await starting(redis.ping(), settings)
        except StartError as exc:
            raise SystemExit(cannot_start(str(exc))) from None
        yield redis
    finally:
        await redis.aclose()
        if embedded is not None and embedded.process is not None:
            embedded.stop()
