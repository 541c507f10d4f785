"""High availability on a Sentinel group of real servers: one primary, one
replica and three Sentinels, all from the embedded server's binary. A real
`helpline run` takes SMS under load; the primary is killed (SIGKILL); the
Sentinels promote the replica, the app finds it by itself, and every message
acknowledged with 200, before or after the failover, is in her transcript."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from bot.config import ConfigError, load_settings
from bot.store import keys
from bot.store.embedded import redis_server_binary
from bot.store.privacy import Privacy
from bot.store.vault import Vault
from tests.bot.pipeline.test_crash import send_sms
from tests.conftest import FLOWS, LOCALES, ROOT, free_port, wait_healthy
from tests.fakes import FakeTwilio

NAME = "helpline-primary"
SECRET = "sentinel-test-secret-key-0123456789"


class Group:
    """A primary, a replica and three Sentinels on localhost ports, in `folder`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.binary = redis_server_binary()
        self.primary_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[str, subprocess.Popen] = {}

    def _server(self, name: str, port: int, *extra: str) -> None:
        folder = self.folder / name
        folder.mkdir(parents=True)
        self.processes[name] = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(folder),
                "--appendonly",
                "yes",
                "--save",
                "",
                *extra,
            ],  # fmt: skip
            stdout=(folder / "log").open("w"),
            stderr=subprocess.STDOUT,
        )

    def _sentinel(self, index: int, port: int) -> None:
        folder = self.folder / f"sentinel{index}"
        folder.mkdir(parents=True)
        conf = folder / "sentinel.conf"  # Sentinels rewrite their file: one each
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {NAME} 127.0.0.1 {self.primary_port} 2\n"
            f"sentinel down-after-milliseconds {NAME} 1000\n"
            f"sentinel failover-timeout {NAME} 4000\n"
        )
        self.processes[f"sentinel{index}"] = subprocess.Popen(
            [self.binary, str(conf), "--sentinel"],
            stdout=(folder / "log").open("w"),
            stderr=subprocess.STDOUT,
        )

    async def start(self) -> None:
        self._server("primary", self.primary_port)
        self._server(
            "replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port)
        )
        for index, port in enumerate(self.sentinel_ports):
            self._sentinel(index, port)
        await self._until(self.primary, lambda found: found == ("127.0.0.1", self.primary_port))
        replica = Redis(port=self.replica_port)
        try:  # the replica has synced, and the Sentinels know it
            await self._until(
                lambda: replica.info("replication"),
                lambda info: info.get("master_link_status") == "up",
            )
        finally:
            await replica.aclose()

    async def primary(self) -> tuple[str, int] | None:
        group = Sentinel([("127.0.0.1", p) for p in self.sentinel_ports], socket_timeout=1)
        try:
            return await group.discover_master(NAME)
        except Exception:
            return None
        finally:
            for sentinel in group.sentinels:
                await sentinel.aclose()

    async def _until(self, read, check=bool, seconds: float = 30.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = await read()
            if check(found):
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"the Sentinel group did not get there; logs in {self.folder}")

    def kill_primary(self) -> None:
        self.processes["primary"].send_signal(signal.SIGKILL)
        self.processes["primary"].wait()

    async def promoted(self) -> tuple[str, int]:
        return await self._until(
            self.primary, lambda found: found == ("127.0.0.1", self.replica_port)
        )

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    def env(self) -> dict[str, str]:
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
            "REDIS_SENTINEL_MASTER": NAME,
        }


def test_sentinel_settings_are_read_and_checked():
    base = {"HELPLINE_FLOWS_DIR": str(FLOWS), "HELPLINE_LOCALES_DIR": str(LOCALES)}
    settings = load_settings(
        {
            **base,
            "REDIS_SENTINELS": "s1:26379, s2:26379,s3:26379",
            "REDIS_SENTINEL_MASTER": "mymaster",
        }
    )
    assert settings.redis_url == "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster"
    # instead of REDIS_URL (docker-compose.yml sets one for its own server)
    both = {**base, "REDIS_URL": "redis://redis:6379/0", "REDIS_SENTINELS": "s1:1"}
    assert load_settings({**both, "REDIS_SENTINEL_MASTER": "m"}).redis_url.startswith("redis+")
    for bad in (
        {"REDIS_SENTINELS": "s1", "REDIS_SENTINEL_MASTER": "m"},
        {"REDIS_SENTINELS": "s1:26379"},
        {"REDIS_SENTINELS": "", "REDIS_SENTINEL_MASTER": "m"},
    ):
        with pytest.raises(ConfigError) as error:
            load_settings({**base, **bad})
        assert len(error.value.problems) == 1, (bad, error.value.problems)
        assert "REDIS_" in error.value.problems[0]


async def test_a_failover_loses_no_acknowledged_message(tmp_path):
    group = Group(tmp_path / "redis")
    twilio = await FakeTwilio().start()
    port = free_port()
    env = {
        **os.environ,
        **group.env(),
        "HELPLINE_DATA_DIR": str(tmp_path / "data"),
        "HELPLINE_PORT": str(port),
        "HELPLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HELPLINE_FLOWS_DIR": str(FLOWS),
        "HELPLINE_LOCALES_DIR": str(LOCALES),
        "HELPLINE_SECRET_KEY": SECRET,
        **twilio.env(),
    }
    env.pop("REDIS_URL", None)
    log = tmp_path / "app.log"
    app = None
    people = [f"+4477008{i:05d}" for i in range(20)]
    acknowledged: list[tuple[str, str]] = []
    refused = 0
    try:
        await group.start()
        app = subprocess.Popen(
            [sys.executable, "-m", "helpline.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        await wait_healthy(port, app, timeout=30, log=log)
        phase = {"killed_at": None}

        async def person(session, index: int, phone: str) -> None:
            nonlocal refused
            for n in range(10_000):
                if phase["killed_at"] is not None and time.monotonic() > phase["killed_at"] + 12:
                    return
                body = f"note {index}-{n}"
                sid = f"SM{index:04d}{n:028d}"
                try:
                    status = await send_sms(session, port, phone, body, sid)
                except aiohttp.ClientError:
                    status = 0
                if status == 200:
                    acknowledged.append((phone, body))
                else:
                    refused += 1
                await asyncio.sleep(0.05)

        async with aiohttp.ClientSession() as session:
            load = [asyncio.create_task(person(session, i, p)) for i, p in enumerate(people)]
            # Under load: the app answers (it may still be warming up for a few
            # seconds on a busy machine), then the primary is killed.
            for _ in range(300):
                if len(acknowledged) >= 60:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            before = len(acknowledged)
            group.kill_primary()  # under load
            phase["killed_at"] = time.monotonic()
            started = time.monotonic()
            await group.promoted()
            promoted_after = time.monotonic() - started
            await asyncio.gather(*load)
        after = len(acknowledged) - before
        # it went on after the failover
        assert before >= 20 and after >= 20, (before, after, refused)

        # Every acknowledged message is in her transcript on the promoted primary.
        redis = Redis(port=group.replica_port)
        privacy = Privacy(SECRET.encode())
        vault = Vault(redis, privacy, 60)

        async def transcripts() -> dict[str, set[str]]:
            found = {}
            for phone in people:
                pid = privacy.pid("sms", phone)
                key = await vault.get(pid)
                entries = await redis.lrange(keys.transcript(pid), 0, -1) if key else []
                opened = (json.loads(key.open(e)) for e in entries)
                found[phone] = {e["text"] for e in opened if e["from"] == "user"}
            return found

        deadline = time.monotonic() + 30
        while True:  # the app works through what it acknowledged
            stored = await transcripts()
            missing = [(p, b) for p, b in acknowledged if b not in stored[p]]
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await redis.aclose()
        print(
            f"\nsentinel failover: acknowledged={len(acknowledged)} (before the kill {before}, "
            f"after {after}), refused while failing over={refused}, "
            f"promoted after {promoted_after:.1f} s, acknowledged but lost={len(missing)}"
        )
        assert missing == [], f"{len(missing)} acknowledged messages lost: {missing[:5]}"
    finally:
        if app is not None and app.poll() is None:
            app.send_signal(signal.SIGINT)
            try:
                app.wait(15)
            except subprocess.TimeoutExpired:
                app.kill()
        group.stop()
        await twilio.close()
