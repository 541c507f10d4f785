"""Signing in under attack: tries counted before the check, throttled per client
and account, X-Forwarded-For believed only from trusted proxies, password checks
off the event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import threading

import pytest

from handoff import counsellors as accounts
from handoff.counsellors import Busy, Counsellors
from handoff.sessions import ACCOUNT_TRIES, CLIENT_TRIES

PASSWORD = "correct horse battery"
PROXY = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
async def team(redis):
    counsellors = Counsellors(redis)
    await counsellors.add("ana", PASSWORD, "counsellor")
    await counsellors.add("sue", PASSWORD, "supervisor")
    return counsellors


async def sign_in(client, user: str, password: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/console/api/login", json={"username": user, "password": password}, headers=headers
    )


async def test_a_flood_of_wrong_passwords_gets_only_the_allowed_checks(make_client, team):
    client = await make_client()
    answers = await asyncio.gather(*(sign_in(client, "sue", "wrong password") for _ in range(60)))
    statuses = [a.status for a in answers]
    assert statuses.count(401) == ACCOUNT_TRIES.most  # counted before checking, atomically
    assert statuses.count(429) == 60 - ACCOUNT_TRIES.most
    refused = next(a for a in answers if a.status == 429)
    assert 0 < int(refused.headers["Retry-After"]) <= ACCOUNT_TRIES.window_s
    assert "Too many sign-in attempts" in (await refused.json())["error"]
    # still refused with the right password from there: the flood does not get a free try
    assert (await sign_in(client, "sue", PASSWORD)).status == 429


async def test_an_attacker_never_locks_a_counsellor_out(make_client, team):
    client = await make_client(trusted_proxies=PROXY)
    attacker, counsellor = "203.0.113.9", "198.51.100.7"
    for _ in range(ACCOUNT_TRIES.most + 3):
        await sign_in(client, "sue", "wrong password", forwarded_for=attacker)
    assert (await sign_in(client, "sue", PASSWORD, forwarded_for=attacker)).status == 429
    # Sue, behind the same reverse proxy, signs in at once
    assert (await sign_in(client, "sue", PASSWORD, forwarded_for=counsellor)).status == 200
    # and so does Ana from the attacker's own address: the account is what was attacked
    assert (await sign_in(client, "ana", PASSWORD, forwarded_for=attacker)).status == 200


async def test_one_client_trying_many_accounts_is_throttled(make_client, team):
    client = await make_client(trusted_proxies=PROXY)
    statuses = [
        (await sign_in(client, f"user{i}", "wrong password", forwarded_for="203.0.113.9")).status
        for i in range(CLIENT_TRIES.most + 2)
    ]
    assert statuses == [401] * CLIENT_TRIES.most + [429, 429]
    assert (await sign_in(client, "ana", PASSWORD, forwarded_for="198.51.100.7")).status == 200


async def test_forwarded_for_is_not_believed_from_an_untrusted_peer(make_client, team):
    client = await make_client()  # no HELPLINE_TRUSTED_PROXIES
    for i in range(ACCOUNT_TRIES.most):
        await sign_in(client, "sue", "wrong password", forwarded_for=f"203.0.113.{i}")
    # a forged header per try does not buy new tries
    answer = await sign_in(client, "sue", PASSWORD, forwarded_for="198.51.100.99")
    assert answer.status == 429


async def test_a_right_password_gives_its_try_back(make_client, team):
    client = await make_client()
    for _ in range(ACCOUNT_TRIES.most * 2):
        assert (await sign_in(client, "ana", PASSWORD)).status == 200


async def test_passwords_are_checked_off_the_event_loop(make_client, team, monkeypatch):
    loop_thread = threading.current_thread()
    checked_in: list[threading.Thread] = []
    matches = accounts._matches

    def recording(hashed: str, password: str) -> bool:
        checked_in.append(threading.current_thread())
        return matches(hashed, password)

    monkeypatch.setattr(accounts, "_matches", recording)
    client = await make_client(trusted_proxies=PROXY)
    logins = [
        asyncio.ensure_future(sign_in(client, "ana", PASSWORD, forwarded_for=f"203.0.113.{i}"))
        for i in range(12)
    ]
    await asyncio.sleep(0.05)  # the checks are under way
    assert (await client.get("/healthz")).status == 200
    assert sum(not login.done() for login in logins) >= 6  # answered while most still wait
    assert [r.status for r in await asyncio.gather(*logins)] == [200] * 12
    assert len(checked_in) == 12 and loop_thread not in checked_in


async def test_too_many_waiting_checks_are_refused_with_retry_after(make_client, team, monkeypatch):
    monkeypatch.setattr(accounts, "VERIFY_QUEUE", 3)
    client = await make_client(trusted_proxies=PROXY)
    answers = await asyncio.gather(
        *(sign_in(client, "ana", PASSWORD, forwarded_for=f"203.0.113.{i}") for i in range(10))
    )
    busy = [a for a in answers if a.status == 503]
    assert busy and all(a.status in (200, 503) for a in answers)
    assert busy[0].headers["Retry-After"] == "5"
    assert "try again in a few seconds" in (await busy[0].json())["error"]
    # a busy refusal is not held against the client
    assert (await sign_in(client, "ana", PASSWORD, forwarded_for="203.0.113.1")).status == 200


async def test_disabled_accounts_cannot_sign_in(redis, team):
    session = await team.open_session("ana", "counsellor")
    await team.set_disabled("ana", True)
    assert await team.verify("ana", PASSWORD) is None
    assert await team.get_session(session.id) is None
    await team.set_disabled("ana", False)
    assert await team.verify("ana", PASSWORD) == "counsellor"


async def test_busy_is_raised_only_beyond_the_queue(redis, team, monkeypatch):
    monkeypatch.setattr(accounts, "VERIFY_QUEUE", 1)
    results = await asyncio.gather(
        *(team.verify("ana", PASSWORD) for _ in range(4)), return_exceptions=True
    )
    assert results[0] == "counsellor"
    assert any(isinstance(r, Busy) for r in results)
