"""The attacks of issue 14, run against a real `helpline run` process from outside.

Each run starts the app in its own process (embedded Redis, a fake Twilio on
loopback, HELPLINE_TRUSTED_PROXIES=127.0.0.1 so that X-Forwarded-For can play
many clients), attacks it over HTTP as an anonymous client would, and measures
what a person texting or a counsellor would observe:

- login_flood: 40 sign-ins at once from 40 addresses (each a ~100 ms argon2
  check) while /healthz and a signed SMS webhook are timed;
- wrong_passwords: 150 wrong passwords at once from one address on one
  account: how many were checked;
- risk_flood: 458 messages "he will kill me" at once from one address, each in
  a new web chat session: how many entered the counsellors' queue;
- session_flood: 2,000 messages of 4 KB from one session: how many accepted,
  and how long its transcript grew;
- hostile: malformed, deeply nested and huge-number bodies on every route:
  how many 5xx;
- pool: 300 people start a web chat at once (300 addresses): replies lost.

    python benchmarks/faults.py

Prints one `name=value` line per figure; the issue's "before" figures are in
the table of README.md's notes (issue 14).
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import asyncio
import contextlib
import json
import secrets
import signal
import subprocess
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(HERE).parent
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline import free_port, wait_healthy  # noqa: E402
from tests.fakes import FakeTwilio  # noqa: E402  (it can answer slowly: .delay)

TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "f" * 32
PASSWORD = "a long enough benchmark password"
RISKY = "he says he will kill me tonight"


class App:
    def __init__(self, base: str, env: dict[str, str], process: Process, twilio: FakeTwilio):
        self.base = base
        self.env = env
        self.process = process
        self.twilio = twilio
        self.validator = RequestValidator(TOKEN)

    def signed_sms(self, sender: str, body: str) -> tuple[dict, dict]:
        fields = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": ACCOUNT,
            "From": sender,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        signature = self.validator.compute_signature(f"{self.base}/sms/twilio", fields)
        return fields, {"X-Twilio-Signature": signature}


class Process:
    """`helpline run` as its own process on a data dir, its stderr in a file."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "helpline.cli", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("a"),
        )
        await wait_healthy(f"http://127.0.0.1:{self.env['HELPLINE_PORT']}/healthz")

    async def stop(self) -> float:
        """SIGTERM; the seconds it took to exit."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, 30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


@asynccontextmanager
async def running_app():
    twilio = await FakeTwilio(ACCOUNT, TOKEN).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "HELPLINE_DATA_DIR": str(Path(tmp) / "data"),
            "HELPLINE_PORT": str(port),
            "HELPLINE_PUBLIC_URL": base,
            "HELPLINE_FLOWS_DIR": str(ROOT / "flows"),
            "HELPLINE_LOCALES_DIR": str(ROOT / "locales"),
            "HELPLINE_SECRET_KEY": "benchmark-secret-key-0123456789",
            "HELPLINE_TRUSTED_PROXIES": "127.0.0.1",
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": twilio.base_url,
        }
        env.pop("REDIS_URL", None)
        for user, role in (("sue", "supervisor"), ("ana", "counsellor")):
            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "helpline.cli", "counsellor", "add", user, "--role", role],
                input=PASSWORD + "\n",
                text=True,
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        app = App(base, env, Process(env, Path(tmp) / "app.log"), twilio)
        await app.process.start()
        try:
            yield app
        finally:
            if app.process.process and app.process.process.poll() is None:
                await app.process.stop()
            tracebacks = app.process.log.read_text().count("Traceback")
            if tracebacks:
                print(f"# the app logged {tracebacks} traceback(s)", file=sys.stderr)
            await twilio.close()


async def timed(coroutine) -> tuple[float, object]:
    started = time.perf_counter()
    result = await coroutine
    return (time.perf_counter() - started) * 1000, result


async def login_flood(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    async def sign_in(i: int) -> int:
        async with http.post(
            f"{app.base}/console/api/login",
            json={"username": "ana", "password": "wrong password"},
            headers={"X-Forwarded-For": f"203.0.{i // 250}.{i % 250 + 1}"},
        ) as response:
            return response.status

    async def health() -> int:
        async with http.get(f"{app.base}/healthz") as response:
            return response.status

    async def sms() -> int:
        fields, headers = app.signed_sms("+447700900123", "hello")
        async with http.post(f"{app.base}/sms/twilio", data=fields, headers=headers) as response:
            return response.status

    flood = [asyncio.ensure_future(sign_in(i)) for i in range(40)]
    await asyncio.sleep(0.05)
    health_ms: list[float] = []
    sms_ms: list[float] = []
    while not all(f.done() for f in flood):
        health_ms.append((await timed(health()))[0])
        sms_ms.append((await timed(sms()))[0])
    await asyncio.gather(*flood)
    health_ms.sort()
    return {
        "login_flood_healthz_median_ms": round(health_ms[len(health_ms) // 2], 1),
        "login_flood_healthz_max_ms": round(health_ms[-1], 1),
        "login_flood_sms_ack_max_ms": round(max(sms_ms), 1),
    }


async def wrong_passwords(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    async def sign_in() -> int:
        async with http.post(
            f"{app.base}/console/api/login",
            json={"username": "sue", "password": "wrong password"},
            headers={"X-Forwarded-For": "198.51.100.66"},
        ) as response:
            return response.status

    statuses = await asyncio.gather(*(sign_in() for _ in range(150)))
    async with http.post(
        f"{app.base}/console/api/login",
        json={"username": "sue", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.67"},
    ) as response:
        sue_elsewhere = response.status
    return {
        "wrong_passwords_checked_of_150": statuses.count(401),
        "wrong_passwords_owner_elsewhere_status": sue_elsewhere,
    }


async def queue_length(app: App, http: aiohttp.ClientSession) -> int:
    async with http.post(
        f"{app.base}/console/api/login",
        json={"username": "sue", "password": PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.200"},
    ) as response:
        assert response.status == 200, await response.text()
    async with http.get(f"{app.base}/console/api/queue") as response:
        assert response.status == 200, await response.text()
        return len(await response.json())


async def risk_flood(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    async def post() -> int:
        async with http.post(
            f"{app.base}/chat/api/messages",
            json={"session": secrets.token_hex(12), "text": RISKY},
            headers={"X-Forwarded-For": "198.51.100.99"},
        ) as response:
            return response.status

    before = await queue_length(app, http)
    statuses = await asyncio.gather(*(post() for _ in range(458)))
    await asyncio.sleep(3)  # processing
    return {
        "risk_flood_accepted_of_458": statuses.count(200),
        "risk_flood_queue_entries": await queue_length(app, http) - before,
    }


async def session_flood(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    session = secrets.token_hex(12)
    text = "x" * 4000
    accepted = 0
    started = time.monotonic()
    for _ in range(2000):
        async with http.post(
            f"{app.base}/chat/api/messages",
            json={"session": session, "text": text},
            headers={"X-Forwarded-For": "198.51.100.77"},
        ) as response:
            accepted += response.status == 200
    return {
        "session_flood_accepted_of_2000": accepted,
        "session_flood_seconds": round(time.monotonic() - started, 1),
    }


def hostile_inputs(app: App) -> list[tuple[str, str, dict]]:
    nested = "[" * 100_000 + "]" * 100_000
    huge = "9" * 5000
    cases: list[tuple[str, str, dict]] = []
    for path in ("/console/api/login", "/chat/api/messages", "/chat/api/exit", "/telegram/webhook"):
        for body in (
            nested,
            f'{{"session": "{"a" * 20}", "text": {huge}}}',
            '{"username": 1e400, "password": -1e20}',
            "{",
            "\xff\xfe",
            "x" * 200_000,
            "[]",
            '{"session": "\\ud800aaaaaaaaaaaaaaaaaa", "text": "\\u0000"}',
        ):
            cases.append(("POST", path, {"data": body.encode("utf-8", "surrogatepass")}))
    for query in (
        "after=99999999999999999999999",
        "after=-5",
        f"after={huge}",
        "session=%00",
        "wait=1&after=abc",
    ):
        cases.append(("GET", f"/chat/api/messages?session={'b' * 20}&{query}", {}))
    fields, headers = app.signed_sms("+447700900124", "hello")
    for extra in ({"NumMedia": "abc"}, {"NumMedia": huge}, {"Body": "\x00"}):
        bad = {**fields, **extra}
        signature = app.validator.compute_signature(f"{app.base}/sms/twilio", bad)
        cases.append(
            ("POST", "/sms/twilio", {"data": bad, "headers": {"X-Twilio-Signature": signature}})
        )
    return cases


async def hostile(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    cases = hostile_inputs(app)
    server_errors = 0
    for method, path, kwargs in cases:
        async with http.request(method, f"{app.base}{path}", **kwargs) as response:
            server_errors += response.status >= 500
            if response.status >= 500:
                print(f"# {response.status} on {method} {path[:60]}", file=sys.stderr)
    return {"hostile_inputs": len(cases), "hostile_5xx": server_errors}


async def pool(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    async def person(i: int) -> bool:
        session = secrets.token_hex(12)
        headers = {"X-Forwarded-For": f"10.{i // 250}.{i % 250}.1"}
        async with http.post(
            f"{app.base}/chat/api/messages",
            json={"session": session, "start": True},
            headers=headers,
        ) as response:
            if response.status != 200:
                return False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with http.get(
                f"{app.base}/chat/api/messages",
                params={"session": session, "after": 0, "wait": "1"},
                headers=headers,
            ) as response:
                if response.status == 200 and (await response.json())["messages"]:
                    return True
        return False

    answered = await asyncio.gather(*(person(i) for i in range(300)))
    return {"pool_people": 300, "pool_replies_lost": answered.count(False)}


async def send_until_acknowledged(app: App, http, sender: str, statuses: list[int]) -> None:
    """One inbound SMS, sent again (same MessageSid) until acknowledged."""
    fields, headers = app.signed_sms(sender, "hi")
    for _ in range(300):
        try:
            async with http.post(
                f"{app.base}/sms/twilio", data=fields, headers=headers
            ) as response:
                statuses.append(response.status)
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            statuses.append(0)
        await asyncio.sleep(0.1)


async def until(done, timeout: float, every: float = 0.05) -> None:
    """Return when `done()` is true, or after `timeout` seconds."""
    for _ in range(int(timeout / every)):
        if done():
            return
        await asyncio.sleep(every)


def replies_per_person(app: App, people: list[str]) -> tuple[int, int]:
    """(people without their welcome, people who got it more than once)"""
    missing = duplicated = 0
    for phone in people:
        welcomes = [body for body in app.twilio.to(phone) if "confidential" in body]
        missing += not welcomes
        duplicated += len(welcomes) > 1
    return missing, duplicated


async def redis_killed(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    """kill -9 of the embedded redis-server while 200 people's messages arrive."""
    people = [f"+4477005{i:05d}" for i in range(200)]
    statuses: list[int] = []
    load = asyncio.ensure_future(
        asyncio.gather(*(send_until_acknowledged(app, http, p, statuses) for p in people))
    )
    await asyncio.sleep(0.3)
    pid = int((Path(app.env["HELPLINE_DATA_DIR"]) / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    while True:
        async with http.get(f"{app.base}/healthz") as response:
            if response.status == 200:
                break
        await asyncio.sleep(0.05)
    back = time.monotonic() - killed
    await load
    await until(lambda: not replies_per_person(app, people)[0], 60)
    await asyncio.sleep(1.0)
    missing, duplicated = replies_per_person(app, people)
    return {
        "redis_kill_seconds_down": round(back, 2),
        "redis_kill_app_restarted_by_hand": int(app.process.process.poll() is not None),
        "redis_kill_answers_other_than_200_503": sum(s not in (200, 503) for s in statuses),
        "redis_kill_acknowledged_unanswered": missing,
        "redis_kill_answered_twice": duplicated,
    }


async def sigterm(app: App, http: aiohttp.ClientSession) -> dict[str, float]:
    """A routine restart while Twilio takes 1.5 s a message and 30 pages long-poll."""
    people = [f"+4477004{i:05d}" for i in range(40)]
    app.twilio.delay = 1.5
    polls = [
        asyncio.ensure_future(
            http.get(
                f"{app.base}/chat/api/messages",
                params={"session": f"bench-long-poll-{i:04d}", "after": 0, "wait": "1"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
        )
        for i in range(30)
    ]
    statuses: list[int] = []
    await asyncio.gather(*(send_until_acknowledged(app, http, p, statuses) for p in people))
    await until(lambda: app.twilio.attempts >= len(people), 30)
    took = await app.process.stop()
    for poll in polls:
        with contextlib.suppress(aiohttp.ClientError):
            (await poll).release()
    app.twilio.delay = 0
    await app.process.start()
    await until(lambda: not replies_per_person(app, people)[0], 60)
    await asyncio.sleep(1.0)
    missing, duplicated = replies_per_person(app, people)
    return {
        "sigterm_exit_seconds": round(took, 2),
        "sigterm_unanswered": missing,
        "sigterm_answered_twice": duplicated,
    }


async def main() -> None:
    figures: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=1000)
    runs = (login_flood, wrong_passwords, risk_flood, session_flood, hostile, pool)
    for run in (*runs, redis_killed, sigterm):
        async with (
            running_app() as app,
            aiohttp.ClientSession(
                connector=connector,
                connector_owner=False,
                cookie_jar=aiohttp.CookieJar(unsafe=True),  # the console's cookie, on 127.0.0.1
            ) as http,
        ):
            result = await run(app, http)
            print(f"# {run.__name__}: {json.dumps(result)}", flush=True)
            figures.update(result)
    await connector.close()
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    asyncio.run(main())
