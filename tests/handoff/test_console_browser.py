"""The counsellor console in a real browser (Debian's Chromium driven by
Playwright), against the whole app and a real Redis.

A person writes on the web chat page at `/` in one browser tab; counsellors and
supervisors work in the console at `/console` in others. Tests assert what
they see on the page, and what the person receives.

Screenshots for the README: HELPLINE_SCREENSHOTS=docs python -m pytest tests/test_console_browser.py -k screenshots
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.async_api import expect
from twilio.request_validator import RequestValidator

from bot.i18n.catalogs import Catalogs
from bot.store import keys, stats
from bot.testing.webchat import WebChat
from handoff.queue import HandoffQueue
from tests.browser import (
    MAIN_MENU,
    PASSWORD,
    RISK_TEXT,
    STATIC,
    URGENCY,
    Tabs,
    go,
    login_api,
    person_writes,
    queued_row,
    sign_in,
)
from tests.conftest import ROOT
from tests.fakes import FakeTwilio

# ---------------------------------------------------------------------- the page itself


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        if "style" in attrs or any(name.startswith("on") for name in attrs):
            self.style_attributes += 1
        if tag == "script" and not attrs.get("src"):
            self.inline_scripts += 1


async def test_page_has_strict_csp_and_no_off_site_asset(app, tabs):
    response = await app.get("/console")
    assert response.status == 200
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    parsed = _Assets()
    parsed.feed(await response.text())
    assert parsed.inline_scripts == 0 and parsed.style_attributes == 0
    assets = [url for url in parsed.urls if not url.startswith("#")]
    assert assets and all(url.startswith("/console/static/") for url in assets), assets
    for url in assets:
        asset = await app.get(url)
        assert asset.status == 200, url
        assert asset.headers["Content-Security-Policy"] == csp
    # Modules import only each other; the style sheet fetches nothing.
    for script in STATIC.glob("*.js"):
        source = script.read_text()
        for target in re.findall(r"""^import[^"']*["']([^"']+)["']""", source, re.M):
            assert target.startswith("./"), (script.name, target)
        assert (
            "innerHTML" not in source
            and "insertAdjacentHTML" not in source
            and "eval(" not in source
        )
        assert not re.search(r"""(fetch|EventSource)\(\s*[`"']https?:""", source), script.name
    css = (STATIC / "console.css").read_text()
    assert "@import" not in css and "url(" not in css

    # In the browser: every request goes to the app itself.
    origin = str(app.make_url("/")).rstrip("/")
    seen: list[str] = []
    page = await tabs.open("/console")
    page.on("request", lambda request: seen.append(request.url))
    await page.reload()
    await sign_in(page, "ana")
    assert seen and all(url.startswith(origin) for url in seen), seen


# ---------------------------------------------------------------------- sign-in


async def test_sign_in_errors_sign_out_and_expired_session(app, tabs, redis):
    page = await tabs.open("/console")
    await expect(page.get_by_role("heading", name="Helpline console")).to_be_visible()
    await page.get_by_label("Username").fill("ana")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#login-error")).to_have_text("Wrong username or password.")

    await sign_in(page, "ana")
    await expect(page.locator("#queue-empty")).to_contain_text("Nobody is waiting")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#login-reason")).to_have_text("You are signed out.")
    await page.reload()
    await expect(page.get_by_label("Username")).to_be_visible()  # the session is really gone

    await sign_in(page, "ana")
    await page.reload()
    await expect(page.locator("#whoami")).to_contain_text("ana")  # a session survives a reload
    # The session ends (8 h idle, 12 h in all): at the next call, the sign-in form and a sentence.
    for key in await redis.keys(keys.session("*")):
        await redis.delete(key)
    chat = WebChat(app)
    await chat.start()
    await chat.send("COUNSELLOR")
    await expect(page.locator("#login-reason")).to_contain_text("Your session has ended")
    await expect(page.locator("#app")).to_be_hidden()
    assert await page.locator("#queue-list li").count() == 0  # nothing of hers stays on screen


# ---------------------------------------------------------------------- the whole handoff


async def test_person_to_counsellor_and_back_to_the_menu(app, tabs):
    console = await tabs.console("ana")
    await expect(console.locator("#queue-empty")).to_be_visible()
    typing_calls: list[float] = []
    console.on(
        "request",
        lambda r: typing_calls.append(time.monotonic()) if r.url.endswith("/typing") else None,
    )

    person = await tabs.person()
    await person_writes(person, RISK_TEXT)

    # She appears in the queue live, without a reload: urgency in words, language by name.
    row, pid = await queued_row(console)
    badge = row.locator(".badge")
    assert (await badge.text_content()) in URGENCY
    await expect(row).to_contain_text("English")
    await expect(row).to_contain_text("Web chat")
    await expect(row).to_contain_text("Nobody has it yet")
    await expect(console.locator("#queue-summary")).to_have_text("1 waiting · 0 with a counsellor")
    waited = await row.locator(".wait").text_content()
    assert waited.startswith("Waiting ")
    await expect(row.locator(".wait")).not_to_have_text(waited, timeout=3000)  # it ticks

    await row.locator("a").click()
    await expect(console).to_have_url(re.compile(f"#/c/{pid}$"))
    transcript = console.locator("#transcript")
    await expect(transcript.locator(".from-user").first).to_have_text(
        re.compile(r"\(opened the chat\)$")
    )
    await expect(transcript.locator(".from-user").last).to_contain_text(RISK_TEXT)
    await expect(transcript.locator(".from-bot").first).to_contain_text("confidential")
    await expect(console.locator("#reply-text")).to_be_disabled()
    await expect(console.locator("#reply-hint")).to_have_text(
        "Claim this conversation to reply to her."
    )

    await console.get_by_role("button", name="Claim").click()
    await expect(console.locator("#conv-state")).to_have_text("With you")
    await expect(console.locator("#reply-text")).to_be_focused()
    await expect(row).to_contain_text("With you")

    # Canned responses in her language go into the box; Shift+Enter is a new line, Enter sends.
    await console.get_by_role("button", name="Greeting").click()
    await expect(console.locator("#reply-text")).to_have_value(
        re.compile("^Hello, I am a counsellor")
    )
    await console.locator("#reply-text").fill("")
    await console.locator("#reply-text").type("I am here with you.")
    await console.locator("#reply-text").press("Shift+Enter")
    await console.locator("#reply-text").type("Are you safe now?")
    await expect(console.locator("#reply-text")).to_have_value(
        "I am here with you.\nAre you safe now?"
    )
    await console.locator("#reply-text").press("Enter")
    await expect(console.locator("#reply-text")).to_have_value("")
    mine = transcript.locator(".from-counsellor").last
    await expect(mine).to_contain_text("I am here with you.")
    await expect(mine.locator(".msg-who")).to_have_text("You")
    await expect(mine.locator(".delivery")).to_have_text("Sent")
    # While she types, "typing..." is asked for (shown on Telegram only), at most every 4 s.
    assert typing_calls and all(
        b - a >= 3.9 for a, b in zip(typing_calls, typing_calls[1:], strict=False)
    )

    await expect(person.locator("#messages")).to_contain_text(
        "I am here with you.\nAre you safe now?"
    )
    await person_writes(person, "yes, he is out now")
    await expect(transcript.locator(".from-user").last).to_have_text(
        re.compile("yes, he is out now")
    )
    await expect(console.locator("#announce")).to_have_text(
        "She wrote: yes, he is out now"
    )  # screen readers

    await console.get_by_role("button", name="Close…").click()
    dialog = console.locator("#close-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Close conversation").click()
    await expect(dialog.locator("#close-error")).to_contain_text("Choose an outcome")
    await dialog.get_by_label("Outcome").select_option("Safety plan made")
    await dialog.get_by_label("Notes").fill("Will write again tonight.")
    await expect(dialog.get_by_label("Return her to the bot’s main menu")).to_be_checked()
    await dialog.get_by_role("button", name="Close conversation").click()
    await expect(console.locator("#flash")).to_have_text(
        "Conversation closed: she is back at the bot's main menu."
    )
    await expect(console.locator("#queue-empty")).to_be_visible()
    await expect(console).to_have_url(re.compile("#/$"))
    await expect(person.locator("#messages")).to_contain_text(MAIN_MENU)

    # The closed conversation keeps its outcome for the counsellor who had it.
    await go(console, f"#/c/{pid}")
    await expect(console.locator("#conv-state")).to_have_text("Closed")
    await expect(console.locator("#closed-outcome")).to_have_text("Safety plan made")
    await expect(console.locator("#closed-notes")).to_have_text("Will write again tonight.")


async def test_second_counsellor_cannot_open_a_claimed_conversation(app, tabs):
    ana = await tabs.console("ana")
    bea = await tabs.console("bea")
    chat = WebChat(app)
    await chat.start()
    await chat.send(RISK_TEXT)
    _, pid = await queued_row(bea)
    await bea.locator(".queue-item a").first.click()
    await expect(bea.get_by_role("button", name="Claim")).to_be_visible()

    _, _ = await queued_row(ana)
    await ana.locator(".queue-item a").first.click()
    await ana.get_by_role("button", name="Claim").click()
    await expect(ana.locator("#conv-state")).to_have_text("With you")

    # Bea had it open: it closes in front of her, with who has it in words.
    problem = bea.locator("#conv-problem")
    await expect(problem).to_contain_text("This conversation is with ana")
    await expect(bea.locator("#transcript li")).to_have_count(0)
    row = bea.locator(f'.queue-item[data-id="{pid}"]')
    await expect(row).to_contain_text("With ana")
    await expect(row).to_contain_text("Only ana and supervisors can open it.")
    assert await row.locator("a").count() == 0
    # Nor by its address.
    await go(bea, f"#/c/{pid}")
    await expect(bea.locator("#conv-problem")).to_contain_text("This conversation is with ana")


async def test_what_she_writes_is_shown_as_text(app, tabs):
    console = await tabs.console("ana")
    chat = WebChat(app)
    await chat.start()
    await chat.send(RISK_TEXT)
    payloads = [
        '<img src=x onerror="window.__xss = 1">',
        "<script>window.__xss = 2</script>",
        '"><svg onload="window.__xss = 3"><b>bold</b>',
    ]
    for payload in payloads:
        await chat.send(payload)
    await chat.send("أخذ جواز سفري")  # Arabic: shown right to left
    _, pid = await queued_row(console)
    await console.locator(".queue-item a").first.click()
    transcript = console.locator("#transcript")
    await expect(transcript.locator(".from-user")).to_have_count(
        3 + len(payloads)
    )  # opened, asked, payloads, Arabic
    texts = await transcript.locator(".from-user .msg-text").all_text_contents()
    for payload in payloads:
        assert payload in texts
    assert await transcript.locator("img, script, svg, b").count() == 0
    assert await console.evaluate("window.__xss") is None
    arabic = transcript.locator(".from-user .msg-text").last
    assert await arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    english = transcript.locator(".from-user .msg-text").first
    assert await english.evaluate("e => getComputedStyle(e).direction") == "ltr"


async def test_supervisor_sees_the_team_and_reassigns(app, tabs):
    ana = await tabs.console("ana")
    bea = await tabs.console("bea")
    chat = WebChat(app)
    await chat.start()
    await chat.send(RISK_TEXT)
    _, pid = await queued_row(ana)
    await ana.locator(".queue-item a").first.click()
    await ana.get_by_role("button", name="Claim").click()
    await expect(ana.locator("#conv-state")).to_have_text("With you")
    second = WebChat(app)
    await second.start()
    await second.send("COUNSELLOR")

    sue = await tabs.console("sue")
    await sue.get_by_role("link", name="Team").click()
    await expect(sue.locator("#stat-waiting")).to_have_text("1")
    await expect(sue.locator("#stat-online")).to_have_text("3")
    await expect(sue.locator("#stat-states")).to_contain_text("Waiting1")
    await expect(sue.locator("#stat-states")).to_contain_text("With a counsellor1")
    await expect(sue.locator("#stat-longest")).to_have_text(re.compile(r"^\d+ s$"))
    ana_row = sue.locator("#team-rows tr", has_text="ana")
    await expect(ana_row).to_contain_text("Online")
    await expect(ana_row.locator("td.number")).to_have_text("1")

    conversation = sue.locator(f'#open-rows tr[data-id="{pid}"]')
    await expect(conversation).to_contain_text("ana")
    await conversation.locator("select").select_option("bea")
    await conversation.get_by_role("button", name="Reassign").click()
    await expect(sue.locator("#team-status")).to_have_text("Reassigned to bea.")
    await expect(conversation).to_contain_text("bea")
    await expect(sue.locator("#team-rows tr", has_text="bea").locator("td.number")).to_have_text(
        "1"
    )

    # The audit says who claimed and who reassigned, by the conversation's case.
    await sue.get_by_role("link", name="Team").click()
    audit = sue.locator("#audit-rows")
    await expect(audit.locator("tr", has_text="transferred")).to_contain_text("to bea")
    await expect(audit.locator("tr", has_text="claimed").first).to_contain_text("ana")

    # Ana loses it live; Bea is told it is hers.
    await expect(ana.locator("#conv-problem")).to_contain_text("This conversation is with bea")
    await expect(bea.locator("#flash")).to_contain_text("A conversation was given to you")
    bea_row = bea.locator(f'.queue-item[data-id="{pid}"]')
    await expect(bea_row).to_contain_text("With you")
    await expect(bea_row).to_contain_text("New message")

    # A supervisor opens any conversation, and may reassign from there too.
    await sue.locator(f'.queue-item[data-id="{pid}"] a').click()
    await expect(sue.locator("#conv-state")).to_have_text("With bea")
    await expect(sue.locator("#reply-hint")).to_contain_text("reassign it to yourself")
    await sue.get_by_role("button", name="Reassign…").click()
    await sue.locator("#transfer-to").select_option("sue")
    await sue.locator("#transfer-submit").click()
    await expect(sue.locator("#conv-state")).to_have_text("With you")
    await expect(sue.locator("#reply-text")).to_be_enabled()


async def test_counsellor_transfers_to_a_named_colleague(app, tabs):
    ana = await tabs.console("ana")
    bea = await tabs.console("bea")
    chat = WebChat(app)
    await chat.start()
    await chat.send(RISK_TEXT)
    _, pid = await queued_row(ana)
    await ana.locator(".queue-item a").first.click()
    await ana.get_by_role("button", name="Claim").click()
    await ana.get_by_role("button", name="I am going to transfer you").click()
    await ana.locator("#reply-text").press("Enter")
    await expect(ana.locator("#transcript .from-counsellor")).to_contain_text(
        "pass you to a colleague"
    )
    await ana.get_by_role("button", name="Transfer…").click()
    # The list is fetched when the dialog opens: wait for it before reading it.
    await expect(ana.locator("#transfer-to option", has_text="bea")).to_contain_text(
        "bea — online, 0 open conversations"
    )
    options = await ana.locator("#transfer-to option").all_text_contents()
    assert not any(o.startswith("ana") for o in options)  # not to herself
    assert any(o.startswith("bea — online, 0 open conversations") for o in options), options
    await ana.locator("#transfer-to").select_option("bea")
    await ana.locator("#transfer-submit").click()
    await expect(ana.locator("#flash")).to_have_text("You transferred the conversation to bea.")
    await expect(ana.locator(f'.queue-item[data-id="{pid}"]')).to_contain_text("With bea")
    await bea.locator(f'.queue-item[data-id="{pid}"] a').click()
    await expect(bea.locator("#conv-state")).to_have_text("With you")
    await expect(bea.locator("#transcript .from-counsellor .msg-who")).to_have_text("ana")


async def test_safe_exit_locks_the_conversation(app, tabs):
    console = await tabs.console("ana")
    person = await tabs.person()
    await person.route(
        re.compile(r"^https://"),
        lambda route: route.fulfill(body="weather", content_type="text/plain"),
    )
    await person_writes(person, RISK_TEXT)
    await console.locator(".queue-item a").first.click()
    await console.get_by_role("button", name="Claim").click()
    await expect(console.locator("#conv-state")).to_have_text("With you")
    await console.locator("#reply-text").fill("Are you safe now?")
    await console.locator("#reply-text").press("Enter")
    await expect(person.locator("#messages")).to_contain_text("Are you safe now?")

    await person.get_by_role("button", name="Quick exit").click()
    await expect(console.locator("#conv-left")).to_contain_text("She left for her safety.")
    await expect(console.locator("#conv-state")).to_have_text("She left for her safety")
    await expect(console.locator("#transcript li")).to_have_count(0)  # erased
    await expect(console.locator("#reply-form")).to_be_hidden()
    for name in ("Claim", "Transfer…", "Close…"):
        await expect(console.get_by_role("button", name=name)).to_be_hidden()
    await expect(console.locator("#queue-empty")).to_be_visible()


@pytest.fixture
async def twilio():
    fake = await FakeTwilio().start()
    yield fake
    await fake.close()


async def test_a_failed_delivery_is_shown(make_client, team, browser, twilio):
    """She writes by SMS; Twilio then refuses every message to her number."""
    public = "http://helpline.test"  # not https: the test browser keeps the cookie
    app = await make_client(
        channel_env=twilio.env(),
        public_url=public,
        send_backoff_s=0.02,
        send_attempts=2,
    )
    tabs = Tabs(browser, app)
    try:
        await _a_failed_delivery_is_shown(app, tabs, twilio, public)
    finally:
        await tabs.close()
    assert not tabs.problems, tabs.problems


async def _a_failed_delivery_is_shown(app, tabs, twilio, public: str):
    console = await tabs.console("ana")
    sms = {"From": "+447700900123", "MessageSid": "SM" + "e" * 32, "Body": RISK_TEXT}
    signature = RequestValidator(twilio.auth_token).compute_signature(public + "/sms/twilio", sms)
    posted = await app.post("/sms/twilio", data=sms, headers={"X-Twilio-Signature": signature})
    assert posted.status == 200
    await queued_row(console)
    await console.locator(".queue-item a").first.click()
    await console.get_by_role("button", name="Claim").click()
    twilio.failures.add("Messages", 400, count=100)  # her number can no longer be reached
    await console.locator("#reply-text").fill("Can you read me?")
    await console.locator("#reply-text").press("Enter")
    failed = console.locator("#transcript .from-counsellor.failed")
    await expect(failed.locator(".delivery")).to_have_text("Not delivered")
    await expect(failed).to_contain_text("She has not seen it.")
    await expect(console.locator("#reply-status")).to_contain_text("was not delivered")
    await expect(failed.get_by_role("button", name="Send again")).to_be_visible()


async def test_her_new_message_is_marked_in_the_queue_and_long_sms_refused(app, tabs, redis):
    console = await tabs.console("ana")
    chat = WebChat(app)
    await chat.start()
    await chat.send(RISK_TEXT)
    _, pid = await queued_row(console)
    await console.locator(".queue-item a").first.click()
    await console.get_by_role("button", name="Claim").click()
    await expect(console.locator("#reply-text")).to_be_enabled()
    await console.locator("#reply-text").fill("A reply I am still writing")
    await console.get_by_role("link", name="Queue").click()
    await expect(console.locator("#placeholder")).to_be_visible()
    await chat.send("are you there?")
    row = console.locator(f'.queue-item[data-id="{pid}"]')
    await expect(row.locator(".unread")).to_have_text("New message")
    await row.locator("a").click()
    await expect(console.locator("#transcript .from-user").last).to_contain_text("are you there?")
    await expect(row.locator(".unread")).to_have_count(0)
    await expect(console.locator("#reply-text")).to_have_value("A reply I am still writing")  # kept

    # On SMS at most 1600 characters arrive: a longer reply is refused in words, not cut.
    await redis.hset(keys.handoff(pid), "channel", "sms")  # as if she had written by SMS
    await console.get_by_role("link", name="Queue").click()
    await row.locator("a").click()
    await expect(console.locator("#conv-channel")).to_have_text("SMS")
    await console.locator("#reply-text").fill("x" * 1700)
    await console.locator("#reply-text").press("Enter")
    await expect(console.locator("#reply-status")).to_have_text(
        "Too long for SMS: 1700 characters, and at most 1600 reach her. Shorten it, or send it in two messages."
    )
    await expect(console.locator("#reply-text")).to_have_value("x" * 1700)
    assert await console.locator("#transcript .from-counsellor").count() == 0


# ---------------------------------------------------------------------- alerts


SPY = """
window.__notes = [];
window.Notification = class { constructor(title, o) { window.__notes.push([title, o.body]); }
  static get permission() { return "granted"; } static requestPermission() { return Promise.resolve("granted"); }
  addEventListener() {} close() {} };
window.__tones = 0;
const make = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones++; return make.call(this); };
"""


async def test_new_critical_arrival_is_announced(app, tabs, redis):
    console = await tabs.open("/console")
    await console.add_init_script(SPY)
    await console.reload()
    await sign_in(console, "ana")
    await expect(console.locator("#notify-toggle")).to_have_text("Desktop alerts: on")
    queue = HandoffQueue(redis)
    await queue.enqueue(
        "p" * 20,
        "critical",
        category="confinement",
        reason="risk",
        channel="telegram",
        language="ro",
    )

    banner = console.locator("#alerts .alert-item")
    await expect(banner).to_contain_text("Critical: a new conversation is waiting.")
    await expect(banner).to_contain_text("Confinement · Romanian · Telegram")
    await console.wait_for_function("window.__notes.length === 1")
    assert await console.evaluate("window.__notes[0]") == [
        "Critical: someone is waiting",
        "Confinement · Romanian · Telegram",
    ]
    assert await console.evaluate("window.__tones") > 0
    row = console.locator(".queue-item").first
    await expect(row.locator(".badge")).to_have_text("Critical")
    await expect(row).to_contain_text("Romanian")

    # A high one is not announced; with the sound off, a critical one is shown but silent.
    await console.get_by_role("button", name="Sound: on").click()
    await expect(console.get_by_role("button", name="Sound: off")).to_have_attribute(
        "aria-pressed", "false"
    )
    tones = await console.evaluate("window.__tones")
    await queue.enqueue(
        "q" * 20,
        "high",
        category="trafficking_control",
        reason="risk",
        channel="sms",
        language="bg",
    )
    await expect(console.locator(".queue-item")).to_have_count(2)
    await queue.enqueue(
        "r" * 20,
        "critical",
        category="imminent_violence",
        reason="risk",
        channel="web",
        language="ar",
    )
    await expect(banner).to_have_count(2)
    await expect(banner.last).to_contain_text("Immediate violence · Arabic · Web chat")
    assert await console.evaluate("window.__tones") == tones
    # Claimed elsewhere: its banner goes away by itself.
    other = await login_api(app, "bea")
    await app.post(f"/console/api/conversations/{'p' * 20}/claim", headers={"X-CSRF-Token": other})
    await expect(banner).to_have_count(1)
    await banner.get_by_role("button", name="Dismiss").click()
    await expect(console.locator("#alerts")).to_be_hidden()


# ---------------------------------------------------------------------- keyboard and contrast

CONTRAST = """
(selectors) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (e) => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
    if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c; } return "rgb(255, 255, 255)"; };
  return selectors.flatMap((s) => [...document.querySelectorAll(s)].map((e) => {
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(rgb(background(e)));
    return [s, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  }));
}
"""


async def test_keyboard_only_with_visible_focus_and_readable_contrast(app, tabs, redis):
    page = await tabs.open("/console")
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type("ana")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("#whoami")).to_contain_text("ana")
    queue = HandoffQueue(redis)
    for name, level, category in (
        ("a", "critical", "confinement"),
        ("b", "high", "self_harm"),
        ("c", "medium", "sexual_violence"),
        ("d", "asked", None),
    ):
        await queue.enqueue(
            name * 20, level, category=category, reason="risk", channel="sms", language="en"
        )
    await expect(page.locator(".queue-item")).to_have_count(4)
    words = await page.locator(".queue-item .badge").all_text_contents()
    assert words == ["Critical", "High", "Medium", "Asked"]  # most urgent first, in words

    # Tab reaches the first queue row, with a visible focus ring; Enter opens it.
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.classList.contains('queue-link')"):
            break
    else:
        raise AssertionError("Tab never reached the queue")
    outline = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert outline[0] == "solid" and float(outline[1].removesuffix("px")) >= 2
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile("#/c/a{20}$"))

    await go(page, "#/")
    ratios = await page.evaluate(
        CONTRAST, [".badge", ".queue-line", ".muted", "button", "#views a", ".whoami", ".live"]
    )
    assert ratios
    low = [(selector, round(ratio, 2)) for selector, ratio in ratios if ratio < 4.5]
    assert not low, low


# ---------------------------------------------------------------------- casework


def screenshots_dir(tmp_path: Path) -> Path:
    """docs/ when HELPLINE_SCREENSHOTS asks for it, else a throwaway folder."""
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        return ROOT / os.environ["HELPLINE_SCREENSHOTS"]
    return tmp_path


@pytest.fixture
async def strict_app(make_client, team, tmp_path):
    """The app with the shipped flows, the kind of exploitation required on close."""
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    wrapup = flows / "wrapup.yaml"
    head, _, rest = wrapup.read_text().partition("  exploitation:\n")
    rest = rest.replace("    required: false\n", "    required: true\n", 1)
    wrapup.write_text(head + "  exploitation:\n" + rest)
    return await make_client(flows_dir=flows)


async def test_wrapup_on_close_and_her_earlier_contacts_when_she_returns(
    strict_app, browser, tmp_path
):
    tabs = Tabs(browser, strict_app)
    try:
        ana = await tabs.console("ana")
        person = await tabs.person()
        await person_writes(person, "COUNSELLOR")
        row, pid = await queued_row(ana)
        await row.locator("a").click()
        await ana.get_by_role("button", name="Claim").click()
        await ana.locator("#reply-text").fill("Hello, I am Ana.")
        await ana.locator("#reply-text").press("Enter")
        await expect(person.locator("#messages")).to_contain_text("Hello, I am Ana.")
        await person_writes(person, "my boss keeps my papers")
        await expect(ana.locator("#transcript .from-user").last).to_contain_text("my papers")

        await ana.get_by_role("button", name="Close…").click()
        dialog = ana.locator("#close-dialog")
        await expect(
            dialog.get_by_role("group", name="Kind of exploitation (required)")
        ).to_be_visible()
        await dialog.get_by_label("Outcome").select_option("Referred to a shelter or service")
        await dialog.get_by_role("button", name="Close conversation").click()
        await expect(dialog.locator("#close-error")).to_have_text(
            "The wrap-up is not complete: fill in Kind of exploitation."
        )
        await dialog.get_by_label("Forced labour or services").check()
        await dialog.get_by_label("A safe place to sleep").check()
        await dialog.get_by_label("Her rights, legal advice").check()
        await dialog.get_by_label("Shelter", exact=True).check()
        await dialog.get_by_label("She wrote about herself").check()
        await dialog.get_by_label("Notes").fill("Speaks some Italian. Safe to write after 22:00.")
        await ana.set_viewport_size({"width": 1280, "height": 1250})
        await ana.screenshot(path=str(screenshots_dir(tmp_path) / "console-wrapup.png"))
        await dialog.get_by_role("button", name="Close conversation").click()
        await expect(ana.locator("#flash")).to_have_text(
            "Conversation closed: she is back at the bot's main menu."
        )
        await go(ana, f"#/c/{pid}")
        await expect(ana.locator("#closed-wrapup")).to_have_text(
            "Kind of exploitation: Forced labour or services · Needs: A safe place to sleep, "
            "Her rights, legal advice · Referrals made: Shelter · This contact: She wrote about herself"
        )

        # She writes again and asks for someone: Ana sees what was done, not what was said.
        await go(ana, "#/")
        await person_writes(person, "COUNSELLOR")
        row, again = await queued_row(ana)
        assert again == pid
        await row.locator("a").click()
        earlier = ana.locator("#conv-earlier")
        await expect(earlier.locator("h3")).to_have_text(
            "She has written before: 1 earlier contact"
        )
        await expect(earlier).to_contain_text("Referred to a shelter or service")
        await expect(earlier).to_contain_text(
            "Needs: A safe place to sleep, Her rights, legal advice"
        )
        await expect(earlier).to_contain_text("Speaks some Italian.")
        await expect(ana.locator("#transcript .from-user").last).to_contain_text("COUNSELLOR")
        await expect(ana.locator("#transcript")).not_to_contain_text("my papers")
        await expect(ana.locator("#earlier-hidden-note")).to_contain_text("messages")
    finally:
        await tabs.close()
    assert not tabs.problems, tabs.problems


async def test_supervisor_statistics_page_and_setting(app, tabs, redis, tmp_path):
    # Example counts (nobody real), over two weeks, as the app would have counted them.
    now = time.time()
    for days_ago in range(14):
        when = now - days_ago * 86400
        for number in range(3 + (days_ago * 7) % 9):
            severity = ("high", "asked", "critical", "medium")[number % 4]
            channel = ("sms", "telegram", "whatsapp", "web")[number % 4]
            commands = stats.counts(when, UTC, "handoffs", channel=channel, language="ro",
                                    severity=severity, risk="none")  # fmt: skip
            commands += stats.counts(when, UTC, "conversations", channel=channel, language="ro")
            commands += stats.counts(when, UTC, "conversations", channel=channel, language="uk")
            commands += stats.counts(when, UTC, "claimed", counsellor="ana",
                                     wait=stats.wait_bucket(60 * (number + 1)))  # fmt: skip
            commands += stats.counts(when, UTC, "closed", outcome="Information given",
                                     counsellor="ana", **{"wrapup.needs": ["shelter"]})  # fmt: skip
            for command in commands:
                await redis.execute_command(*command)
    sue = await tabs.console("sue")
    await sue.get_by_role("link", name="Statistics").click()
    view = sue.locator("#stats-view")
    await expect(view.get_by_role("heading", name="Statistics")).to_be_visible()
    await expect(sue.locator("#stats-status")).to_contain_text("per day")
    cards = sue.locator("#stats-cards")
    await expect(cards.locator(".stat", has_text="Handoffs to counsellors")).to_contain_text(
        re.compile(r"\d\d+")
    )
    await expect(cards.locator(".stat", has_text="Left for safety")).to_contain_text("<5")
    await expect(cards.locator(".stat", has_text="Median wait")).to_contain_text("min")
    await expect(sue.locator("#stats-chart .bar")).to_have_count(30)
    await expect(sue.locator("#stats-chart .bar.small").first).to_be_visible()  # days under 5
    needs = sue.locator(".breakdown", has_text="Needs (closed conversations)")
    await expect(needs).to_contain_text("A safe place to sleep")
    await expect(sue.locator(".breakdown", has_text="by channel").first).to_contain_text("WhatsApp")
    href = await sue.locator("#stats-csv").get_attribute("href")
    assert "format=csv" in href
    await sue.set_viewport_size({"width": 1280, "height": 1400})
    await sue.screenshot(path=str(screenshots_dir(tmp_path) / "console-stats.png"), full_page=False)

    weekly = sue.locator("#stats-by")
    await weekly.select_option("week")
    await sue.get_by_role("button", name="Show").click()
    await expect(sue.locator("#stats-chart .bar").first).to_have_attribute(
        "title", re.compile("-W")
    )

    setting = sue.get_by_label("Counsellors may read the transcripts of her earlier")
    await expect(setting).not_to_be_checked()
    await setting.check()
    await expect(sue.locator("#settings-status")).to_contain_text("Saved: counsellors now see")
    assert await redis.hget(keys.CONSOLE_SETTINGS, "earlier_transcripts") == b"1"

    ana = await tabs.console("ana")
    await expect(ana.locator("#nav-stats")).to_be_hidden()


# ---------------------------------------------------------------------- a large queue (issue 19)


async def test_a_large_queue_shows_true_counts_pages_and_filters(app, tabs, redis):
    queue = HandoffQueue(redis)
    now = time.time()
    levels = ("critical", "high", "medium", "asked")
    for n in range(260):  # example entries, nobody real behind them
        await queue.enqueue(
            f"example{n:04d}" + "x" * 10,
            levels[n % 4],
            category=None,
            reason="asked",
            channel=("sms", "telegram")[n % 2],
            language=("ro", "ar")[(n // 4) % 2],
            now=now - n,
        )
    sue = await tabs.console("sue")
    await expect(sue.locator("#queue-summary")).to_have_text("260 waiting · 0 with a counsellor")
    await expect(sue).to_have_title("(260) Helpline console")
    await expect(sue.locator(".queue-item")).to_have_count(100)
    status = sue.locator("#queue-page-status")
    await expect(status).to_have_text("Showing 1–100 of 260")
    await sue.get_by_role("button", name="Next 100").click()
    await expect(status).to_have_text("Showing 101–200 of 260")
    await sue.get_by_role("button", name="Next 100").click()
    await expect(status).to_have_text("Showing 201–260 of 260")
    await expect(sue.locator(".queue-item")).to_have_count(60)
    await expect(sue.get_by_role("button", name="Next 100")).to_be_disabled()
    # The team view says the same.
    await sue.get_by_role("link", name="Team").click()
    await expect(sue.locator("#stat-waiting")).to_have_text("260")

    await sue.get_by_label("Urgency").select_option("critical")
    await expect(status).to_have_text("Showing 1–65 of 65 matching")
    await expect(sue.locator(".queue-item .badge")).to_have_text(["Critical"] * 65)
    await sue.get_by_label("Language").select_option("ar")  # n = 4, 12, 20 ... 252
    await expect(status).to_have_text("Showing 1–32 of 32 matching")
    await expect(sue.locator(".queue-item").first).to_contain_text("Arabic · SMS")
    await sue.get_by_label("Channel").select_option("telegram")
    await expect(sue.locator("#queue-empty")).to_have_text("Nobody here matches these filters.")
    # The summary still counts the whole queue.
    await expect(sue.locator("#queue-summary")).to_have_text("260 waiting · 0 with a counsellor")


async def test_after_close_focus_returns_to_the_queue(app, tabs):
    ana = await tabs.console("ana")
    for _ in range(2):
        chat = WebChat(app)
        await chat.start()
        await chat.send("COUNSELLOR")
    await expect(ana.locator(".queue-item")).to_have_count(2)
    first = ana.locator(".queue-item").first
    await first.locator("a").click()
    await ana.get_by_role("button", name="Claim").click()
    await ana.get_by_role("button", name="Close…").click()
    await ana.get_by_label("Outcome").select_option("Information given")
    await ana.get_by_role("button", name="Close conversation").click()
    await expect(ana.locator(".queue-item")).to_have_count(1)
    await expect(ana.locator(".queue-item a").first).to_be_focused()
    await ana.locator(".queue-item a").first.click()
    await ana.get_by_role("button", name="Claim").click()
    await ana.get_by_role("button", name="Close…").click()
    await ana.get_by_label("Outcome").select_option("Information given")
    await ana.get_by_role("button", name="Close conversation").click()
    await expect(ana.locator("#queue-title")).to_be_focused()  # nothing left: the queue itself


async def test_reassigning_to_someone_offline_asks_first(app, tabs, redis):
    queue = HandoffQueue(redis)
    await queue.enqueue(
        "example" + "c" * 20,
        "critical",
        category="confinement",
        reason="risk",
        channel="sms",
        language="ro",
    )
    sue = await tabs.console("sue")  # bea never signed in: offline
    await sue.get_by_role("link", name="Team").click()
    row = sue.locator("#open-rows tr").first
    await row.locator("select").select_option("bea")
    await row.get_by_role("button", name="Reassign").click()
    await expect(sue.locator("#team-status")).to_have_text(
        "This is a critical conversation. bea is offline: nobody will see this conversation "
        "until bea signs in. Press “Reassign anyway” to confirm, or choose someone online."
    )
    assert (await redis.hget(keys.handoff("example" + "c" * 20), "assigned_to")) in (None, b"")
    await row.get_by_role("button", name="Reassign anyway").click()
    await expect(sue.locator("#team-status")).to_have_text("Reassigned to bea.")

    # From the conversation too.
    await go(sue, f"#/c/{'example' + 'c' * 20}")
    await sue.get_by_role("button", name="Reassign…").click()
    dialog = sue.locator("#transfer-dialog")
    await dialog.locator("#transfer-to").select_option("ana")
    await dialog.get_by_role("button", name="Reassign", exact=True).click()
    await expect(dialog.locator("#transfer-error")).to_contain_text("ana is offline")
    await dialog.get_by_role("button", name="Reassign anyway").click()
    await expect(sue.locator("#conv-state")).to_have_text("With ana")


# ---------------------------------------------------------------------- screenshots for the README


async def test_screenshots(app, tabs, redis, tmp_path):
    # Always taken (and checked to be real PNGs); written into docs/ only when asked.
    out = (
        ROOT / os.environ["HELPLINE_SCREENSHOTS"]
        if os.environ.get("HELPLINE_SCREENSHOTS")
        else tmp_path
    )
    out.mkdir(exist_ok=True)
    queue = HandoffQueue(redis)
    now = time.time()
    # Example queue entries (nobody real behind them), to show every urgency.
    examples = (
        ("b", "high", "trafficking_control", "sms", "bg", 170),
        ("c", "medium", "sexual_violence", "telegram", "ar", 200),
        ("d", "asked", None, "sms", "uk", 620),
        ("e", "high", "confinement", "telegram", "ru", 900),
    )
    for name, level, category, channel, language, waited in examples:
        await queue.enqueue(
            name * 20,
            level,
            category=category,
            reason="risk",
            channel=channel,
            language=language,
            now=now - waited,
        )
    await queue.claim("e" * 20, "bea")
    ana = await tabs.console("ana")
    await ana.set_viewport_size({"width": 1280, "height": 920})
    await expect(ana.locator(".queue-item")).to_have_count(len(examples))
    await queue.enqueue(
        "a" * 20,
        "critical",
        category="confinement",
        reason="risk",
        channel="telegram",
        language="ro",
        now=now - 40,
    )
    person = await tabs.person()
    await person_writes(person, RISK_TEXT)
    row = ana.locator(".queue-item").filter(has_text="Web chat")
    await expect(row).to_be_visible()
    await expect(ana.locator("#alerts .alert-item")).to_be_visible()
    await ana.mouse.move(0, 700)
    await ana.screenshot(path=str(out / "console-queue.png"))

    await ana.locator("#alerts").get_by_role("button", name="Dismiss").click()
    await row.locator("a").click()
    await ana.get_by_role("button", name="Claim").click()
    await ana.locator("#reply-text").fill(
        "Hello, I am Ana, a counsellor. I am here with you. Are you somewhere safe right now?"
    )
    await ana.locator("#reply-text").press("Enter")
    await expect(person.locator("#messages")).to_contain_text("I am here with you")
    await person_writes(person, "I am in the bathroom. He is sleeping. I don't know the address.")
    await expect(ana.locator("#transcript .from-user")).to_have_count(3)
    await ana.locator("#reply-text").fill("You did the right thing by writing.")
    await expect(ana.locator("#transcript .delivery").last).to_have_text("Sent")
    await ana.mouse.move(0, 700)
    await ana.screenshot(path=str(out / "console-conversation.png"))
    for name in ("console-queue.png", "console-conversation.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("HELPLINE_SCREENSHOTS_MORE"):  # other sizes, to look at, not for the README
        for width, height in ((820, 1180), (390, 844)):
            await ana.set_viewport_size({"width": width, "height": height})
            await ana.screenshot(path=str(out / f"console-{width}.png"))
        sue = await tabs.console("sue")
        await sue.get_by_role("link", name="Team").click()
        await expect(sue.locator("#open-rows tr")).to_have_count(len(examples) + 2)
        await sue.screenshot(path=str(out / "console-team.png"))


# ---------------------------------------------------------------------- the person's web chat


@pytest.mark.parametrize("how", ["button", "typed"])
async def test_web_chat_quick_exit_leaves_no_way_back(app, tabs, redis, how):
    """The Quick exit button, or the exit word typed: the same clean exit."""
    person = await tabs.person()
    await person.route(
        re.compile(r"^https://"),
        lambda route: route.fulfill(body="<h1>Weather</h1>", content_type="text/html"),
    )
    await person.get_by_role("button", name="Yes, I can talk").click()
    await expect(person.locator("#messages")).to_contain_text("How can I help you?")
    if how == "button":
        await person.get_by_role("button", name="Quick exit").click()
    else:
        await person_writes(person, "EXIT")
    await person.wait_for_url(re.compile(r"^https://"))
    assert "Weather" in await person.content()
    await person.go_back()  # the chat was replaced, not pushed: Back does not return to it
    assert not person.url.startswith(app.make_url("/").human_repr().rstrip("/"))
    for _ in range(50):
        if not await redis.keys("hl:c:*"):
            break
        await asyncio.sleep(0.05)
    assert await redis.keys("hl:c:*") == []
    # Coming back later starts afresh: nothing of the old conversation, a new welcome.
    await person.goto(str(app.make_url("/")))
    await expect(person.locator("#messages li.bot").first).to_contain_text("confidential")
    await expect(person.locator("#messages")).not_to_contain_text("How can I help you?")


async def test_web_chat_shows_arabic_right_to_left(app, tabs):
    page = await tabs.open("/")
    await expect(page.locator("#messages")).to_contain_text("confidential")
    await page.get_by_role("button", name="Yes, I can talk").click()
    await page.locator("#text").fill("LANGUAGE")
    await page.locator("#text").press("Enter")
    await page.get_by_role("button", name="العربية").click()
    arabic = page.locator("#messages li.bot").last
    await expect(arabic).to_contain_text("؟")
    direction = await arabic.evaluate("element => getComputedStyle(element).direction")
    assert direction == "rtl"
    # the page's own words follow her language, and the page mirrors
    catalogs = Catalogs(ROOT / "locales")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    await expect(page.locator("#quick-exit")).to_have_text(catalogs.text("ar", "Quick exit"))
    await expect(page.locator("#send")).to_have_text(catalogs.text("ar", "Send"))
    await expect(page.locator("#text")).to_have_attribute(
        "placeholder", catalogs.text("ar", "Write a message")
    )


async def test_web_chat_first_screen_is_in_the_browsers_language(app, tabs):
    catalogs = Catalogs(ROOT / "locales")
    page = await tabs.open("/", locale="ro-RO")
    welcome = page.locator("#messages li.bot").first
    await expect(welcome).to_contain_text("confidențial")
    await expect(page.locator("html")).to_have_attribute("lang", "ro")
    await expect(page.locator("#quick-exit")).to_have_text(catalogs.text("ro", "Quick exit"))
    assert catalogs.text("ro", "Quick exit") != "Quick exit"
    arabic = await tabs.open("/", locale="ar")
    await expect(arabic.locator("html")).to_have_attribute("dir", "rtl")
    arabic_exit = catalogs.text("ar", "EXIT").split(",")[0].strip()
    assert arabic_exit != "EXIT"
    await expect(arabic.locator("#messages li.bot").first).to_contain_text(arabic_exit)
