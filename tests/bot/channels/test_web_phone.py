"""The web chat on a cheap phone (360×740, touch), in a real browser (Debian's
Chromium driven by Playwright), in English, Romanian and Arabic.

She sees her language from the first screen, can always reach the box where she
writes, taps targets of at least 44×44 px with 8 px between them, reads text of
at least 16 px, and in Arabic the page is mirrored and Latin runs ("2004/81/EC")
read as they are written.

Screenshots for the README: HELPLINE_SCREENSHOTS=docs python -m pytest tests/bot/channels/test_web_phone.py
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.async_api import Page, expect

from bot.i18n.catalogs import Catalogs
from tests.browser import person_writes
from tests.conftest import FLOWS, ROOT

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
CATALOGS = Catalogs(ROOT / "locales")
WELCOME = {"en": "confidential", "ro": "confidențial", "ar": "سرية"}


def say(language: str, msgid: str) -> str:
    return CATALOGS.text(language, msgid)


async def phone(tabs, language: str) -> Page:
    page = await tabs.open("/", locale=language, **PHONE)
    await expect(page.locator("#messages li.bot").first).to_be_visible()
    return page


async def boxes(page: Page, selector: str) -> list[dict]:
    return await page.locator(selector).evaluate_all(
        """elements => elements.filter(e => e.offsetParent !== null).map(e => {
          const r = e.getBoundingClientRect();
          return {name: e.id || e.textContent.trim(), x: r.left, y: r.top, right: r.right,
                  bottom: r.bottom, width: r.width, height: r.height,
                  font: parseFloat(getComputedStyle(e).fontSize)};
        })"""
    )


def gap(a: dict, b: dict) -> float:
    """The distance between two boxes (0 when they touch or overlap)."""
    dx = max(b["x"] - a["right"], a["x"] - b["right"], 0)
    dy = max(b["y"] - a["bottom"], a["y"] - b["bottom"], 0)
    return max(dx, dy)


@pytest.mark.parametrize("language", ["en", "ro", "ar"])
async def test_first_screen_in_her_language_with_big_targets(tabs, language):
    page = await phone(tabs, language)
    html = page.locator("html")
    await expect(html).to_have_attribute("lang", language)
    await expect(html).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    await expect(page.locator("#messages li.bot").first).to_contain_text(WELCOME[language])
    await expect(page.locator("#quick-exit")).to_have_text(say(language, "Quick exit"))
    await expect(page.locator("#send")).to_have_text(say(language, "Send"))
    await expect(page.locator("#text")).to_have_attribute(
        "placeholder", say(language, "Write a message")
    )
    await expect(page.locator("footer")).to_be_visible()
    await expect(page.locator("footer")).not_to_contain_text("Test chat")
    if language != "en":
        await expect(page.locator("footer")).not_to_contain_text("Messages are kept")
    menu = page.locator("#messages .options button")
    await expect(menu.first).to_be_visible()
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        out = ROOT / os.environ["HELPLINE_SCREENSHOTS"]
        await page.screenshot(path=str(out / f"web-chat-{language}.png"))

    targets = await boxes(page, "button, textarea")
    assert len(targets) >= 4, targets  # Quick exit, two answers, Send
    for target in targets:
        assert target["width"] >= 44 and target["height"] >= 44, target
        assert target["font"] >= 16, target
    for index, a in enumerate(targets):
        for b in targets[index + 1 :]:
            assert gap(a, b) >= 8, (a, b)
    for text in await boxes(page, ".msg, footer p"):
        assert text["font"] >= 16, text


async def test_the_box_where_she_writes_never_leaves_the_screen(tabs):
    page = await phone(tabs, "en")
    for n in range(14):  # far taller than the screen
        await person_writes(page, f"message number {n}, a line long enough to wrap on a phone")
    await expect(page.locator("#messages li.me")).to_have_count(14)
    height = await page.evaluate("document.getElementById('messages').scrollHeight")
    assert height > 740
    for size in ({"width": 360, "height": 740}, {"width": 360, "height": 400}):
        # 400 px: the on-screen keyboard open (the browser resizes the page for it)
        await page.set_viewport_size(size)
        await page.locator("#text").focus()
        await expect(page.locator("#composer")).to_be_in_viewport(ratio=1)  # once the page resized
        for selector in ("#text", "#send", "#quick-exit"):
            [box] = await boxes(page, selector)
            assert 0 <= box["y"] and box["bottom"] <= size["height"], (size, box)
        # the newest message is brought into view above the box
        await expect(page.locator("#messages > li").last).to_be_in_viewport(ratio=0.25)
    # the page itself does not scroll: only the messages do
    assert await page.evaluate("document.scrollingElement.scrollTop") == 0


async def test_arabic_is_mirrored_and_latin_runs_read_as_written(tabs):
    page = await phone(tabs, "ar")
    [exit_button] = await boxes(page, "#quick-exit")
    [heading] = await boxes(page, "h1")
    assert exit_button["right"] < heading["x"]  # mirrored: the heading on the right
    await page.get_by_role("button", name=say("ar", "Yes, I can talk")).click()
    for label in ("Your rights", "Papers, asylum, time to rest", "A permit to stay"):
        await page.get_by_role("button", name=say("ar", label), exact=True).last.click()
    answer = page.locator("#messages li.bot").filter(has_text="2004/81/EC").last
    await expect(answer).to_be_visible()
    await person_writes(page, "شكرا")
    mine = (await boxes(page, "#messages li.me"))[-1]
    bot = (await boxes(page, "#messages li.bot"))[0]
    assert mine["x"] < bot["x"]  # her messages on the left, the helpline's on the right
    # "2004/81/EC" inside Arabic text: "2004" left of "EC", as written (not "EC/2004/81")
    where = await answer.evaluate(
        """element => {
          const node = [...element.childNodes].find(n => n.nodeType === 3 && n.data.includes("2004/81/EC"));
          const at = node.data.indexOf("2004/81/EC");
          const box = (start, end) => {
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, end);
            return range.getBoundingClientRect().left;
          };
          return {year: box(at, at + 4), ec: box(at + 8, at + 10)};
        }"""
    )
    assert where["year"] < where["ec"], where


async def test_an_organisation_sets_its_footer_or_none(make_client, browser, tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    settings = flows / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.strip().startswith("web_footer:"))
    settings.write_text(text.replace(old, '  web_footer: ""'), encoding="utf-8")
    client = await make_client(flows_dir=flows)
    html = await (await client.get("/")).text()
    assert '<footer id="footer" hidden>' in html
    page = await browser.new_page(**PHONE)
    try:
        await page.goto(str(client.make_url("/")))
        await expect(page.locator("#messages li.bot").first).to_be_visible()
        await expect(page.locator("footer")).to_be_hidden()
    finally:
        await page.close()
