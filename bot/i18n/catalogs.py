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
import unicodedata
from pathlib import Path

import phonenumbers
from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.languages import get_official_languages
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.conversation.model import Translator
from bot.flows.schema import (
    PROVIDER_WORDS,
    TWILIO_OPT_OUT,
    placeholders,
    provider_words_asked,
    split_words,
)
from bot.i18n.detect import LanguageOf
from bot.sources import Issue
from bot.text.normalise import fold

log = logging.getLogger("helpline.i18n")

DOMAIN = "helpline"
# The order of the language menu: English, then CONTENT.md's languages by how
# many of the people who write to European helplines speak them.
MENU_ORDER = ("en", "ro", "bg", "uk", "ru", "es", "fr", "ar", "zh", "it", "pl", "hu", "sq", "de")
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
RLM, LRM = "\u200f", "\u200e"
LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate, pop directional isolate
# A run of Latin words and numbers, with the punctuation inside it ("2004/81/EC",
# "Art. 11(3)", "+40 21 123 4567", "Bologna, Italy").
_LATIN_RUN = re.compile(
    r"\+?[0-9A-Za-z\u00c0-\u024f]"
    r"(?:[0-9A-Za-z\u00c0-\u024f.,:/()'\u2019&+\-\u2013 ]*[0-9A-Za-z\u00c0-\u024f)])?"
)
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


_NUMBER = re.compile(r"\d+")


def _numbers(text: str) -> list[str]:
    """The numbers of a text, whatever digits they are written with (١١٢ = 112)."""
    ascii_digits = "".join(
        str(unicodedata.digit(c)) if unicodedata.digit(c, None) is not None else c for c in text
    )
    return sorted(_NUMBER.findall(ascii_digits))


def translation_problems(
    source: str, translation: str, comments: list[str] | tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """What is wrong with one translation, as (sentence, code) pairs: other
    placeholders or numbers than the English, or a word the SMS provider answers
    itself. `comments` are the extracted comments that say where the text appears."""
    problems: list[tuple[str, str]] = []
    if placeholders(source) != placeholders(translation):
        problems.append(
            (
                f"placeholders differ: {sorted(placeholders(source))} in the English, "
                f"{sorted(placeholders(translation))} in the translation of {source[:40]!r}",
                "placeholders-differ",
            )
        )
    if _numbers(source) != _numbers(translation):
        problems.append(
            (
                f"numbers differ ({' '.join(_numbers(source))} vs "
                f"{' '.join(_numbers(translation))}) in the translation of {source[:40]!r}",
                "numbers-differ",
            )
        )
    is_keywords = any("Comma-separated" in c for c in comments)
    asked: list[str] = []
    if any("send alone" in c for c in comments) and split_words(translation):
        shown = split_words(translation)[0]  # the word people are told to send
        asked = [shown] if fold(shown) in PROVIDER_WORDS else []
    elif not is_keywords:
        asked = provider_words_asked(translation)
    for word in asked:
        problems.append(
            (
                f"{word!r} is a word the SMS provider answers itself (opt-out, opt-in "
                "or help): never ask people to send it",
                "provider-word",
            )
        )
    if is_keywords:
        for word in split_words(translation):
            if fold(word) in TWILIO_OPT_OUT:
                problems.append(
                    (
                        f"{word!r} is a Twilio opt-out word: an SMS with it blocks the number",
                        "provider-word",
                    )
                )
    return problems


def _accepted(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


class Catalogs(Translator):
    """Every shipped language's translations, in memory."""

    def __init__(
        self,
        locales_dir: Path,
        languages: dict[str, dict[str, str]] | None = None,
        previous: Catalogs | None = None,
    ):
        """A catalog with problems (unreadable, a placeholder or number that is
        not the English one, a provider word) is refused: `previous`'s version of
        that language keeps serving; without one, its sound translations are used
        and the broken ones fall back to English. `problems` lists them all."""
        self.locales_dir = Path(locales_dir)
        self.messages: dict[str, dict[str, str]] = {"en": {}}
        self.problems: list[Issue] = []
        if languages is not None:
            self.messages.update(languages)
        else:
            self._load(previous)
        order = {code: i for i, code in enumerate(MENU_ORDER)}
        self.languages = tuple(sorted(self.messages, key=lambda c: (order.get(c, len(order)), c)))
        self.language_of = LanguageOf(self.languages)
        self._names = {code: _native_name(code) for code in self.languages}

    def _load(self, previous: Catalogs | None) -> None:
        if not self.locales_dir.is_dir():
            return
        for po_path in sorted(self.locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            code = po_path.parent.parent.name
            good: dict[str, str] = {}
            problems: list[Issue] = []
            try:
                with po_path.open("rb") as handle:
                    catalog = read_po(handle, locale=code)
            except Exception as exc:  # babel raises several kinds on a broken file
                problems.append(
                    Issue(str(po_path), 1, 0, f"cannot be read: {exc}", code="unreadable")
                )
            else:
                for message in catalog:
                    source, text = message.id, message.string
                    # a plural message has tuples: the flows have none
                    if not (isinstance(source, str) and isinstance(text, str)):
                        continue
                    if not source or not text or message.fuzzy:
                        continue
                    found = translation_problems(source, text, message.auto_comments)
                    for sentence, issue_code in found:
                        problems.append(
                            Issue(str(po_path), message.lineno or 1, 0, sentence, code=issue_code)
                        )
                    if not found:
                        good[source] = text
            self.problems.extend(problems)
            if not problems:
                self.messages[code] = good
                continue
            listed = "\n".join(map(str, problems))
            if previous is not None and code in previous.messages:
                self.messages[code] = previous.messages[code]
                log.error(
                    "catalog %s has errors; the previous one keeps serving:\n%s", code, listed
                )
            elif not good:
                log.error("catalog %s cannot be used:\n%s", code, listed)
            else:
                self.messages[code] = good
                log.error(
                    "catalog %s has errors; its broken texts are said in English:\n%s", code, listed
                )

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

    def first_language(
        self, hint: str | None, text: str | None, phone: str | None
    ) -> tuple[str, bool]:
        """The language of a new conversation and whether it is a guess: her
        app's (`hint`), else the one `text` is clearly written in, else the
        phone's country's, else English (the last two are guesses)."""
        if hint and (found := self.match_tag(hint)):
            return found, False
        if text and (found := self.language_of(text)):
            return found, False
        return self.negotiate(None, phone), True

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
        """An IETF tag (pt-BR, zh-Hans, ru-UA), or a browser's Accept-Language
        list ("tr-TR, ro;q=0.8"), to a shipped language, or None."""
        if "," in tag or ";" in tag:
            return next(filter(None, map(self.match_tag, _accepted(tag))), None)
        tag = tag.strip().lower().replace("_", "-")
        if tag in ALIASES and ALIASES[tag] in self.languages:
            return ALIASES[tag]
        found = negotiate_locale([tag], list(self.languages), sep="-")
        if found:
            return found
        base = tag.split("-")[0]
        return base if base in self.languages else None

    def language_for_phone(self, phone: str) -> str | None:
        phone = phone.rpartition(":")[2]  # whatsapp:+40... is a number too
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
        """Text of a right-to-left language made safe to show on every channel.

        - A line whose first letter is Latin ("EXIT ...") would be laid out left
          to right by apps that guess a paragraph's direction (SMS, Telegram): it
          starts with a right-to-left mark.
        - A Latin or numeric run with punctuation or spaces inside ("2004/81/EC",
          "Art. 11(3)", "+40 21 123 4567") is reordered by the Unicode
          bidirectional algorithm inside right-to-left text ("EC/2004/81"): it
          is isolated, left to right (LRI ... PDI, Unicode 6.3).
        Characters stay in logical order. A single word or number ("EXIT", "112")
        needs nothing, and gets nothing: each mark costs one UCS-2 character."""
        if not self.is_rtl(language) or not text:
            return text
        lines = text.split("\n")
        for index, line in enumerate(lines):
            first = _FIRST_STRONG.search(line)
            line = _LATIN_RUN.sub(_isolated, line)
            lines[index] = RLM + line if first and first.group(0).isascii() else line
        return "\n".join(lines)

    def format_number(self, value: float, language: str, digits: int = 1) -> str:
        """1.2 -> "1,2" in German, "1.2" in English."""
        try:
            return format_decimal(round(value, digits), locale=language)
        except (UnknownLocaleError, ValueError):
            return f"{value:.{digits}f}"


def _isolated(match: re.Match[str]) -> str:
    """A Latin run isolated left to right, unless bidi cannot reorder it."""
    run, rest = match.group(0), ""
    while run.endswith(")") and run.count(")") > run.count("("):
        run, rest = run[:-1], ")" + rest  # her text's own bracket: it stays right to left
    if run.replace(" ", "").isalpha() or run.isdigit():
        return run + rest
    return LRI + run + PDI + rest


def _native_name(code: str) -> str:
    """A language by its own name in its own script: "Română", "Українська", "العربية"."""
    try:
        locale = Locale.parse(code)
        name = locale.get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]
