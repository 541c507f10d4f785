"""The audit of counsellor actions: what supervisors read in the console
(GET /console/api/audit) and operators with `helpline audit`."""

from __future__ import annotations

import asyncio
import os
import subprocess

from tests.conftest import helpline
from tests.handoff.test_console_api import login, queued_person


async def entries(client, **query) -> list[dict]:
    response = await client.get("/console/api/audit", params=query)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_every_counsellor_action_is_audited_by_case_never_with_her_words(
    make_client,
    team,  # noqa: F811 (the fixture imported above)
    redis,
):
    ana = await make_client()
    csrf = await login(ana, "ana")
    await ana.post("/console/api/login", json={"username": "bea", "password": "wrong one"})
    chat, pid = await queued_person(ana, "he took my passport and locks me in")
    headers = {"X-CSRF-Token": csrf}
    assert (
        await ana.post(f"/console/api/conversations/{pid}/claim", headers=headers)
    ).status == 200
    conversation = await (await ana.get(f"/console/api/conversations/{pid}")).json()
    await ana.get(f"/console/api/conversations/{pid}")  # read again at once: noted once
    sent = await ana.post(
        f"/console/api/conversations/{pid}/messages",
        json={"text": "I am here, are you safe now?"},
        headers=headers,
    )
    assert sent.status == 200
    moved = await ana.post(
        f"/console/api/conversations/{pid}/transfer", json={"to": "bea"}, headers=headers
    )
    assert moved.status == 200
    assert (await ana.get("/console/api/audit")).status == 403  # supervisors only

    sue = await make_client()
    await login(sue, "sue")
    found = await entries(sue)
    case = conversation["case"]
    assert len(case) == 6
    assert [(e["actor"], e["action"], e["case"], e["detail"]) for e in reversed(found)] == [
        ("ana", "login", "", ""),
        ("bea", "login_refused", "", ""),
        ("ana", "claim", case, ""),
        ("ana", "read", case, ""),
        ("ana", "reply", case, ""),
        ("ana", "transfer", case, "to bea"),
        ("sue", "login", "", ""),
    ]
    assert all(e["what"] and e["at"] > 0 for e in found)
    everything = str(await redis.xrange("hl:audit"))
    assert (
        "passport" not in everything and "are you safe" not in everything and pid not in everything
    )
    assert [e["action"] for e in await entries(sue, limit="2")] == ["login", "transfer"]
    assert await entries(sue, since=str(found[0]["at"] + 1)) == []
    for bad in ({"limit": "0"}, {"limit": "x"}, {"since": "yesterday"}):
        response = await sue.get("/console/api/audit", params=bad)
        assert response.status == 400 and "error" in await response.json()

    # She leaves: her case reference goes with her conversation, so the audit can
    # no longer say whose case it was.
    await chat.send("EXIT")
    for _ in range(100):
        if not await redis.exists(f"hl:c:{{{pid}}}:case"):
            break
        await asyncio.sleep(0.05)
    keys = [k.decode() for k in await redis.keys("*")]
    # what stays: the marker that tells the console she left, and the web chat's
    # one-minute flood counter
    assert not any(pid in k for k in keys if ":left:" not in k and ":limit:" not in k)
    values = [await redis.get(k) for k in keys if (await redis.type(k)) == b"string"]
    assert case.encode() not in values


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return helpline(*args, env=env)


async def test_helpline_audit_prints_what_operators_and_counsellors_did(
    make_client,
    team,  # noqa: F811
    redis,
    settings,
):
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "HELPLINE_DATA_DIR": str(settings.data_dir),
    }
    changed = await asyncio.to_thread(run_cli, "counsellor", "disable", "bea", env=env)
    assert changed.returncode == 0, changed.stderr
    client = await make_client()
    await login(client, "ana")
    done = await asyncio.to_thread(run_cli, "audit", "--since", "1h", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "cli" in lines[0] and "account_disable" in lines[0] and lines[0].endswith("bea")
    assert "ana" in lines[1] and "login" in lines[1]
    assert lines[-1] == "2 actions"
    future = await asyncio.to_thread(run_cli, "audit", "--since", "2099-01-01", env=env)
    assert future.stdout.splitlines() == ["0 actions"]
    bad = await asyncio.to_thread(run_cli, "audit", "--since", "last week", env=env)
    assert bad.returncode == 1 and "--since" in bad.stderr and bad.stdout == ""
