"""End-to-end throughput of the SMS pipeline against a running app, side by side
with a bare baseline, in one run.

- app: `python -m bot.cli run` (its own process, embedded Redis), Twilio replaced
  by a fake REST server on loopback; signed webhooks are sent at increasing
  rates, and we measure how many replies per second reach the fake Twilio
  (inbound accepted -> processed -> reply delivered) and the webhook's
  acknowledgement latency;
- baseline: a minimal aiohttp endpoint (its own process) that parses the same
  form and does one Redis write, driven as hard as it goes.

    python benchmarks/pipeline.py [--quick]
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

import asyncio
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.redis_server import EmbeddedRedis  # noqa: E402
from tests.fakes import FakeTwilio  # noqa: E402

TOKEN = "bench-auth-token"
PEOPLE = 500  # distinct phone numbers: each message belongs to one of these conversations

BASELINE_APP = textwrap.dedent("""
    import sys
    from aiohttp import web
    from redis.asyncio import Redis

    redis = Redis.from_url(sys.argv[2])

    async def inbound(request):
        form = await request.post()
        if not form.get("From") or "Body" not in form:
            return web.Response(status=400)
        await redis.rpush("baseline:" + form["From"], form["Body"])
        return web.Response(text='<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")

    app = web.Application()
    app.router.add_post("/sms/twilio", inbound)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


async def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Sender:
    """Sends signed Twilio webhooks, open-loop at a fixed rate."""

    def __init__(self, base: str, sign: bool):
        self.url = f"{base}/sms/twilio"
        self.sign = sign
        self.validator = RequestValidator(TOKEN)
        self.counter = 0
        self.latencies: list[float] = []
        self.errors = 0

    def request(self) -> tuple[str, dict]:
        self.counter += 1
        fields = {
            "From": f"+4071{self.counter % PEOPLE:07d}",
            "To": "+15005550006",
            "Body": "MENU",
            "MessageSid": f"SM{os.getpid():08d}{self.counter:024d}",
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.sign:
            headers["X-Twilio-Signature"] = self.validator.compute_signature(self.url, fields)
        return urlencode(fields), headers

    async def one(self, session: aiohttp.ClientSession) -> None:
        body, headers = self.request()
        started = time.perf_counter()
        try:
            async with session.post(self.url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    self.errors += 1
        except aiohttp.ClientError:
            self.errors += 1
            return
        self.latencies.append(time.perf_counter() - started)

    async def at_rate(self, rate: float, seconds: float) -> int:
        """Open loop: one request every 1/rate s, whatever the answers' pace."""
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks = []
            start = time.perf_counter()
            sent = 0
            while (elapsed := time.perf_counter() - start) < seconds:
                due = int(elapsed * rate) + 1
                while sent < due:
                    tasks.append(asyncio.create_task(self.one(session)))
                    sent += 1
                await asyncio.sleep(0.002)
            await asyncio.gather(*tasks)
            return sent

    async def flat_out(self, seconds: float, concurrency: int = 64) -> float:
        """Closed loop, as fast as the server answers: requests per second."""
        connector = aiohttp.TCPConnector(limit=concurrency)
        done = 0
        async with aiohttp.ClientSession(connector=connector) as session:
            deadline = time.perf_counter() + seconds

            async def worker():
                nonlocal done
                while time.perf_counter() < deadline:
                    await self.one(session)
                    done += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return done / (time.perf_counter() - start)


async def baseline_rps(seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", appendonly=True)
        url = redis.start()
        port = free_port()
        script = Path(tmp) / "baseline.py"
        script.write_text(BASELINE_APP)
        process = subprocess.Popen([sys.executable, str(script), str(port), url])
        try:
            await wait_healthy(f"http://127.0.0.1:{port}/")
            sender = Sender(f"http://127.0.0.1:{port}", sign=False)
            await sender.flat_out(1.0)  # warm up
            return await sender.flat_out(seconds)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(10)
            redis.stop()


async def app_run(rates: list[int], seconds: float) -> list[dict]:
    twilio = await FakeTwilio(auth_token=TOKEN).start()
    port = free_port()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "HELPLINE_DATA_DIR": str(Path(tmp) / "data"),
            "HELPLINE_PORT": str(port),
            "HELPLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HELPLINE_FLOWS_DIR": str(ROOT / "flows"),
            "HELPLINE_LOCALES_DIR": str(ROOT / "locales"),
            "HELPLINE_SECRET_KEY": "benchmark-secret-key-0123456789",
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": twilio.base_url,
        }
        env.pop("REDIS_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_healthy(f"http://127.0.0.1:{port}/healthz")
            sender = Sender(f"http://127.0.0.1:{port}", sign=True)
            await sender.at_rate(50, 1.0)  # warm up: every conversation past its welcome
            await drain(twilio, sender.counter)
            for rate in rates:
                sender.latencies = []
                before, started = len(twilio.messages), time.perf_counter()
                sent = await sender.at_rate(rate, seconds)
                window = time.perf_counter() - started
                in_window = len(twilio.messages) - before
                caught_up = await drain(twilio, before + sent, timeout=20)
                total = time.perf_counter() - started
                results.append(
                    {
                        "rate": rate,
                        "sent": sent,
                        "ack_p50_ms": percentile(sender.latencies, 0.5) * 1e3,
                        "ack_p99_ms": percentile(sender.latencies, 0.99) * 1e3,
                        "errors": sender.errors,
                        "delivered_per_s": in_window / window,
                        "all_delivered_after_s": total if caught_up else None,
                        "kept_up": caught_up and total < seconds + 1.0,
                    }
                )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(15)
            await twilio.close()
    return results


async def drain(twilio: FakeTwilio, count: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while len(twilio.messages) < count:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def main(quick: bool) -> None:
    seconds = 3.0 if quick else 6.0
    baseline = await baseline_rps(seconds)
    print(f"baseline (parse the form, one Redis write): {baseline:.0f} requests/s")
    rates = [25, 50, 100, 150, 200, 300, 400, 600]
    results = await app_run(rates, seconds)
    print(
        f"{'offered/s':>10}{'delivered/s':>13}{'kept up':>9}{'ack p50':>10}{'ack p99':>10}{'errors':>8}"
    )
    for r in results:
        print(
            f"{r['rate']:>10}{r['delivered_per_s']:>13.0f}{'yes' if r['kept_up'] else 'no':>9}"
            f"{r['ack_p50_ms']:>8.1f}ms{r['ack_p99_ms']:>8.1f}ms{r['errors']:>8}"
        )
    sustained = max((r["rate"] for r in results if r["kept_up"]), default=0)
    half = [r for r in results if r["rate"] <= sustained / 2] or results[:1]
    p99_half = half[-1]["ack_p99_ms"]
    print(
        f"sustained end-to-end throughput (every reply delivered within the run): {sustained} messages/s"
    )
    print(f"throughput_vs_baseline={sustained / baseline:.2f}")
    print(f"sustained_msgs_per_s={sustained}")
    print(f"baseline_rps={baseline:.0f}")
    print(f"ack_p99_ms_at_half_rate={p99_half:.1f}")


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv))
