"""axe-core on every screen people use: the web chat (on a phone, in English and
Arabic) and every view of the console (sign-in, queue, a conversation, the close
and reassign dialogs, team, statistics). Any violation of impact moderate or
worse fails the test, with axe's rule, help and the elements it names.

axe-core 4.14.1 is vendored in tests/vendor/axe-core (MPL-2.0, see SOURCE.md)
and injected by Playwright through the DevTools protocol, which the pages' strict
Content-Security-Policy does not block (a <script> tag would be)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from bot.i18n.catalogs import Catalogs
from tests.browser import RISK_TEXT, person_writes, sign_in
from tests.conftest import ROOT

AXE = (ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
FAILING = ("moderate", "serious", "critical")
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}

RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


async def violations(page: Page, where: str) -> list[str]:
    """axe's violations of impact moderate or worse on `page` as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE)
    found = await page.evaluate(RUN)
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
        for v in found
        if v["impact"] in FAILING
    ]


async def test_the_web_chat_has_no_accessibility_violation(tabs):
    catalogs = Catalogs(ROOT / "locales")
    problems: list[str] = []
    english = await tabs.open("/", locale="en", **PHONE)
    await expect(english.locator("#messages .options button").first).to_be_visible()
    problems += await violations(english, "web chat, first screen (en)")
    await english.get_by_role("button", name="Yes, I can talk").click()
    await person_writes(english, "where can I sleep tonight?")
    await expect(english.locator("#messages li.me")).to_have_count(2)
    problems += await violations(english, "web chat, a conversation (en)")

    arabic = await tabs.open("/", locale="ar", **PHONE)
    await arabic.get_by_role("button", name=catalogs.text("ar", "Yes, I can talk")).click()
    await expect(arabic.locator("#messages li.me")).to_have_count(1)
    problems += await violations(arabic, "web chat, a conversation (ar)")
    assert not problems, "\n".join(problems)


async def test_every_console_view_has_no_accessibility_violation(app, tabs):
    problems: list[str] = []
    person = await tabs.person()
    await person_writes(person, RISK_TEXT)

    sue = await tabs.open("/console")
    await expect(sue.get_by_label("Username")).to_be_visible()
    problems += await violations(sue, "console, sign-in")
    await sign_in(sue, "sue")
    row = sue.locator(".queue-item").first
    await expect(row).to_be_visible()
    problems += await violations(sue, "console, queue")

    await row.locator("a").click()
    await sue.get_by_role("button", name="Claim").click()
    await expect(sue.locator("#conv-state")).to_have_text("With you")
    await sue.locator("#reply-text").fill("I am here. Are you safe right now?")
    await sue.get_by_role("button", name="Send", exact=True).click()
    await expect(person.locator("#messages")).to_contain_text("Are you safe right now?")
    await person_writes(person, "yes, for now")
    await expect(sue.locator("#transcript")).to_contain_text("yes, for now")
    problems += await violations(sue, "console, a conversation")

    await sue.get_by_role("button", name="Reassign…").click()
    await expect(sue.locator("#transfer-dialog")).to_be_visible()
    problems += await violations(sue, "console, reassign dialog")
    await sue.keyboard.press("Escape")
    await sue.get_by_role("button", name="Close…").click()
    await expect(sue.locator("#close-dialog")).to_be_visible()
    problems += await violations(sue, "console, close dialog")
    await sue.keyboard.press("Escape")

    await sue.get_by_role("link", name="Team").click()
    await expect(sue.locator("#team-view")).to_be_visible()
    problems += await violations(sue, "console, team")
    await sue.get_by_role("link", name="Statistics").click()
    await expect(sue.locator("#stats-view")).to_be_visible()
    await expect(sue.locator("#stats-cards")).not_to_be_empty()
    problems += await violations(sue, "console, statistics")
    assert not problems, "\n".join(problems)
