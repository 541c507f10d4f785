"""Writes to a conversation, gathered while a message is processed and applied
in one atomic step (the apply step of bot/pipeline/drain.lua) only if the worker still holds the
conversation's lock. Everything a message changes lands together or not at all.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from bot.store import keys
from bot.store.compaction import data_goes_at
from bot.store.shared import keep_command, text_ref
from bot.store.vault import DataKey

# A transcript keeps this many entries; older ones are dropped and counted
# (keys.transcript_dropped), so that a flood cannot grow it without end.
TRANSCRIPT_KEEP = 2000


def new_id() -> str:
    """A message's id: unique within its conversation (48 random bits; her
    transcript keeps 2,000 entries at most), and short (8 characters, URL-safe),
    since every entry has one."""
    return secrets.token_urlsafe(6)


def transcript_entry(
    sender: str, text: str, at: float, message_id: str | None = None, **extra: Any
) -> str:
    """One transcript line; `sender` is user, bot or counsellor (the console's "from").
    A `ref` in `extra` (bot/store/shared.py) stands for the text, which is not kept."""
    entry: dict[str, Any] = {"id": message_id or new_id(), "from": sender, "at": round(at, 3)}
    if "ref" not in extra:
        entry["text"] = text
    entry.update({k: v for k, v in extra.items() if v is not None})
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def cap_transcript(pid: str) -> list[str]:
    """The CAP command for the transcript: ["CAP", list, keep, counter] keeps the
    newest `keep` items and counts those dropped. bot/pipeline/drain.lua runs it
    in its apply step; `queue_command` in a MULTI pipeline."""
    return ["CAP", keys.transcript(pid), str(TRANSCRIPT_KEEP), keys.transcript_dropped(pid)]


_CAP_LUA = """
local drop = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[1])
if drop > 0 then
  redis.call('LTRIM', KEYS[1], drop, -1)
  redis.call('INCRBY', KEYS[2], drop)
end
"""


def queue_command(pipe, command: list[str]) -> None:
    """Add one of a commit's commands to a redis-py pipeline."""
    if command[0] == "CAP":
        pipe.eval(_CAP_LUA, 2, command[1], command[3], command[2])
    else:
        pipe.execute_command(*command)


class Commit:
    """The writes of one processed message for conversation `pid`, at time `now`
    (the time of what it records, unless told otherwise); her words and her
    address are sealed with her data `key` (bot/store/vault.py)."""

    def __init__(self, pid: str, channel: str, retention_seconds: int, now: float, key: DataKey):
        self.now = now
        self.key = key
        self.pid = pid
        self.channel = channel
        self.retention = retention_seconds
        self.commands: list[list[Any]] = []
        self.sends = 0
        self.erased = False
        self.logged = False
        self.address: str | None = None  # her address: in each outbox item (sealed with it)

    def add(self, *command: Any) -> None:
        """One Redis command; its parts as text, but sealed items stay bytes."""
        self.commands.append(
            [part if isinstance(part, str | bytes) else str(part) for part in command]
        )

    def pop_inbox(self) -> None:
        self.add("LPOP", keys.inbox(self.pid))

    def save_state(self, state: dict[str, Any]) -> None:
        self.add(
            "SET",
            keys.state(self.pid),
            json.dumps(state, ensure_ascii=False, separators=(",", ":")),
        )

    def set_address(self, address: str) -> None:
        self.address = address
        self.add("SET", keys.address(self.pid), self.key.seal(address))

    def log(
        self,
        sender: str,
        text: str,
        at: float | None = None,
        message_id: str | None = None,
        shared: bool = False,
        **extra: Any,
    ) -> str:
        """Add a transcript entry; a `shared` text (one of the flows', naming no
        one: bot/store/shared.py) is kept once for everyone, her entry refers to it."""
        if shared:
            extra["ref"] = text_ref(text)
            self.add(*keep_command(extra["ref"], text))
        entry = transcript_entry(sender, text, self.now if at is None else at, message_id, **extra)
        self.add("RPUSH", keys.transcript(self.pid), self.key.seal(entry))
        self.logged = True
        return entry

    def send(self, outbound_json: dict[str, Any]) -> None:
        """Queue one outbound message; senders deliver the outbox in order."""
        outbound_json = {**outbound_json, "channel": self.channel}
        if self.address:
            outbound_json["to"] = self.address  # the sender needs no extra read
        self.add(
            "RPUSH",
            keys.outbox(self.pid),
            self.key.seal(json.dumps(outbound_json, ensure_ascii=False)),
        )
        if outbound_json.get("id") and outbound_json.get("kind") == "text":
            self.add("HSET", keys.delivery(self.pid), outbound_json["id"], "pending")
        self.sends += 1

    def remember_deletable_message(self, message_id: str, at: float) -> None:
        # whole seconds: a small integer takes less room than a fraction
        self.add("ZADD", keys.deletable_messages(self.pid), int(at), message_id)

    def publish(self, event: dict[str, Any]) -> None:
        self.add("PUBLISH", keys.EVENTS, json.dumps(event))

    def delete_messages(self, channel: str, sealed_address: str, message_ids: list[int]) -> None:
        """Have `channel`'s eraser delete these messages of the chat (safe exit):
        queued with the erase itself, so that both happen or neither."""
        if message_ids:
            self.add(
                "XADD",
                keys.erase_stream(channel),
                "*",
                "to",
                sealed_address,
                "ids",
                json.dumps(message_ids),
            )

    def erase(self) -> None:
        """Safe exit: everything of the conversation goes, except unprocessed messages
        she sent after leaving (they start a new conversation)."""
        self.add("DELMEMBERS", keys.traces(self.pid))
        data_key = keys.data_key(self.pid)
        self.add("DEL", *(key for key in keys.conversation_keys(self.pid) if key != data_key))
        # Messages she sent after leaving, still in the inbox, are sealed with it:
        # it goes with the conversation they start.
        self.add("DELIFEMPTY", data_key, keys.inbox(self.pid))
        self.add("ZREM", keys.QUEUE, self.pid)
        self.add("ZREM", keys.WAITING, self.pid)
        self.add("ZREM", keys.DEAD_LETTERS, self.pid)
        self.add(*data_goes_at(self.pid, self.now))
        self.erased = True

    def finish(self) -> list[list[Any]]:
        """The commands, with every key of the conversation set to expire after
        the retention period of inactivity, and the outbox marked pending."""
        commands = list(self.commands)
        if self.logged and not self.erased:
            commands.append(cap_transcript(self.pid))
        if not self.erased:
            for key in keys.conversation_keys(self.pid):
                commands.append(["EXPIRE", key, str(self.retention)])
            commands.append(data_goes_at(self.pid, self.now + self.retention))
        if self.sends:
            commands.append(
                ["ZADD", keys.send_pending(self.channel), "NX", f"{self.now:.3f}", self.pid]
            )
        return commands
