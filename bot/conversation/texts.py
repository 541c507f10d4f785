"""The flows' texts in a language, placeholders filled: what the engine says,
and what channels show outside any conversation (the web chat page).

A translation whose placeholders are not the source's (`{exit_wrd}`) is never
used: the source text is, so that no word she needs (the exit word) goes missing.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.conversation.model import Translator
from bot.flows.schema import FlowSettings, placeholders, split_words

log = logging.getLogger("helpline.engine")


class _VarMap(dict):
    def __missing__(self, key: str) -> str:
        return ""


class Texts:
    """Translated, filled texts; caches what does not depend on a conversation."""

    def __init__(self, settings: FlowSettings, translator: Translator, retention_days: int):
        self.settings = settings
        self.translator = translator
        self.retention_days = retention_days  # {retention_days}: what the welcome promises
        self._builtin_cache: dict[str, dict[str, str]] = {}
        self._texts: dict[tuple[str, str], str] = {}
        # Texts rendered from a template and the line's own settings alone (no
        # variable of a conversation): the same for everyone, they name no one.
        # A transcript keeps them once for all (bot/store/shared.py).
        self.public: set[str] = set()
        self._needs_variables: dict[tuple[str, str], bool] = {}

    def keyword(self, kind: str, language: str) -> str:
        """The first word of a global keyword, in `language`: shown to the person."""
        return split_words(self.translator.text(language, self.settings.keywords[kind]))[0]

    def render(self, language: str, msgid: str, variables: dict[str, Any]) -> str:
        """`msgid` in `language`, with the built-in placeholders and `variables`."""
        text = self.translated(language, msgid)
        if "{" not in text:
            self.public.add(text)
            return text
        builtins = self.builtins(language)
        values = _VarMap(builtins)
        values.update(variables)
        try:
            rendered = text.format_map(values).strip()  # an empty placeholder at the end
        except (ValueError, KeyError, IndexError, AttributeError):
            return self.translator.text("en", msgid).format_map(values).strip()
        needs = self._needs_variables.get((language, msgid))
        if needs is None:
            needs = not placeholders(text) <= builtins.keys()
            self._needs_variables[(language, msgid)] = needs
        if not needs and not builtins.keys() & variables.keys():
            self.public.add(rendered)
        return rendered

    def translated(self, language: str, msgid: str) -> str:
        key = (language, msgid)
        found = self._texts.get(key)
        if found is None:
            found = self.translator.text(language, msgid)
            if (
                found != msgid
                and "{" in found + msgid
                and placeholders(found) != placeholders(msgid)
            ):
                log.warning(
                    "the %s translation of %r has other placeholders than the source: "
                    "the source text is used (run `helpline locales check`)",
                    language,
                    msgid[:40],
                )
                found = msgid
            self._texts[key] = found
        return found

    def builtins(self, language: str) -> dict[str, str]:
        """Placeholders every message may use, in `language` (computed once)."""
        found = self._builtin_cache.get(language)
        if found is None:
            found = {
                f"{kind}_word": self.keyword(kind, language)
                for kind in ("exit", "human", "language", "menu")
            }
            found["emergency_number"] = self.settings.emergency_number
            found["retention_days"] = str(self.retention_days)
            self._builtin_cache[language] = found
        return found
