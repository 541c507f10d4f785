"""The console with a large queue, in a real browser: 10,000 queued
conversations (example entries), a supervisor's console in headless Chromium
(Debian's, driven by Playwright), the whole app on an embedded Redis.

- queue_paint_ms: from opening /console (signed in) to the first page of the
  queue on screen with its true count ("10000 waiting"); median of 5 loads.
- update_ms: from a new entry written to Redis (which publishes the live
  event) to the pane's count showing it ("10001 waiting": the event reached
  the page, the page read the queue again and drew it); median of 10,
  measured on one clock (the machine's wall clock, in the page and here).

    python benchmarks/console.py            # HELPLINE_CHROMIUM=/path/to/chromium if not /usr/bin/chromium
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import asyncio  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from aiohttp.test_utils import TestServer  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from handoff.counsellors import Counsellors  # noqa: E402
from handoff.queue import LEVELS, HandoffQueue  # noqa: E402
from helpline.app import REDIS, create_app  # noqa: E402

QUEUED = 10_000
PASSWORD = "a long benchmark password"
CHROMIUM = os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium")


async def fill(queue: HandoffQueue, redis, count: int) -> None:
    now = time.time()
    languages = ("ro", "bg", "uk", "ru", "ar", "en", "es", "it")
    for start in range(0, count, 500):
        await asyncio.gather(
            *(
                queue.enqueue(
                    f"example{n:06d}",
                    LEVELS[n % 4],
                    category=None,
                    reason="asked",
                    channel=("sms", "telegram", "whatsapp", "web")[n % 4],
                    language=languages[n % len(languages)],
                    now=now - (n % 3600),
                )
                for n in range(start, min(count, start + 500))
            )
        )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            flows_dir=ROOT / "flows",
            locales_dir=ROOT / "locales",
            secret_key=b"console-benchmark-key-0123456789",
        )
        app = create_app(settings)
        server = TestServer(app)
        await server.start_server()
        try:
            redis = app[REDIS]
            await Counsellors(redis).add("sue", PASSWORD, "supervisor")
            queue = HandoffQueue(redis)
            started = time.perf_counter()
            await fill(queue, redis, QUEUED)
            print(f"queued {QUEUED} example conversations in {time.perf_counter() - started:.1f} s")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                page = await (
                    await browser.new_context(viewport={"width": 1280, "height": 900})
                ).new_page()
                url = str(server.make_url("/console"))
                await page.goto(url)
                await page.get_by_label("Username").fill("sue")
                await page.get_by_label("Password").fill(PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await page.locator("#live-text").filter(has_text="Live").wait_for()

                paints = []
                for _ in range(5):
                    began = time.perf_counter()
                    await page.goto(url)
                    await (
                        page.locator("#queue-summary")
                        .filter(has_text=f"{QUEUED} waiting")
                        .wait_for()
                    )
                    await page.locator(".queue-item").nth(99).wait_for()
                    paints.append((time.perf_counter() - began) * 1000)
                await page.locator("#live-text").filter(has_text="Live").wait_for()

                updates = []
                for n in range(10):
                    pid = f"benchmarknew{n:02d}"
                    await page.evaluate(
                        """count => { window.__seen = new Promise(resolve => {
                          const summary = document.getElementById("queue-summary");
                          const look = () => summary.textContent.startsWith(`${count} waiting`);
                          if (look()) return resolve(Date.now());
                          new MutationObserver((_, observer) => {
                            if (look()) { observer.disconnect(); resolve(Date.now()); }
                          }).observe(summary, { childList: true, characterData: true, subtree: true });
                        }); }""",
                        QUEUED + n + 1,
                    )
                    written = time.time() * 1000
                    await queue.enqueue(
                        pid,
                        "critical",
                        category=None,
                        reason="asked",
                        channel="sms",
                        language="ro",
                    )
                    seen = await page.evaluate("window.__seen")
                    updates.append(seen - written)
                    await asyncio.sleep(0.3)
                await browser.close()
        finally:
            await server.close()
    paint, update = statistics.median(paints), statistics.median(updates)
    print(f"first queue paint with {QUEUED} queued: {', '.join(f'{p:.0f}' for p in paints)} ms")
    print(f"new entry on screen after its event: {', '.join(f'{u:.0f}' for u in updates)} ms")
    print(f"queue_paint_ms={paint:.0f}")
    print(f"update_ms={update:.0f}")


if __name__ == "__main__":
    if not Path(CHROMIUM).exists():
        raise SystemExit(
            f"no Chromium at {CHROMIUM}: install Debian's chromium or set HELPLINE_CHROMIUM"
        )
    asyncio.run(main())
