"""End-to-end throughput of the SMS pipeline against a running app, side by side
with a bare baseline, in one run.

- app: `python -m helpline.cli run` (its own process, embedded Redis with its
  append-only file), Twilio replaced by a fake REST server on loopback; signed
  webhooks are sent at increasing rates (open loop), and we measure how many
  replies per second reach the fake Twilio (inbound accepted -> processed ->
  reply delivered), whether every reply arrived within the run, and the
  webhook's acknowledgement latency;
- baseline: a minimal aiohttp endpoint (its own process, the same embedded
  Redis with its append-only file) that parses the same form and does one Redis
  write, driven as hard as it goes by the same load generator.

Both sides are also charged the CPU they used (their process and its Redis,
from /proc), per message: a figure that does not depend on how busy the
machine's other core was.

    python benchmarks/pipeline.py [--quick]
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import asyncio
import itertools
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(HERE).parent
sys.path.insert(0, str(ROOT))

from benchmarks.loopback import LeanFakeTwilio, LoadGenerator  # noqa: E402
from bot.store.embedded import EmbeddedRedis  # noqa: E402

TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "b" * 32
PEOPLE = 500  # distinct phone numbers: each message belongs to one of these conversations
RATES = [100, 200, 400, 600, 800, 1000, 1200, 1400, 1700, 2000, 2400, 2800, 3200, 3600]

BASELINE_APP = textwrap.dedent("""
    import base64, sys
    import aiohttp
    from aiohttp import web
    from redis.asyncio import Redis

    redis = Redis.from_url(sys.argv[2])
    twilio = sys.argv[3] if len(sys.argv) > 3 else None  # the floor: also send a reply

    async def inbound(request):
        form = await request.post()
        if not form.get("From") or "Body" not in form:
            return web.Response(status=400)
        await redis.rpush("baseline:" + form["From"], form["Body"])
        if twilio:
            reply = {"To": form["From"], "From": form["To"], "Body": "How can I help you?"}
            async with request.app["client"].post(twilio, data=reply, headers=AUTH) as response:
                await response.read()
        return web.Response(text='<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")

    async def client(app):
        app["client"] = aiohttp.ClientSession()
        yield
        await app["client"].close()

    AUTH = {"Authorization": "Basic " + base64.b64encode(sys.argv[4].encode()).decode()} if twilio else {}
    app = web.Application()
    app.cleanup_ctx.append(client)
    app.router.add_post("/sms/twilio", inbound)
    app.router.add_get("/healthz", lambda request: web.Response(text="ok"))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` and its children still running (its Redis)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return total + sum(cpu_seconds(child) for child in children)


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


class Requests:
    """Signed inbound SMS webhooks, built ahead of the timed window (Twilio signs
    them on its own machines)."""

    def __init__(self, generator: LoadGenerator, url: str):
        self.generator = generator
        self.url = url
        self.validator = RequestValidator(TOKEN)
        self.counter = 0

    def batch(self, count: int) -> list[bytes]:
        built = []
        for _ in range(count):
            self.counter += 1
            fields = {
                "From": f"+4071{self.counter % PEOPLE:07d}",
                "To": "+15005550006",
                "Body": "MENU",
                "MessageSid": f"SM{os.getpid():08d}{self.counter:024d}",
            }
            signature = self.validator.compute_signature(self.url, fields)
            built.append(self.generator.build(fields, {"X-Twilio-Signature": signature}))
        return built


async def baseline_run(seconds: float, with_reply: bool = False) -> dict:
    """The bare endpoint, flat out; `with_reply`: the floor, which also POSTs one
    reply to the fake Twilio before answering (no processing, no outbox)."""
    twilio = await LeanFakeTwilio(ACCOUNT, TOKEN).start() if with_reply else None
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", appendonly=True)
        url = redis.start()
        port = free_port()
        script = Path(tmp) / "baseline.py"
        script.write_text(BASELINE_APP)
        reply_args = (
            [f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json", f"{ACCOUNT}:{TOKEN}"]
            if twilio
            else []
        )
        process = subprocess.Popen([sys.executable, str(script), str(port), url, *reply_args])
        generator = LoadGenerator(f"http://127.0.0.1:{port}/sms/twilio")
        requests = Requests(generator, generator.path)
        try:
            await wait_healthy(f"http://127.0.0.1:{port}/healthz")
            # The baseline keeps no dedup marker: the same requests may come round again.
            pool = itertools.cycle(requests.batch(20_000))
            await generator.flat_out(pool, 1.0)  # warm up
            server_cpu, redis_cpu = cpu_seconds(process.pid), cpu_seconds(redis.process.pid)
            started = time.perf_counter()
            rps = await generator.flat_out(pool, seconds)
            answered = rps * (time.perf_counter() - started)
            cpu = cpu_seconds(process.pid) - server_cpu + cpu_seconds(redis.process.pid) - redis_cpu
            if twilio and twilio.refused:
                raise RuntimeError(f"the fake Twilio refused {twilio.refused} replies")
            return {"rps": rps, "cpu_us": cpu / answered * 1e6, "errors": generator.errors}
        finally:
            generator.close()
            process.send_signal(signal.SIGINT)
            process.wait(10)
            redis.stop()
            if twilio:
                await twilio.close()


async def app_run(seconds: float, processes: int = 1) -> list[dict]:
    twilio = await LeanFakeTwilio(ACCOUNT, TOKEN).start()
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
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": twilio.base_url,
            "HELPLINE_PROCESSES": str(processes),
        }
        env.pop("REDIS_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "helpline.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/sms/twilio"
        generator = LoadGenerator(url)
        requests = Requests(generator, url)
        try:
            await wait_healthy(f"http://127.0.0.1:{port}/healthz")
            # Warm up: every conversation past its welcome.
            await generator.at_rate(iter(requests.batch(PEOPLE)), PEOPLE / 2, 2.0)
            await wait_for(twilio, PEOPLE, timeout=30)
            failures = 0
            for rate in RATES:
                pool = iter(requests.batch(int(rate * seconds) + 1))
                generator.latencies, generator.errors = [], 0
                before, cpu_before = twilio.messages, cpu_seconds(process.pid)
                started = time.perf_counter()
                sent = await generator.at_rate(pool, rate, seconds)
                window = time.perf_counter() - started
                in_window = twilio.messages - before
                caught_up = await wait_for(twilio, before + sent, timeout=20)
                total = time.perf_counter() - started
                cpu = cpu_seconds(process.pid) - cpu_before
                kept_up = caught_up and generator.errors == 0 and total < seconds + 1.0
                results.append(
                    {
                        "rate": rate,
                        "sent": sent,
                        "ack_p50_ms": percentile(generator.latencies, 0.5) * 1e3,
                        "ack_p99_ms": percentile(generator.latencies, 0.99) * 1e3,
                        "errors": generator.errors,
                        "delivered_per_s": in_window / window,
                        "kept_up": kept_up,
                        "cpu_us": cpu / max(1, twilio.messages - before) * 1e6,
                    }
                )
                failures = 0 if kept_up else failures + 1
                if failures == 2:
                    break
            if twilio.refused:
                raise RuntimeError(f"the fake Twilio refused {twilio.refused} requests")
        finally:
            generator.close()
            process.send_signal(signal.SIGINT)
            process.wait(15)
            await twilio.close()
    return results


async def wait_for(twilio: LeanFakeTwilio, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while twilio.messages < count:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def main(quick: bool) -> None:
    seconds = 3.0 if quick else 5.0
    baseline = await baseline_run(seconds)
    print(
        f"baseline (parse the form, one Redis write): {baseline['rps']:.0f} requests/s, "
        f"{baseline['cpu_us']:.0f} us CPU per request (server + Redis), errors {baseline['errors']}"
    )
    floor = await baseline_run(seconds, with_reply=True)
    print(
        f"floor (the same, plus one reply POSTed to Twilio): {floor['rps']:.0f} requests/s, "
        f"{floor['cpu_us']:.0f} us CPU per request, errors {floor['errors']}"
    )
    single = report("helpline run", await app_run(seconds))
    cores = os.cpu_count() or 1
    every = (
        report(f"HELPLINE_PROCESSES={cores}", await app_run(seconds, cores))
        if cores > 1
        else single
    )
    print(f"throughput_vs_baseline={single['sustained'] / baseline['rps']:.2f}")
    print(f"sustained_msgs_per_s={single['sustained']}")
    print(f"baseline_rps={baseline['rps']:.0f}")
    print(f"ack_p99_ms_at_half_rate={single['p99_half']:.1f}")
    print(f"floor_vs_baseline={floor['rps'] / baseline['rps']:.2f}")
    print(f"throughput_vs_floor={single['sustained'] / floor['rps']:.2f}")
    print(f"cpu_per_msg_vs_baseline_request={single['cpu_us'] / baseline['cpu_us']:.2f}")
    print(f"throughput_vs_baseline_all_cores={every['sustained'] / baseline['rps']:.2f}")
    print(f"ack_p99_ms_at_half_rate_all_cores={every['p99_half']:.1f}")


def report(name: str, results: list[dict]) -> dict:
    """Print one configuration's table; its sustained rate, p99 at half of it, CPU a message."""
    print(f"{name}:")
    print(
        f"{'offered/s':>10}{'delivered/s':>13}{'kept up':>9}{'ack p50':>10}{'ack p99':>10}"
        f"{'errors':>8}{'CPU/msg':>10}"
    )
    for r in results:
        print(
            f"{r['rate']:>10}{r['delivered_per_s']:>13.0f}{'yes' if r['kept_up'] else 'no':>9}"
            f"{r['ack_p50_ms']:>8.1f}ms{r['ack_p99_ms']:>8.1f}ms{r['errors']:>8}"
            f"{r['cpu_us']:>8.0f}us"
        )
    kept = [r for r in results if r["kept_up"]]
    sustained = max((r["rate"] for r in kept), default=0)
    half = [r for r in results if r["rate"] <= sustained / 2] or results[:1]
    at_sustained = next((r for r in kept if r["rate"] == sustained), results[0])
    print(f"sustained (every reply delivered within the run): {sustained} messages/s")
    return {
        "sustained": sustained,
        "p99_half": half[-1]["ack_p99_ms"],
        "cpu_us": at_sustained["cpu_us"],
    }


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv))
