"""What every browser test shares: Debian's Chromium driven by Playwright, the
whole app on a real Redis, a team of counsellors, and tabs that fail the test on
any script error or CSP violation.

tests/conftest.py loads it as a plugin: its fixtures (`browser`, `team`, `app`,
`tabs`) are there for every test module; `team` also serves the API tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from handoff.counsellors import Counsellors

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "handoff" / "static"
CHROMIUM = os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium")
HAS_CHROMIUM = Path(CHROMIUM).exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"  # every test account's
# A risk phrase when the English lexicon is there (flows/risk/en.yaml), else the keyword.
HAS_LEXICON = (ROOT / "flows" / "risk" / "en.yaml").exists()
RISK_TEXT = "he took my passport and locks me in" if HAS_LEXICON else "COUNSELLOR"
URGENCY = ("Critical", "High", "Medium") if HAS_LEXICON else ("Asked",)
MAIN_MENU = "How can I help you?"

expect.set_options(timeout=10_000)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
async def browser():
    if not HAS_CHROMIUM:
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's chromium package, or set HELPLINE_CHROMIUM"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def team(redis):
    counsellors = Counsellors(redis)
    await counsellors.add("ana", PASSWORD, "counsellor")
    await counsellors.add("bea", PASSWORD, "counsellor")
    await counsellors.add("sue", PASSWORD, "supervisor")
    return counsellors


@pytest.fixture
async def app(make_client, team):
    return await make_client()


class Tabs:
    """Browser tabs of one test, each in its own context (its own cookies); on
    teardown, no tab may have had a script error or a CSP violation."""

    def __init__(self, browser: Browser, client):
        self.browser, self.client = browser, client
        self.contexts = []
        self.problems: list[str] = []

    async def open(self, path: str = "/console", **context_options) -> Page:
        context_options.setdefault("viewport", {"width": 1280, "height": 800})
        context = await self.browser.new_context(**context_options)
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.on("dialog", lambda dialog: self.problems.append(f"a dialog opened: {dialog.message}"))
        await page.goto(str(self.client.make_url(path)))
        return page

    async def console(self, user: str, **context_options) -> Page:
        page = await self.open("/console", **context_options)
        await sign_in(page, user)
        return page

    async def person(self) -> Page:
        """A person on the web chat page, past the welcome."""
        page = await self.open("/")
        await expect(page.locator("#messages")).to_contain_text("confidential")
        return page

    async def close(self):
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def tabs(browser, app):
    tabs = Tabs(browser, app)
    yield tabs
    await tabs.close()
    assert not tabs.problems, tabs.problems


async def sign_in(page: Page, user: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#whoami")).to_contain_text(user)
    await expect(page.locator("#live-text")).to_have_text("Live")


async def person_writes(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.locator("#text").press("Enter")


async def queued_row(console: Page):
    """The first queue row, once a person is there; returns (row locator, conversation id)."""
    row = console.locator(".queue-item").first
    await expect(row).to_be_visible()
    return row, await row.get_attribute("data-id")


async def go(page: Page, fragment: str) -> None:
    """Follow a link of the console (as a bookmark or the address bar would)."""
    await page.evaluate("fragment => { window.location.hash = fragment; }", fragment)


async def login_api(client, user: str) -> str:
    response = await client.post(
        "/console/api/login", json={"username": user, "password": PASSWORD}
    )
    assert response.status == 200
    return (await response.json())["csrf_token"]
