"""Which menu option a typed message names: its label or one of its keywords,
in her language or in English, whole or as a phrase inside the message, unless
a negation comes right before it ("not safe" does not pick "safe")."""

from __future__ import annotations

import re

from bot.conversation.model import Translator
from bot.flows.schema import State, split_words
from bot.text.normalise import fold

# Words that turn a keyword around when they come right before it ("not ok",
# "I can't talk", "nu pot", "не могу", "pas sûr"): the keyword then does not count.
NEGATIONS = frozenset(
    "not no never dont cant cannot n nu ne не ни ні нет pas non nicht kein keine nie nem jo nuk mos "
    "لا ما لم مش غير ليس لست لن 不 没 没有 别".split()
) | {"don t", "can t", "isn t"}  # folded forms of don't, can't, isn't

_Index = tuple[dict[str, int], list[tuple[str, int]]]


class OptionNames:
    """The options' names per (state, language), folded once and kept."""

    def __init__(self, translator: Translator):
        self.translator = translator
        self._cache: dict[tuple[str, str], _Index] = {}

    def number(self, state: State, language: str, folded: str) -> int | None:
        """The number of the one option the folded message names, or None when
        it names none or several."""
        exact, phrases = self._index(state, language)
        if folded in exact:
            return exact[folded]
        padded = f" {folded} "
        found = [
            (phrase, n)
            for phrase, n in phrases
            if (phrase in padded and not negated(padded, phrase))
            or (
                len(phrase.strip()) >= 2  # one character ("走" in "拿走") says too little
                and _UNSPACED.search(phrase)
                and unspaced_in(folded, phrase.strip())
            )
        ]
        # The longest phrase wins over the ones inside it: "not safe" over "safe".
        hits = {
            n
            for phrase, n in found
            if not any(phrase != other and phrase in other for other, _ in found)
        }
        return hits.pop() if len(hits) == 1 else None

    def _index(self, state: State, language: str) -> _Index:
        cached = self._cache.get((state.key, language))
        if cached is not None:
            return cached
        exact: dict[str, int] = {}
        phrases: list[tuple[str, int]] = []
        for lang in dict.fromkeys((language, "en")):
            for option in state.options:
                label = fold(self.translator.text(lang, option.label))
                exact.setdefault(label, option.number)
                if option.keywords:
                    for word in split_words(self.translator.text(lang, option.keywords)):
                        folded = fold(word)
                        if folded:
                            exact.setdefault(folded, option.number)
                            phrases.append((f" {folded} ", option.number))
        self._cache[(state.key, language)] = (exact, phrases)
        return exact, phrases


# Scripts written without spaces between words (Chinese, Japanese): a keyword
# counts wherever it appears ("我需要律师" names "律师"), unless a negation
# comes right before it ("不需要" is not "需要").
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_UNSPACED_NEGATIONS = ("不", "没", "別", "别", "没有", "無", "无")


def unspaced_in(folded: str, phrase: str) -> bool:
    start = 0
    while (at := folded.find(phrase, start)) >= 0:
        if not folded[:at].endswith(_UNSPACED_NEGATIONS):
            return True
        start = at + 1
    return False


def negated(padded: str, phrase: str) -> bool:
    """True when every place `phrase` appears in the message follows a negation.
    A phrase that is itself a refusal ("not now", "не мога") is never turned around:
    "no, not now" stays a no."""
    if phrase.split()[0] in NEGATIONS or " ".join(phrase.split()[:2]) in NEGATIONS:
        return False
    start = 0
    while (at := padded.find(phrase, start)) >= 0:
        before = padded[:at].split()
        if not (before and (before[-1] in NEGATIONS or " ".join(before[-2:]) in NEGATIONS)):
            return False
        start = at + 1
    return True
