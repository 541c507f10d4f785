"""Reading settings.yaml: where conversations start, the global keywords, the
texts said outside any flow state, the queue's aging and the opening hours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.flows.parse import FlowParser, unknown_keys
from bot.flows.schema import (
    ACTION_MESSAGES,
    GLOBAL_KEYWORDS,
    OPTIONAL_MESSAGES,
    SETTINGS_MESSAGES,
    FlowSettings,
    Target,
    split_words,
)
from bot.sources import Source

_KEYS = {
    "start",
    "menu",
    "language",
    "human",
    "offer",
    "idle_timeout_minutes",
    "emergency_number",
    "keywords",
    "queue",
    "opening_hours",
    "messages",
    "canned",
    "description",
}
_TARGETS = ("start", "menu", "language", "human", "offer")


def load_settings(parser: FlowParser, path: Path) -> FlowSettings | None:
    """The settings in `path`, or None when the file is unreadable or not a
    mapping; every problem is added to `parser.issues`."""
    loaded = parser.load_mapping(path, "settings.yaml is a mapping (start:, menu:, keywords:, ...)")
    if loaded is None:
        return None
    src, data = loaded
    reader = _SettingsReader(parser, src)
    parser.issues.extend(unknown_keys(src, data, _KEYS, (), "settings"))
    targets = {key: reader.target(data, key) for key in _TARGETS}
    keywords = reader.keywords(data.get("keywords"))
    idle = reader.minutes(data.get("idle_timeout_minutes", 30), ("idle_timeout_minutes",), 30)
    queue = data.get("queue") or {}
    aging = queue.get("aging_minutes", 5) if isinstance(queue, dict) else 5
    aging = reader.minutes(aging, ("queue", "aging_minutes"), 5)
    hours = reader.opening_hours(data.get("opening_hours") or {})
    messages = reader.messages(data.get("messages"))
    return FlowSettings(
        canned=reader.canned(data.get("canned") or {}),
        start=targets["start"],
        menu=targets["menu"],
        language=targets["language"],
        human=targets["human"],
        offer=targets["offer"],
        idle_timeout_seconds=int(idle * 60),
        emergency_number=str(data.get("emergency_number", "112")),
        keywords=keywords,
        queue_aging_minutes=float(aging),
        opening_hours=hours,
        messages=messages,
    )


class _SettingsReader:
    """Each part of settings.yaml, read on its own: a bad part is reported and
    replaced by a harmless default, so one run reports every problem."""

    def __init__(self, parser: FlowParser, src: Source):
        self.parser = parser
        self.src = src

    def report(self, path: tuple, message: str, code: str) -> None:
        self.parser.issues.append(self.src.issue(path, message, code=code))

    def target(self, data: dict, key: str) -> Target:
        if key not in data:
            self.report(
                (), f"settings.yaml needs `{key}:` (a flow name or flow.state)", "missing-setting"
            )
            return Target("?", "?")
        return self.parser.parse_target(self.src, data[key], (key,), "") or Target("?", "?")

    def minutes(self, value: Any, path: tuple, default: float) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            self.report(path, f"{'.'.join(path)} takes a number of minutes above 0", "schema")
            return default
        return value

    def keywords(self, keywords: Any) -> dict[str, str]:
        if not isinstance(keywords, dict):
            self.report(
                ("keywords",),
                "settings.yaml needs `keywords:` for exit, human, language and menu",
                "missing-setting",
            )
            return {}
        self.parser.issues.extend(
            unknown_keys(self.src, keywords, set(GLOBAL_KEYWORDS), ("keywords",), "keywords")
        )
        found: dict[str, str] = {}
        for kind in GLOBAL_KEYWORDS:
            words = keywords.get(kind)
            if isinstance(words, list):
                words = ", ".join(str(w) for w in words)
            if not isinstance(words, str) or not split_words(words):
                self.report(
                    ("keywords", kind),
                    f"keywords.{kind} needs at least one word",
                    "missing-keyword",
                )
            else:
                found[kind] = words
        return found

    def opening_hours(self, hours: Any) -> dict:
        if not isinstance(hours, dict):
            self.report(
                ("opening_hours",), "opening_hours is a mapping (see flows/README.md)", "schema"
            )
            return {}
        return hours

    def messages(self, messages: Any) -> dict[str, str]:
        if not isinstance(messages, dict):
            self.report(
                ("messages",),
                f"settings.yaml needs `messages:` with {', '.join(SETTINGS_MESSAGES)}",
                "missing-message",
            )
            return {}
        self.parser.issues.extend(
            unknown_keys(self.src, messages, set(SETTINGS_MESSAGES), ("messages",), "messages")
        )
        found: dict[str, str] = {}
        for key, meaning in SETTINGS_MESSAGES.items():
            text = messages.get(key)
            if key.startswith(tuple(ACTION_MESSAGES)) and key not in messages:
                continue  # required only with their actions: FlowChecker checks those
            if key in OPTIONAL_MESSAGES and (text is None or text == ""):
                found[key] = ""  # shown as nothing (the web chat's footer)
                continue
            if not isinstance(text, str) or not text.strip():
                self.report(
                    ("messages",),
                    f"messages.{key} is missing: the text said when {meaning}",
                    "missing-message",
                )
            else:
                found[key] = text.strip()
        return found

    def canned(self, canned: Any) -> dict[str, str]:
        if not isinstance(canned, dict) or not all(
            isinstance(v, str) and v.strip() for v in canned.values()
        ):
            self.report(("canned",), "canned: maps a name to a text counsellors can send", "schema")
            return {}
        return {name: text.strip() for name, text in canned.items()}
