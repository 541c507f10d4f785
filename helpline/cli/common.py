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


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiohttp.access", "httpx", "telegram", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
        yield redis
    finally:
        await redis.aclose()
        if embedded is not None and embedded.process is not None:
            embedded.stop()
