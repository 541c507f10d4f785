"""The audit of counsellor actions: who signed in, read, claimed, replied to,
transferred, closed or blocked which conversation, and what an operator changed
in the accounts. A supervisors' record, kept in one Redis stream for as long as
conversations are kept (HELPLINE_RETENTION_DAYS), never with a message's text.

A conversation appears under its case reference, a random name kept with the
conversation itself: a safe exit or expiry deletes it with her, so the audit
says that somebody read case 5kq2x7 on Tuesday, never whose case it was.
Supervisors read it in the console's Team view (GET /console/api/audit) and
operators with `helpline audit`.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.store import keys
from bot.store.scripts import load_script

# What is audited, in the words the console and the CLI show.
ACTIONS = {
    "login": "signed in",
    "login_refused": "sign-in refused (wrong password)",
    "logout": "signed out",
    "read": "read the conversation",
    "claim": "claimed",
    "reply": "replied",
    "transfer": "transferred",
    "close": "closed",
    "block": "blocked the sender",
    "unblock": "unblocked the sender",
    "account_add": "account added or changed",
    "account_passwd": "password changed",
    "account_disable": "account disabled",
    "account_enable": "account enabled",
    "account_unlock": "sign-in throttling cleared",
    "stats": "read the statistics",
    "settings": "changed the console's settings",
}
MAX_READ = 1000
CASE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: said aloud, read on paper

AUDIT_LUA = Path(__file__).parent / "lua" / "audit.lua"  # one round trip: case, entry, trim


@dataclass(frozen=True)
class Entry:
    at: float  # seconds since the epoch
    actor: str  # a username, or "cli" for an operator at the command line
    action: str
    case: str = ""  # the conversation's case reference, "" for none
    detail: str = ""  # e.g. who it was transferred to, the outcome, minutes blocked

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "what": ACTIONS.get(self.action, self.action)}


class Audit:
    def __init__(self, redis: Any, retention_s: int):
        self.redis = redis
        self.retention_s = retention_s
        self._record = load_script(redis, AUDIT_LUA)

    async def record(
        self, actor: str, action: str, pid: str | None = None, detail: str = ""
    ) -> None:
        assert action in ACTIONS, action
        made = "".join(secrets.choice(CASE_ALPHABET) for _ in range(6))
        fields = ["actor", actor, "action", action]
        if detail:
            fields += ["detail", detail[:200]]
        await self._record(
            keys=[keys.AUDIT, keys.case(pid) if pid else "", keys.state(pid) if pid else ""],
            args=[self.retention_s * 1000, made, *fields],
        )

    async def case(self, pid: str) -> str:
        """The conversation's case reference, "" if none was made yet."""
        found = await self.redis.get(keys.case(pid))
        return found.decode() if found else ""

    async def read(self, since: float | None = None, limit: int = 200) -> list[Entry]:
        """The newest entries first, from `since` (seconds since the epoch) on."""
        low = f"{int(since * 1000)}" if since is not None else "-"
        rows = await self.redis.xrevrange(keys.AUDIT, "+", low, count=max(1, min(limit, MAX_READ)))
        entries = []
        for entry_id, fields in rows:
            values = {k.decode(): v.decode() for k, v in fields.items()}
            entries.append(
                Entry(
                    at=int(entry_id.decode().split("-")[0]) / 1000,
                    actor=values.get("actor", ""),
                    action=values.get("action", ""),
                    case=values.get("case", ""),
                    detail=values.get("detail", ""),
                )
            )
        return entries
