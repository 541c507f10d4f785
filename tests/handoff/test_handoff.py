"""Opening hours, the first supervisor account, retention of everything about a conversation."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from handoff.counsellors import Counsellors
from handoff.hours import OpeningHours, OpeningHoursError
from tests.conftest import FLOWS


def at(day: int, hour: int, zone: str = "Europe/Rome") -> float:
    """2026-11-23 is a Monday."""
    return datetime(2026, 11, 23 + day, hour, 30, tzinfo=ZoneInfo(zone)).timestamp()


def test_opening_hours():
    hours = OpeningHours(
        {
            "timezone": "Europe/Rome",
            "mon": "09:00-17:00",
            "tue": "09:00-12:00, 19:00-22:00",
            "sat": "closed",
        }
    )
    assert hours.is_open(at(0, 10)) and not hours.is_open(at(0, 18))
    assert hours.is_open(at(1, 20)) and not hours.is_open(at(1, 15))
    assert not hours.is_open(at(5, 10)) and not hours.is_open(at(6, 10))
    assert hours.describe("en").startswith("Mon 09:00-17:00; Tue 09:00-12:00, 19:00-22:00")
    assert hours.describe("de").startswith("Mo. 09:00-17:00")
    assert OpeningHours({}).is_open(at(6, 3))
    with pytest.raises(OpeningHoursError):
        OpeningHours({"mon": "nine to five"})
    with pytest.raises(OpeningHoursError):
        OpeningHours({"timezone": "Mars/Olympus"})


async def test_outside_opening_hours_she_is_told_so_and_still_queued(make_client, tmp_path, redis):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    settings = (
        (flows / "settings.yaml")
        .read_text()
        .replace("opening_hours: {}", 'opening_hours: {timezone: UTC, sun: "00:00-00:01"}')
    )
    (flows / "settings.yaml").write_text(settings)
    client = await make_client(flows_dir=flows)
    chat = WebChat(client)
    await chat.start()
    text = await chat.say("COUNSELLOR")
    assert (
        "Our counsellors are not working now" in text
        and "Opening hours: Sun 00:00-00:01 (UTC)" in text
    )
    assert "call 112" in text
    assert await redis.zcard("hl:queue:waiting") == 1


async def test_first_start_creates_one_supervisor_once(make_client, redis):
    from helpline.app import first_admin

    client = await make_client()
    assert not await redis.exists("hl:counsellor:admin")  # not before the server listens
    password = await first_admin(client.app)
    assert password and await Counsellors(redis).verify("admin", password) == "supervisor"
    assert await first_admin((await make_client()).app) is None


async def test_processes_starting_together_create_one_first_supervisor(redis):
    """Several app processes started at once on a new Redis: one admin, one
    password printed, and that password is the one that works."""
    from handoff.counsellors import Counsellors
    from handoff.sessions import create_first_admin

    passwords = await asyncio.gather(*(create_first_admin(Counsellors(redis)) for _ in range(5)))
    created = [p for p in passwords if p]
    assert len(created) == 1
    assert await Counsellors(redis).verify("admin", created[0])


async def test_everything_about_a_conversation_expires_after_the_retention_period(
    make_client, redis
):
    client = await make_client(retention_days=3)
    chat = WebChat(client)
    await chat.start()
    await chat.say("1")
    await settled(redis)
    keys = await redis.keys("hl:c:*")
    assert len(keys) >= 4  # state, address, transcript, delivery, web mailbox...
    for key in keys:
        ttl = await redis.ttl(key)
        assert 3 * 86400 - 60 < ttl <= 3 * 86400, (key, ttl)
