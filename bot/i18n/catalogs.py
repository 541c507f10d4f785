"""Translations (gettext catalogs read with babel), language negotiation and
locale formatting.

Flow YAML holds the English source texts; `locales/<lang>/LC_MESSAGES/helpline.po`
hold the translations. The app reads the .po catalogs directly when the flows
load (and again when they change), so an admin's edit is live without a compile
step, and a missing compiled .mo can never silently turn a language into English.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import phonenumbers
from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.languages import get_official_languages
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.conversation.model import Translator
from bot.sources import Issue

log = logging.getLogger("helpline.i18n")

DOMAIN = "helpline"
# The order of the language menu: English, then CONTENT.md's languages by how
# many of the people who write to European helplines speak them.
MENU_ORDER = ("en", "ro", "bg", "uk", "ru", "es", "fr", "ar", "zh", "it", "pl", "hu", "sq", "de")
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
RLM, LRM = "\u200f", "\u200e"
_FIRST_STRONG = re.compile(
    r"[A-Za-z\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]"
)  # first Latin or right-to-left letter
# IETF tags whose obvious base is not the catalog's name.
ALIASES = {
    "zh-hans": "zh",
    "zh-cn": "zh",
    "zh-sg": "zh",
    "zh-hant": "zh",
    "zh-tw": "zh",
    "zh-hk": "zh",
    "nb": "no",
}


class Catalogs(Translator):
    """Every shipped language's translations, in memory."""

    def __init__(self, locales_dir: Path, languages: dict[str, dict[str, str]] | None = None):
        self.locales_dir = Path(locales_dir)
        self.messages: dict[str, dict[str, str]] = {"en": {}}
        self.problems: list[Issue] = []
        if languages is not None:
            self.messages.update(languages)
        else:
            self._load()
        order = {code: i for i, code in enumerate(MENU_ORDER)}
        self.languages = tuple(sorted(self.messages, key=lambda c: (order.get(c, len(order)), c)))
        self._names = {code: _native_name(code) for code in self.languages}

    def _load(self) -> None:
        if not self.locales_dir.is_dir():
            return
        for po_path in sorted(self.locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            code = po_path.parent.parent.name
            try:
                with po_path.open("rb") as handle:
                    catalog = read_po(handle, locale=code)
            except Exception as exc:  # babel raises several kinds on a broken file
                self.problems.append(
                    Issue(str(po_path), 1, 0, f"cannot be read: {exc}", code="unreadable")
                )
                log.warning("catalog %s cannot be read: %s", po_path, exc)
                continue
            self.messages[code] = {
                message.id: message.string
                for message in catalog
                if message.id
                and message.string
                and not message.fuzzy
                and isinstance(message.id, str)
                and isinstance(message.string, str)  # always, for a message that is not plural
            }

    def text(self, language: str, msgid: str) -> str:
        return self.messages.get(language, {}).get(msgid) or msgid

    def has(self, language: str, msgid: str) -> bool:
        return language == "en" or msgid in self.messages.get(language, {})

    def language_name(self, language: str) -> str:
        return self._names.get(language) or language

    def language_aliases(self, language: str) -> set[str]:
        """What a person may type to pick `language`: its code, its own name, its
        English name."""
        aliases = {language}
        try:
            english_name = Locale.parse(language).get_display_name("en")
        except (UnknownLocaleError, ValueError):
            pass
        else:
            if english_name is not None:
                aliases.add(english_name)
        return aliases

    def negotiate(self, language_hint: str | None = None, phone: str | None = None) -> str:
        """The language for a new conversation: Telegram's language_code, else the
        phone number's country, else English."""
        if language_hint:
            found = self.match_tag(language_hint)
            if found:
                return found
        if phone:
            found = self.language_for_phone(phone)
            if found:
                return found
        return "en"

    def match_tag(self, tag: str) -> str | None:
        """An IETF tag (pt-BR, zh-Hans, ru-UA) to a shipped language, or None."""
        tag = tag.strip().lower().replace("_", "-")
        if tag in ALIASES and ALIASES[tag] in self.languages:
            return ALIASES[tag]
        found = negotiate_locale([tag], list(self.languages), sep="-")
        if found:
            return found
        base = tag.split("-")[0]
        return base if base in self.languages else None

    def language_for_phone(self, phone: str) -> str | None:
        try:
            number = phonenumbers.parse(phone if phone.startswith("+") else f"+{phone}", None)
        except phonenumbers.NumberParseException:
            return None
        region = phonenumbers.region_code_for_number(number)
        if not region:
            return None
        for code in get_official_languages(region, de_facto=True):
            match = self.match_tag(code)
            if match:
                return match
        return None

    def is_rtl(self, language: str) -> bool:
        return language in RTL_LANGUAGES

    def directional(self, text: str, language: str) -> str:
        """Text of a right-to-left language made safe to show in apps that do not
        know its direction (SMS, Telegram): a line whose first letter is Latin
        ("EXIT ...") would be laid out left to right, so it starts with a
        right-to-left mark. Characters stay in logical order; mid-line Latin words
        and numbers (EXIT, 112, Art. 11(3)) are placed right by the Unicode
        bidirectional algorithm, which needs no mark there. Each mark costs one
        UCS-2 character, so none is added where it changes nothing."""
        if not self.is_rtl(language) or not text:
            return text
        lines = text.split("\n")
        for index, line in enumerate(lines):
            first = _FIRST_STRONG.search(line)
            if first and first.group(0).isascii():
                lines[index] = RLM + line
        return "\n".join(lines)

    def format_number(self, value: float, language: str, digits: int = 1) -> str:
        """1.2 -> "1,2" in German, "1.2" in English."""
        try:
            return format_decimal(round(value, digits), locale=language)
        except (UnknownLocaleError, ValueError):
            return f"{value:.{digits}f}"


def _native_name(code: str) -> str:
    """A language by its own name in its own script: "Română", "Українська", "العربية"."""
    try:
        locale = Locale.parse(code)
        name = locale.get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]
