"""GET /metrics counts the whole line: every process's counters added in Redis,
the queue and the backlog read at the scrape, never personal data in a label."""

from __future__ import annotations

import asyncio
import time

from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from helpline.metrics import Metrics
from tests.handoff.test_console_api import login


def samples_of(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client) -> dict[tuple[str, tuple], float]:
    return samples_of(await (await client.get("/metrics")).text())


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_two_processes_are_counted_together_whichever_is_scraped(make_client, redis):
    # two processes, one Redis; seven people from one test address
    first = await make_client(web_chat_limits=False)
    second = await make_client(web_chat_limits=False)
    for client, people in ((first, 3), (second, 4)):
        for _ in range(people):
            chat = WebChat(client)
            await chat.start()
            await chat.say("1")
    await settled(redis)
    await asyncio.sleep(1.2)  # each process adds its counts every second
    for client in (first, second):
        samples = await scrape(client)
        assert value(samples, "helpline_messages_in_total", channel="web") == 7 * 2  # start, "1"
        assert value(samples, "helpline_processing_seconds_count") == 14
        assert value(samples, "helpline_messages_out_total", channel="web") >= 14


async def test_the_queue_abandonment_risk_and_first_reply_are_measured(
    make_client,
    team,  # noqa: F811 (the fixture imported above)
    redis,
):
    client = await make_client()
    csrf = await login(client, "ana")
    leaving, talking, waiting = WebChat(client), WebChat(client), WebChat(client)
    for chat in (leaving, talking, waiting):
        await chat.start()
    await leaving.say("he has a knife and says he will kill me")
    await talking.say("they took my passport")
    await waiting.say("COUNSELLOR")
    await settled(redis)
    samples = await scrape(client)
    assert value(samples, "helpline_queue_length", severity="critical") == 1
    assert value(samples, "helpline_queue_length", severity="high") == 1
    assert value(samples, "helpline_queue_length", severity="asked") == 1
    assert value(samples, "helpline_queue_length", severity="medium") == 0
    detections = {
        labels: v
        for (name, labels), v in samples.items()
        if name == "helpline_risk_detections_total"
    }
    assert sum(detections.values()) == 2  # the knife and the passport, by language and concept
    assert all(dict(labels).keys() == {"language", "concept"} for labels in detections)

    await leaving.send("EXIT")
    await settled(redis)
    queue = await (await client.get("/console/api/queue")).json()
    pid = next(e["id"] for e in queue if e["priority"] == "high")
    headers = {"X-CSRF-Token": csrf}
    await client.post(f"/console/api/conversations/{pid}/claim", headers=headers)
    for text in ("I am here.", "Are you safe?"):  # only the first reply is timed
        sent = await client.post(
            f"/console/api/conversations/{pid}/messages", json={"text": text}, headers=headers
        )
        assert sent.status == 200
    samples = await scrape(client)
    assert value(samples, "helpline_queue_abandoned_total", reason="exit") == 1
    assert value(samples, "helpline_queue_length", severity="critical") == 0
    assert value(samples, "helpline_first_reply_seconds_count") == 1
    assert value(samples, "helpline_queue_wait_seconds_count") == 1
    assert value(samples, "helpline_backlog_conversations") == 0
    text = await (await client.get("/metrics")).text()
    assert pid not in text and "passport" not in text and "knife" not in text


async def test_a_scrape_during_the_background_flush_still_sees_its_counts(redis, redis_url):
    # the once-a-second flush has taken the counts and is still connecting to
    # write them when a scrape comes: the scrape must wait for that write, not
    # read the totals before it (CI saw a first reply missing this way)
    metrics = Metrics()
    for scraped in range(5):
        metrics.observe("helpline_first_reply_seconds", 3.0)
        fresh = Redis.from_url(redis_url)  # no connection yet: connecting takes a moment
        background = asyncio.create_task(metrics.flush(fresh))
        await asyncio.sleep(0)  # the background flush has taken the counts
        text = (await metrics.render(redis, now=time.time())).decode()
        await background
        await fresh.aclose()
        assert value(samples_of(text), "helpline_first_reply_seconds_count") == scraped + 1
