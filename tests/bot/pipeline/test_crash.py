"""Crash safety of a real `helpline run` process: kill -9 after acknowledging
messages, restart, and every acknowledged message gets its reply exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from redis.asyncio import Redis
from twilio.request_validator import RequestValidator

from bot.store import keys
from tests.conftest import FLOWS, LOCALES, ROOT, free_port, wait_healthy
from tests.fakes import SMS_SENDER, WHATSAPP_SENDER, FakeTwilio


class App:
    """`python -m helpline.cli run` as a child process."""

    def __init__(self, data_dir: Path, port: int, twilio: FakeTwilio):
        self.port = port
        self.env = {
            **os.environ,
            "HELPLINE_DATA_DIR": str(data_dir),
            "HELPLINE_PORT": str(port),
            "HELPLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HELPLINE_FLOWS_DIR": str(FLOWS),
            "HELPLINE_LOCALES_DIR": str(LOCALES),
            "HELPLINE_SECRET_KEY": "crash-test-secret-key-0123456789",
            **twilio.env(),
        }
        self.env.pop("REDIS_URL", None)
        self.process: subprocess.Popen | None = None
        self.log = data_dir.parent / "app.log"  # its stderr: what went wrong, if anything

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "helpline.cli", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("a"),
        )
        await self.healthy()

    async def healthy(self) -> None:
        await wait_healthy(self.port)

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def send_sms(
    session: aiohttp.ClientSession,
    port: int,
    sender: str,
    body: str,
    sid: str,
    seen: list[tuple[int, str | None]] | None = None,
) -> int:
    """One signed inbound SMS (or WhatsApp message, from a `whatsapp:` sender),
    as Twilio posts it; its status (and Retry-After, appended to `seen` when given)."""
    url = f"http://127.0.0.1:{port}/sms/twilio"
    to = WHATSAPP_SENDER if sender.startswith("whatsapp:") else SMS_SENDER
    fields = {"From": sender, "To": to, "Body": body, "MessageSid": sid}
    signature = RequestValidator("test-auth-token").compute_signature(url, fields)
    async with session.post(
        url,
        data=urlencode(fields),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    ) as response:
        if seen is not None:
            seen.append((response.status, response.headers.get("Retry-After")))
        return response.status


def redis_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "redis.pid"
    return int(pid_file.read_text()) if pid_file.exists() else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}").exists()
        and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    )


async def test_kill_9_loses_no_acknowledged_message(tmp_path):
    twilio = await FakeTwilio().start()
    twilio.failures.add("Messages", 503, count=10_000)  # Twilio is down while we crash
    app = App(tmp_path / "data", free_port(), twilio)
    # UK numbers (the replies are in English), half of them on WhatsApp
    people = [("whatsapp:" if i % 2 else "") + f"+4477009{i:05d}" for i in range(30)]
    try:
        await app.start()
        async with aiohttp.ClientSession() as session:
            first = await asyncio.gather(
                *(
                    send_sms(session, app.port, phone, "hi", f"SMa{i:031d}")
                    for i, phone in enumerate(people)
                )
            )
            assert first == [200] * len(people)
            for _ in range(200):  # replies are being tried (and failing) ...
                if twilio.attempts >= 10:
                    break
                await asyncio.sleep(0.05)
            assert twilio.attempts >= 10
            second = await asyncio.gather(
                *(
                    send_sms(session, app.port, phone, "1", f"SMb{i:031d}")
                    for i, phone in enumerate(people)
                )
            )
            assert second == [200] * len(people)
        redis_before = redis_pid(tmp_path / "data")
        app.kill9()  # ... and more were just acknowledged, unprocessed
        for _ in range(100):  # the embedded Redis follows its parent, flushing its append-only file
            if not alive(redis_before):
                break
            await asyncio.sleep(0.05)
        assert not alive(redis_before), "redis-server outlived the killed app"
        assert twilio.messages == []
        twilio.failures.plan.clear()
        await app.start()
        await twilio.wait_for(2 * len(people), timeout=60)
        await asyncio.sleep(1.0)  # nothing more should come
        for phone in people:
            replies = twilio.to(phone)
            assert len(replies) == 2, (phone, replies)
            assert "confidential" in replies[0] and replies[1].startswith("How can I help you?")
    finally:
        app.stop()
        await twilio.close()


async def test_ctrl_c_stops_redis_and_leaves_no_socket(tmp_path):
    twilio = await FakeTwilio().start()
    app = App(tmp_path / "data", free_port(), twilio)
    try:
        await app.start()
        pid = redis_pid(tmp_path / "data")
        assert pid and alive(pid)
        app.stop()
        assert app.process.returncode == 0
        for _ in range(100):
            if not alive(pid):
                break
            await asyncio.sleep(0.05)
        assert not alive(pid)
        assert not (tmp_path / "data" / "redis.sock").exists()
        await app.start()  # and it starts again on the same data dir
    finally:
        app.stop()
        await twilio.close()


def app_children(pid: int) -> list[int]:
    """The `helpline run` processes started by process `pid` (not its Redis)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"helpline.cli" in Path(f"/proc/{child}/cmdline").read_bytes() and alive(int(child))
    ]


async def test_several_processes_serve_one_port_and_one_that_dies_is_replaced(tmp_path):
    twilio = await FakeTwilio().start()
    app = App(tmp_path / "data", free_port(), twilio)
    app.env["HELPLINE_PROCESSES"] = "2"
    people = [("whatsapp:" if i % 2 else "") + f"+4477008{i:05d}" for i in range(20)]
    try:
        await app.start()
        workers = app_children(app.process.pid)
        assert len(workers) == 2
        async with aiohttp.ClientSession() as session:
            statuses = await asyncio.gather(
                *(
                    send_sms(session, app.port, phone, "hi", f"SMc{i:031d}")
                    for i, phone in enumerate(people)
                )
            )
            assert statuses == [200] * len(people)
            await twilio.wait_for(len(people), timeout=30)
            # Killed while idle: a reply sent but not yet recorded would go out twice
            # (delivery is at least once; the test above covers a kill mid-work).
            redis = Redis(unix_socket_path=str(tmp_path / "data" / "redis.sock"))
            for _ in range(100):
                if not await redis.zcard(keys.WORK_PENDING) and not await redis.zcard(
                    keys.send_pending("sms")
                ):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the replies were never all recorded as sent")
            await redis.aclose()
            os.kill(workers[0], signal.SIGKILL)
            for _ in range(100):  # started again
                replaced = app_children(app.process.pid)
                if len(replaced) == 2 and workers[0] not in replaced:
                    break
                await asyncio.sleep(0.1)
            assert len(replaced) == 2 and workers[0] not in replaced
            await app.healthy()
            for i, phone in enumerate(people):
                for _ in range(50):  # as Twilio retries a webhook whose connection broke
                    try:
                        if await send_sms(session, app.port, phone, "1", f"SMd{i:031d}") == 200:
                            break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
        await twilio.wait_for(2 * len(people), timeout=30)
        await asyncio.sleep(0.5)
        for phone in people:
            replies = twilio.to(phone)
            assert len(replies) == 2 and replies[1].startswith("How can I help you?"), replies
        redis_server = redis_pid(tmp_path / "data")
        app.stop()
        assert app.process.returncode == 0
        assert not any(alive(pid) for pid in [*replaced, redis_server])
    finally:
        app.stop()
        await twilio.close()


async def test_sigterm_lets_sends_under_way_finish_and_sends_nothing_twice(tmp_path):
    """A routine stop while Twilio is slow and web pages hold long polls: it exits
    within 5 s, and after the restart nobody gets a reply twice."""
    twilio = await FakeTwilio().start()
    twilio.delay = 1.5  # a slow provider: every send is under way for 1.5 s
    app = App(tmp_path / "data", free_port(), twilio)
    app.env["HELPLINE_TRUSTED_PROXIES"] = "127.0.0.1"  # 30 pages, 30 people's addresses
    people = [f"+4477007{i:05d}" for i in range(20)]
    try:
        await app.start()
        async with aiohttp.ClientSession() as session:
            polls = [
                asyncio.ensure_future(
                    session.get(
                        f"http://127.0.0.1:{app.port}/chat/api/messages",
                        params={"session": f"long-poll-session-{i:04d}", "after": 0, "wait": "1"},
                        headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
                    )
                )
                for i in range(30)
            ]
            statuses = await asyncio.gather(
                *(
                    send_sms(session, app.port, phone, "hi", f"SMd{i:031d}")
                    for i, phone in enumerate(people)
                )
            )
            assert statuses == [200] * len(people)
            for _ in range(200):  # the replies are on their way to Twilio
                if twilio.attempts >= len(people):
                    break
                await asyncio.sleep(0.02)
            assert twilio.attempts >= len(people) and not twilio.messages
            started = asyncio.get_running_loop().time()
            app.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(app.process.wait, 15)
            took = asyncio.get_running_loop().time() - started
            for poll in polls:  # every long poll was answered, not left hanging
                assert (await poll).status == 200
        assert app.process.returncode == 0
        assert took < 5.0, f"the stop took {took:.1f} s"
        assert len(twilio.messages) == len(people)  # the sends under way were finished
        twilio.delay = 0
        await app.start()
        await asyncio.sleep(2.0)  # anything left over would be sent now
        for phone in people:
            replies = twilio.to(phone)
            assert len(replies) == 1 and "confidential" in replies[0], (phone, replies)
    finally:
        app.stop()
        await twilio.close()


async def test_a_killed_embedded_redis_is_started_again_and_nothing_acknowledged_is_lost(
    tmp_path,
):
    twilio = await FakeTwilio().start()
    app = App(tmp_path / "data", free_port(), twilio)
    people = [f"+4477006{i:05d}" for i in range(40)]
    seen: list[tuple[int, str | None]] = []

    async def deliver(session, i: int, phone: str) -> None:
        """As a provider would: send until acknowledged (200)."""
        for _ in range(200):
            if await send_sms(session, app.port, phone, "hi", f"SMe{i:031d}", seen) == 200:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{phone} never acknowledged")

    try:
        await app.start()
        app_pid = app.process.pid
        async with aiohttp.ClientSession() as session:
            first = asyncio.gather(*(deliver(session, i, p) for i, p in enumerate(people[:20])))
            await asyncio.sleep(0.05)  # under way
            before = redis_pid(tmp_path / "data")
            os.kill(before, signal.SIGKILL)  # mid-load
            # Down: /healthz says so at once (or the server is back already)
            async with session.get(f"http://127.0.0.1:{app.port}/healthz") as response:
                seen.append((response.status, response.headers.get("Retry-After", "5")))
            await first
            await asyncio.gather(*(deliver(session, i + 20, p) for i, p in enumerate(people[20:])))
        await app.healthy()
        assert "the embedded Redis runs again" in app.log.read_text()
        after = redis_pid(tmp_path / "data")
        assert after != before and alive(after)
        assert app.process.poll() is None and app.process.pid == app_pid  # the app lived on
        assert {status for status, _ in seen} <= {200, 503}
        assert all(retry == "5" for status, retry in seen if status == 503)
        await twilio.wait_for(len(people), timeout=60)
        await asyncio.sleep(1.0)  # nothing more should come
        for phone in people:
            replies = twilio.to(phone)
            assert len(replies) == 1 and "confidential" in replies[0], (phone, replies)
    except BaseException:
        print(app.log.read_text()[-4000:], "exit code:", app.process.poll())  # for the report
        raise
    finally:
        app.stop()
        await twilio.close()
