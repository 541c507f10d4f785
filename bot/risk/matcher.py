"""Risk detection: every inbound message, in every language at once.

Lexicons are YAML files in `flows/risk/` (one per language, see
flows/risk/README.md). A message matches when it contains a phrase, or all parts
of a combination (a method and a time: "pills" + "tonight"), unless the match
lies inside an exclusion phrase ("this heat is killing me").

Robustness comes from folding both the lexicon and the message to the same
skeleton before an Aho-Corasick pass over the words:
- case, accents and diacritics, punctuation (NFKC, casefold, marks removed);
- Cyrillic written in Latin letters and vice versa (both become one Latin form,
  with spelling variants such as kh/h, shch/sh, ya/ia/ja folded together);
- leetspeak digits inside words (k1ll, pa55port) and repeated letters (killlll);
- one typo (insertion, deletion, substitution, transposition) in words of five
  letters or more, resolved against the lexicon's vocabulary;
- Arabic script against Arabizi (Latin letters and digits: 7abasni), by
  comparing consonant skeletons of Arabic lexicon words;
- Chinese phrases are matched on the characters themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import ahocorasick
from rapidfuzz.distance import OSA

from bot.risk.lexicons import (
    FUZZY_MIN_LENGTH,
    SEVERITY_RANK,
    SKELETON_MIN_LENGTH,
    SUBSTITUTION_MIN_LENGTH,
    Entry,
    Lexicon,
    Match,
    load_lexicons,
)
from bot.risk.normalise import (
    _ARABIC_CHAR,
    _CJK,
    _HAS_APOSTROPHE,
    _NO_APOSTROPHES,
    arabic_skeleton,
    arabizi_skeleton,
    cjk_text,
    fold_token,
    tokens,
)
from bot.sources import Issue

log = logging.getLogger("helpline.risk")


class RiskMatcher:
    """All lexicons in one Aho-Corasick automaton over folded words."""

    def __init__(self, lexicons: Iterable[Lexicon]):
        self.lexicons = list(lexicons)
        self._words = ahocorasick.Automaton()
        self._cjk = ahocorasick.Automaton()
        self.vocabulary: set[str] = set()
        self._deletions: dict[str, set[str]] = {}
        self._arabic_skeletons: dict[str, str] = {}
        patterns: dict[str, list] = {}
        cjk_patterns: dict[str, list] = {}
        self._combinations: list[tuple[Entry, tuple[str, ...]]] = []

        def add(text: str, payload: tuple) -> str | None:
            if _HAS_APOSTROPHE.search(text) and not _CJK.search(text):
                add(text.translate(_NO_APOSTROPHES), payload)  # also the joined form
            words = [] if _CJK.search(text) else tokens(text)
            if words:
                folded = [fold_token(w) for w in words]
                for raw, word in zip(words, folded, strict=True):
                    self.vocabulary.add(word)
                    if _ARABIC_CHAR.search(raw):
                        skeleton = arabic_skeleton(raw)
                        if len(skeleton) >= SKELETON_MIN_LENGTH:
                            self._arabic_skeletons.setdefault(skeleton, word)
                key = " " + " ".join(folded) + " "
                patterns.setdefault(key, []).append(payload)
                return key
            key = cjk_text(text)
            if key:
                cjk_patterns.setdefault(key, []).append(payload)
                return "cjk:" + key
            return None

        for lexicon in self.lexicons:
            for entry in lexicon.phrases:
                add(entry.text, ("phrase", entry))
            for entry, parts in lexicon.combinations:
                keys = tuple(k for k in (add(part, ("part", None)) for part in parts) if k)
                if len(keys) == len(parts):
                    self._combinations.append((entry, keys))
            for text in lexicon.exclusions:
                add(text, ("exclude", None))
        for key, payloads in patterns.items():
            self._words.add_word(key, _pattern(key, key, payloads))
        for key, payloads in cjk_patterns.items():
            self._cjk.add_word(key, _pattern(key, "cjk:" + key, payloads))
        if patterns:
            self._words.make_automaton()
        if cjk_patterns:
            self._cjk.make_automaton()
        self._has_words = bool(patterns)
        self._has_cjk = bool(cjk_patterns)
        for word in self.vocabulary:
            if len(word) >= FUZZY_MIN_LENGTH:
                for variant in _deletions(word) | {word}:
                    self._deletions.setdefault(variant, set()).add(word)
        self._canonical: dict[str, str] = {}
        self._combinations_by_part: dict[str, set[int]] = {}
        self._combination_keys = [frozenset(keys) for _, keys in self._combinations]
        for i, part_keys in enumerate(self._combination_keys):
            for key in part_keys:
                self._combinations_by_part.setdefault(key, set()).add(i)

    def canonical(self, raw: str) -> str:
        """The lexicon word a message word stands for (itself if none)."""
        cached = self._canonical.get(raw)
        if cached is not None:
            return cached
        word = fold_token(raw)
        result = word
        if word not in self.vocabulary:
            if len(word) >= FUZZY_MIN_LENGTH - 1:
                best = None
                for candidate in self._deletions.get(word, frozenset()) | {
                    c for variant in _deletions(word) for c in self._deletions.get(variant, ())
                }:
                    if (
                        len(candidate) < FUZZY_MIN_LENGTH
                        or OSA.distance(word, candidate, score_cutoff=1) > 1
                    ):
                        continue
                    if (
                        _is_substitution(word, candidate)
                        and len(candidate) < SUBSTITUTION_MIN_LENGTH
                    ):
                        continue
                    if best is None or candidate < best:
                        best = candidate
                if best is not None:
                    result = best
            if result == word and self._arabic_skeletons and raw.isascii():
                skeleton = arabizi_skeleton(raw)
                if len(skeleton) >= SKELETON_MIN_LENGTH:
                    result = self._arabic_skeletons.get(skeleton, word)
        if len(self._canonical) < 500_000:
            self._canonical[raw] = result
        return result

    def match(self, text: str) -> Match | None:
        """The most severe risk in `text`, or None."""
        found = self.matches(text)
        return found[0] if found else None

    def matches(self, text: str) -> list[Match]:
        """Every risk in `text`, most severe first."""
        if not text:
            return []
        present: set[str] = set()
        results: list[Match] = []
        if self._has_words:
            cache, canonical, automaton = self._canonical, self.canonical, self._words
            words = tokens(text)
            if words:
                line = " " + " ".join([cache.get(w) or canonical(w) for w in words]) + " "
                self._collect(automaton.iter(line), present, results)
            if _HAS_APOSTROPHE.search(text):  # and the reading with apostrophes joining words
                words = tokens(text, join_apostrophes=True)
                line = " " + " ".join([cache.get(w) or canonical(w) for w in words]) + " "
                self._collect(automaton.iter(line), present, results)
        if self._has_cjk and not text.isascii():
            cjk = cjk_text(text)
            if cjk:
                self._collect(self._cjk.iter(cjk), present, results)
        if present and self._combinations:
            by_part = self._combinations_by_part
            candidates = set().union(*(by_part[key] for key in present if key in by_part))
            for i in candidates:
                if self._combination_keys[i] <= present:
                    entry = self._combinations[i][0]
                    results.append(
                        Match(entry.severity, entry.category, entry.text, entry.language)
                    )
        if len(results) > 1:
            results = list(dict.fromkeys(results))  # a phrase found in both readings counts once
            results.sort(key=lambda m: SEVERITY_RANK[m.severity])
        return results

    @staticmethod
    def _collect(found, present: set[str], results: list[Match]) -> None:
        """Phrases found, minus those inside a benign exclusion phrase."""
        hits = [
            (end - length + 1, end, key, benign, matches)
            for end, (length, key, benign, matches) in found
        ]
        if not hits:
            return
        if len(hits) == 1:  # the common case: one word of the lexicons, nothing to weigh it against
            start, end, key, benign, matches = hits[0]
            if not benign:
                present.add(key)
                results.extend(matches)
            return
        excluded = [(start, end) for start, end, _, benign, _ in hits if benign]
        for start, end, key, benign, matches in hits:
            if benign or (excluded and any(es <= start and end <= ee for es, ee in excluded)):
                continue
            present.add(key)
            results.extend(matches)


def _pattern(text: str, key: str, payloads: list) -> tuple:
    """What the automaton returns for a pattern: its length, its key, whether it is
    a benign exclusion, and the matches it stands for."""
    benign = any(kind == "exclude" for kind, _ in payloads)
    matches = tuple(
        Match(e.severity, e.category, e.text, e.language)
        for kind, e in payloads
        if kind == "phrase"
    )
    return (len(text), key, benign, matches)


def _is_substitution(a: str, b: str) -> bool:
    """One letter replaced by another (not a swap of neighbours)."""
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 1


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def load_matcher(directory: Path) -> tuple[RiskMatcher | None, list[Issue]]:
    lexicons, issues = load_lexicons(directory)
    if any(i.severity == "error" for i in issues):
        return None, issues
    return RiskMatcher(lexicons), issues


class LiveRisk:
    """The matcher over every lexicon of `directory`, built again by `reload`
    (when the flows reload); an edit with errors keeps the previous matcher."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.matcher: RiskMatcher | None = None
        self.reload()

    def reload(self) -> None:
        if not self.directory.is_dir():
            self.matcher = None
            return
        matcher, issues = load_matcher(self.directory)
        if matcher is None:
            log.error(
                "risk lexicons have errors; keeping the previous ones:\n%s",
                "\n".join(map(str, issues)),
            )
            return
        self.matcher = matcher

    def match(self, text: str) -> Match | None:
        return self.matcher.match(text) if self.matcher is not None else None
