"""Casework (issue 18): the wrap-up on close, her earlier contacts when she
writes again, and the anonymous statistics, through the console API and the CLI,
against the whole app and a real Redis."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import time
from datetime import UTC, datetime

import pytest

from bot.store import keys
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from handoff.counsellors import Counsellors
from tests.conftest import FLOWS, helpline

PASSWORD = "correct horse battery"
RISK = "he took my passport and locks me in"


async def login(client, user: str) -> dict:
    response = await client.post(
        "/console/api/login", json={"username": user, "password": PASSWORD}
    )
    assert response.status == 200, await response.text()
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


@pytest.fixture
async def team(redis):
    counsellors = Counsellors(redis)
    await counsellors.add("ana", PASSWORD, "counsellor")
    await counsellors.add("sue", PASSWORD, "supervisor")
    return counsellors


@pytest.fixture
def strict_flows(tmp_path):
    """The shipped flows, with the kind of exploitation required on close."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    wrapup = flows / "wrapup.yaml"
    text = wrapup.read_text()
    head, _, rest = text.partition("  exploitation:\n")
    rest = rest.replace("    required: false\n", "    required: true\n", 1)
    wrapup.write_text(head + "  exploitation:\n" + rest)
    return flows


async def queue_ids(client) -> set[str]:
    return {e["id"] for e in await (await client.get("/console/api/queue")).json()}


async def she_asks(client, chat: WebChat | None = None, text: str = "COUNSELLOR"):
    """A person (new, or `chat` again) who asks for a counsellor: her chat and id."""
    before = await queue_ids(client)
    if chat is None:
        chat = WebChat(client)
        await chat.start()
    await chat.say(text)
    for _ in range(100):
        new = await queue_ids(client) - before
        if new:
            return chat, new.pop()
        await asyncio.sleep(0.05)
    raise AssertionError("she did not reach the queue")


async def close(client, pid: str, headers: dict, **body):
    body = {"outcome": "Information given", "notes": "", "return_to_bot": False, **body}
    return await client.post(f"/console/api/conversations/{pid}/close", json=body, headers=headers)


# ---------------------------------------------------------------------- wrap-up


async def test_the_api_enforces_the_wrapup_and_changes_nothing_on_a_bad_one(
    make_client, team, redis, strict_flows
):
    client = await make_client(flows_dir=strict_flows)
    headers = await login(client, "ana")
    form = await (await client.get("/console/api/wrapup")).json()
    fields = {f["id"]: f for f in form["fields"]}
    assert fields["exploitation"]["required"] is True
    assert fields["exploitation"]["choose"] == "many"
    assert {"id": "sexual", "label": "Sexual exploitation"} in fields["exploitation"]["choices"]
    assert "Safety plan made" in form["outcomes"]

    _, pid = await she_asks(client)
    await client.post(f"/console/api/conversations/{pid}/claim", headers=headers)
    refused = {
        "missing": ({}, "Kind of exploitation"),
        "unknown field": ({"exploitation": ["sexual"], "age": "17"}, "no field 'age'"),
        "unknown choice": ({"exploitation": ["dancing"]}, "wrapup.exploitation"),
        "not a list": ({"exploitation": "sexual"}, "wrapup.exploitation"),
        "twice": ({"exploitation": ["sexual", "sexual"]}, "distinct"),
        "one of many": ({"exploitation": ["sexual"], "contact": ["herself"]}, "one choice"),
        "not an object": (["sexual"], "JSON object"),
    }
    for case, (wrapup, words) in refused.items():
        response = await close(client, pid, headers, wrapup=wrapup)
        assert response.status == 400, case
        assert words in (await response.json())["error"], case
    record = await redis.hgetall(keys.handoff(pid))
    assert record[b"status"] == b"assigned"  # nothing changed
    assert not await redis.exists(keys.wrapups(pid))
    assert pid in await queue_ids(client)

    done = await close(
        client,
        pid,
        headers,
        outcome="Safety plan made",
        notes="Will write tonight.",
        wrapup={"exploitation": ["labour", "sexual"], "needs": ["shelter"]},
    )
    assert done.status == 200, await done.text()
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    assert body["state"] == "closed"
    # kept in the file's order, whatever order it came in
    assert body["wrapup"] == {"exploitation": ["sexual", "labour"], "needs": ["shelter"]}
    assert body["earlier_contacts"] == []
    # sealed with her key, like her words: no choice readable in Redis
    stored = await redis.lrange(keys.wrapups(pid), 0, -1)
    assert len(stored) == 1 and b"labour" not in stored[0] and b"Will write" not in stored[0]


async def test_the_shipped_flows_require_nothing_so_the_specs_close_works(make_client, team):
    client = await make_client()
    headers = await login(client, "ana")
    _, pid = await she_asks(client)
    response = await close(client, pid, headers, outcome="resolved")
    assert response.status == 200


async def test_a_bad_wrapup_file_is_reported_with_file_line_col(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    (flows / "wrapup.yaml").write_text(
        "outcomes: [Information given]\n"
        "fields:\n"
        "  needs:\n"
        "    label: Needs\n"
        "    choose: several\n"
        "    choices: {shelter: Shelter}\n"
    )
    result = helpline("flows", "check", str(flows))
    assert result.returncode == 1
    assert "wrapup.yaml:5:" in result.stdout + result.stderr
    assert "`choose:` is `one` or `many`" in result.stdout + result.stderr


# ---------------------------------------------------------------------- returning contacts


async def test_when_she_writes_again_her_counsellor_sees_earlier_wrapups_not_transcripts(
    make_client, team, redis
):
    client = await make_client()
    ana = await login(client, "ana")
    chat, pid = await she_asks(client)
    await client.post(f"/console/api/conversations/{pid}/claim", headers=ana)
    await chat.send("my old secret words")
    await settled(redis)
    done = await close(
        client,
        pid,
        ana,
        outcome="Referred to a shelter or service",
        notes="Prefers Romanian.",
        wrapup={"needs": ["shelter", "rights"], "referrals": ["shelter"]},
    )
    assert done.status == 200

    # She writes again a day later (same address: same pseudonymous id).
    again, same = await she_asks(client, chat)
    assert same == pid
    await client.post(f"/console/api/conversations/{pid}/claim", headers=ana)
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    [earlier] = body["earlier_contacts"]
    assert earlier["outcome"] == "Referred to a shelter or service"
    assert earlier["notes"] == "Prefers Romanian."
    assert earlier["wrapup"] == {"needs": ["shelter", "rights"], "referrals": ["shelter"]}
    assert earlier["closed_by"] == "ana" and earlier["closed_at"] > 0
    texts = [m.get("text") or "" for m in body["messages"]]
    assert not any("my old secret words" in t for t in texts)
    assert body["earlier_hidden"] >= 2
    assert "COUNSELLOR" in texts  # this contact's own words are there

    # Only a supervisor may allow the earlier transcripts; then they are marked.
    assert (await client.get("/console/api/settings")).status == 200
    refused = await client.post(
        "/console/api/settings", json={"earlier_transcripts": True}, headers=ana
    )
    assert refused.status == 403
    sue_client = await make_client()
    sue = await login(sue_client, "sue")
    for bad in ({"earlier_transcripts": "yes"}, {"other": True}, {}):
        response = await sue_client.post("/console/api/settings", json=bad, headers=sue)
        assert response.status == 400
    allowed = await sue_client.post(
        "/console/api/settings", json={"earlier_transcripts": True}, headers=sue
    )
    assert await allowed.json() == {"earlier_transcripts": True}
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    old = [m for m in body["messages"] if "my old secret words" in (m.get("text") or "")]
    assert old and old[0]["earlier"] is True
    assert "earlier_hidden" not in body
    audit = await (await sue_client.get("/console/api/audit")).json()
    assert any(e["action"] == "settings" and e["actor"] == "sue" for e in audit)


async def test_a_safe_exit_erases_her_wrapups(make_client, team, redis):
    client = await make_client()
    ana = await login(client, "ana")
    chat, pid = await she_asks(client)
    await close(client, pid, ana, wrapup={"needs": ["health"]}, notes="asked about a doctor")
    assert await redis.exists(keys.wrapups(pid))
    assert 0 < await redis.ttl(keys.wrapups(pid)) <= 30 * 86400  # kept with the retention
    await chat.send("EXIT")
    await settled(redis)
    assert not await redis.exists(keys.wrapups(pid))
    # She writes again: a new contact with no history.
    _, again = await she_asks(client, chat)
    body = await (await client.get(f"/console/api/conversations/{again}")).json()
    assert body["earlier_contacts"] == []


# ---------------------------------------------------------------------- statistics


async def test_statistics_count_hide_small_cells_and_export_csv(make_client, team, redis, settings):
    client = await make_client(web_chat_limits=False)  # six people from one address
    ana = await login(client, "ana")
    people = []
    for number in range(6):
        chat, pid = await she_asks(client, text=RISK if number == 0 else "COUNSELLOR")
        people.append((chat, pid))
    for number, (_, pid) in enumerate(people[:5]):
        await client.post(f"/console/api/conversations/{pid}/claim", headers=ana)
        outcome = "Information given" if number < 4 else "Safety plan made"
        response = await close(client, pid, ana, outcome=outcome, wrapup={"needs": ["shelter"]})
        assert response.status == 200
    await settled(redis)

    assert (await client.get("/console/api/stats")).status == 403  # counsellors: no
    sue_client = await make_client()
    await login(sue_client, "sue")
    today = datetime.now(UTC).date().isoformat()
    body = await (await sue_client.get(f"/console/api/stats?from={today}&to={today}")).json()
    assert body["columns"] == ["period", "measure", "dimension", "group", "value"]
    assert body["from"] == body["to"] == today and body["by"] == "day"
    rows = {
        (r["period"], r["measure"], r["dimension"], r["group"]): r["value"] for r in body["rows"]
    }
    assert rows[(today, "handoffs", "all", "all")] == 6
    assert rows[(today, "handoffs", "channel", "web")] == 6
    assert rows[(today, "conversations", "all", "all")] == 6
    assert rows[(today, "closed", "all", "all")] == 5
    assert rows[(today, "closed", "outcome", "Information given")] == "<5"  # 4
    assert rows[(today, "closed", "outcome", "Safety plan made")] == "<5"  # 1
    assert rows[(today, "closed", "wrapup.needs", "shelter")] == 5
    assert rows[(today, "closed", "counsellor", "ana")] == 5
    assert rows[(today, "claimed", "all", "all")] == 5
    assert isinstance(rows[(today, "wait_median_seconds", "all", "all")], int)
    assert rows[(today, "handoffs", "severity", "asked")] == 5
    assert rows[("total", "handoffs", "all", "all")] == 6
    # never a count under 5 shown as a number
    for row in body["rows"]:
        assert not (
            isinstance(row["value"], int) and row["value"] < 5 and row["measure"][:5] != "wait_"
        ), row

    response = await sue_client.get(f"/console/api/stats?from={today}&to={today}&format=csv")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = await response.text()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["period", "measure", "dimension", "group", "value"]
    assert [today, "handoffs", "all", "all", "6"] in table
    assert [today, "closed", "outcome", "Safety plan made", "<5"] in table
    for _, pid in people:  # no ids, no words
        assert pid not in text
    assert "COUNSELLOR" not in text and "passport" not in text

    for query, words in {
        "from=2026-13-01": "YYYY-MM-DD",
        "from=2026-12-05&to=2026-12-01": "after",
        "from=2010-01-01&to=2026-12-01": "at most",
        "by=month": "`by`",
        "format=xml": "`format`",
    }.items():
        bad = await sue_client.get(f"/console/api/stats?{query}")
        assert bad.status == 400 and words in (await bad.json())["error"], query

    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "HELPLINE_DATA_DIR": str(settings.data_dir),
    }
    done = await asyncio.to_thread(helpline, "stats", "--from", today, "--to", today, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.replace("\r\n", "\n") == text.replace("\r\n", "\n")
    weekly = await asyncio.to_thread(
        helpline, "stats", "--from", today, "--to", today, "--by", "week", env=env
    )
    assert weekly.returncode == 0 and "-W" in weekly.stdout
    bad = await asyncio.to_thread(helpline, "stats", "--from", "yesterday", "--to", today, env=env)
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr and bad.stdout == ""


async def test_statistics_outlive_the_conversations_and_hold_no_ids(make_client, team, redis):
    client = await make_client()
    ana = await login(client, "ana")
    chat, pid = await she_asks(client)
    await close(client, pid, ana)
    await chat.send("EXIT")
    await settled(redis)
    day_keys = await redis.keys("hl:stats:*")
    assert len(day_keys) == 1
    assert await redis.ttl(day_keys[0]) > 4 * 365 * 86400
    fields = b" ".join(await redis.hkeys(day_keys[0]))
    assert pid.encode() not in fields and b"COUNSELLOR" not in fields
    assert b"left" not in fields  # she left after the close, not while waiting


async def test_the_report_reads_weeks_percentiles_and_hides_small_waits(redis):
    from datetime import date

    from bot.store import stats
    from handoff.stats import Range, as_csv, report

    monday = datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()  # ISO week 49
    waits = [20, 50, 100, 100, 250, 250, 250, 500, 800, 4000]  # seconds until a claim
    for n, waited in enumerate(waits):
        when = monday + (n % 7) * 86400  # Monday to Sunday of one week
        for command in stats.counts(when, UTC, "claimed", wait=stats.wait_bucket(waited)):
            await redis.execute_command(*command)
    sunday_before = monday - 86400  # week 48: three claims only
    for waited in (10, 10, 10):
        for command in stats.counts(sunday_before, UTC, "claimed", wait=stats.wait_bucket(waited)):
            await redis.execute_command(*command)
    for command in stats.counts(monday, UTC, "closed", outcome='=HYPERLINK("x")'):
        await redis.execute_command(*command)

    span = Range.parse("2026-11-29", "2026-12-06", "week", date(2026, 12, 6))
    body = await report(redis, span, UTC)
    rows = {
        (r["period"], r["measure"]): r["value"] for r in body["rows"] if r["dimension"] == "all"
    }
    assert rows[("2026-W49", "claimed")] == 10
    assert rows[("2026-W49", "wait_median_seconds")] == 300  # the 5th of 10 is in (180, 300]
    assert rows[("2026-W49", "wait_p90_seconds")] == 900  # the 9th: 800 s, in (600, 900]
    assert rows[("2026-W48", "claimed")] == "<5"
    assert rows[("2026-W48", "wait_median_seconds")] == "<5"  # three waits tell too much
    assert rows[("total", "claimed")] == 13
    text = as_csv(body)
    assert "'=HYPERLINK" in text  # a spreadsheet shows it, never runs it
    assert not any(line.startswith("=") or ",=" in line for line in text.splitlines())


# ---------------------------------------------------------------------- a large queue (issue 19)


async def test_the_queue_pages_filters_and_counts_every_entry(make_client, team, redis):
    from handoff.queue import HandoffQueue

    queue = HandoffQueue(redis)
    now = time.time()
    levels = ("critical", "high", "medium", "asked")
    channels = ("sms", "telegram", "whatsapp", "web")
    for n in range(250):
        await queue.enqueue(
            f"example{n:04d}" + "x" * 10,
            levels[n % 4],
            category=None,
            reason="asked",
            channel=channels[(n // 4) % 4],
            language=("ro", "ar", "en")[n % 3],
            now=now - n * 7,  # up to 29 minutes: aged up to 5 levels
        )
    for n in range(5):
        await queue.claim(f"example{n:04d}" + "x" * 10, "ana")
    client = await make_client(clock=lambda: now)  # time stands still: no level changes mid-test
    await login(client, "sue")

    everything = await client.get("/console/api/queue")
    assert len(await everything.json()) == 250  # no page asked: every entry
    assert everything.headers["X-Total-Count"] == "250"
    assert everything.headers["X-Queue-Waiting"] == "245"
    assert everything.headers["X-Queue-Assigned"] == "5"
    assert everything.headers["X-Queue-Languages"].split(",")[:3] == ["ar", "bg", "de"]

    seen: list[str] = []
    for offset in (0, 100, 200):
        page = await client.get(f"/console/api/queue?offset={offset}&limit=100")
        seen += [e["id"] for e in await page.json()]
        assert page.headers["X-Total-Count"] == "250"
    assert len(seen) == len(set(seen)) == 250  # every entry reached, once
    assert seen == [e["id"] for e in await everything.json()]  # in the same order

    critical = await client.get("/console/api/queue?level=critical&channel=sms&limit=10")
    body = await critical.json()
    assert body and all(
        e["effective_priority"] == "critical" and e["channel"] == "sms" for e in body
    )
    expected = sum(
        1
        for e in await everything.json()
        if e["effective_priority"] == "critical" and e["channel"] == "sms"
    )
    assert critical.headers["X-Total-Count"] == str(expected)
    assert critical.headers["X-Queue-Waiting"] == "245"  # the whole queue, whatever the filter
    # by urgency alone the page is read from the waiting set's scores: the same entries
    for level in ("critical", "high", "medium", "asked"):
        wanted = [e["id"] for e in await everything.json() if e["effective_priority"] == level]
        got: list[str] = []
        for offset in range(0, len(wanted) + 1, 20):
            found = await client.get(f"/console/api/queue?level={level}&offset={offset}&limit=20")
            assert found.headers["X-Total-Count"] == str(len(wanted)), level
            got += [e["id"] for e in await found.json()]
        assert got == wanted, (level, len(got), len(wanted))
    arabic = await client.get("/console/api/queue?language=ar")
    assert {e["language"] for e in await arabic.json()} == {"ar"}

    overview = await (await client.get("/console/api/overview")).json()
    assert overview["queue_length"] == 245  # the team view says what the queue pane says
    assert overview["conversations_by_state"] == {"waiting": 245, "assigned": 5}
    assert overview["longest_wait_seconds"] == max(
        e["waiting_seconds"] for e in await everything.json() if e["assigned_to"] is None
    )

    for query in ("limit=0", "limit=1001", "offset=-1", "offset=x", "level=urgent"):
        bad = await client.get(f"/console/api/queue?{query}")
        assert bad.status == 400, query
        assert "error" in await bad.json()
