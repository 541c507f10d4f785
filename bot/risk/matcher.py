"""Risk detection: every inbound message, in every language at once.

Lexicons are YAML files in `flows/risk/` (see flows/risk/README.md). A message
matches when it contains a phrase (words in order), a `near` group (words in any
order, a few words apart), all parts of a combination ("pills" + "tonight"), or
an age under 18, unless the match lies inside an exclusion phrase ("this heat
is killing me").

Both the lexicon and the message are reduced to the same keys before one
Aho-Corasick pass over the words:
- case, accents and diacritics, punctuation (NFKC, casefold, marks removed);
- stems (Snowball) for the languages that have a stemmer, and `word*` prefixes,
  so that one entry covers a word's inflections;
- Cyrillic written in Latin letters and vice versa, leetspeak digits inside
  words (k1ll), repeated letters (killlll);
- one typo (insertion, deletion, substitution, transposition) in words of five
  letters or more, resolved against the lexicons' vocabulary;
- Arabic script against Arabizi (Latin letters and digits: 7abasni), by
  comparing consonant skeletons;
- Chinese phrases are matched on the characters themselves.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import product
from pathlib import Path
from typing import Any

import ahocorasick
from rapidfuzz.distance import OSA

from bot.risk.lexicons import (
    EXCLUSION_GAP,
    FUZZY_MIN_LENGTH,
    MINOR,
    NEAR_GAP,
    SEVERITY_RANK,
    SKELETON_MIN_LENGTH,
    SUBSTITUTION_MIN_LENGTH,
    Entry,
    Lexicon,
    Match,
    load_concepts,
    load_lexicons,
)
from bot.risk.morphology import ALGORITHMS, MIN_STEM, all_stems, stem
from bot.risk.normalise import (
    _ARABIC_CHAR,
    _CJK,
    _HAS_APOSTROPHE,
    _NO_APOSTROPHES,
    arabic_skeleton,
    arabizi_skeleton,
    cjk_text,
    eastern_digits,
    fold_token,
    script,
    tokens,
)
from bot.sources import Issue

log = logging.getLogger("helpline.risk")

_HAMZAS = frozenset("أإئؤء")  # written for a glottal stop: ق in Levantine and Egyptian
YOUNGEST, OLDEST_MINOR = 10, 17  # a number in this range, said as an age, is a minor
# Laughter and joking marks, in the scripts of the lexicons: "haha", "ahah", "lol", "mdr",
# "jaja", "xD", "хаха", "ههههه", "哈哈", and the laughing emoji.
_JEST = re.compile(
    r"(?<![^\W\d_])(?:(?:ha|ah){2,}[ah]?|(?:ja){2,}j?|(?:he){2,}|(?:hi){2,}|lo+l|lmf?ao|rofl"
    r"|mdr|ptdr|xd+|(?:ха|ах){2,}[ах]?|(?:хе){2,}|(?:хи){2,})(?![^\W\d_])"
    r"|ه{3,}|哈哈|嘿嘿|呵呵|[\U0001F602\U0001F923\U0001F605\U0001F606\U0001F639\U0001F61C\U0001F61D]",
    re.IGNORECASE,
)
# How far a figurative subject may be from the threat it makes a figure of speech:
# up to 4 words before it ("this exam will really kill me"), 2 after ("it kills
# me, this heat"), never further ("he will kill me after the exam" stays a threat).
FIGURE_GAP, FIGURE_AFTER = 4, 2
# What a figure of speech makes harmless: "this exam will kill me".
FIGURE_DROPS = frozenset({"threat_to_kill", "violence_now", "distress"})
# ...and what laughter does too: "mum will kill me if I forget her birthday ahah",
# read as a threat to her family; "my sister will beat me at chess haha".
JEST_DROPS = FIGURE_DROPS | {"threat_to_family", "violence"}
# Words before an age that make it somebody else's ("my son is 15"), looked for this far back.
AGE_OWNER_WINDOW = 4


class RiskMatcher:
    """All lexicons in one Aho-Corasick automaton over the messages' word keys."""

    def __init__(self, lexicons: Iterable[Lexicon], minor_severity: str = "high"):
        self.lexicons = list(lexicons)
        self.minor_severity = minor_severity
        self._words = ahocorasick.Automaton()
        self._cjk = ahocorasick.Automaton()
        self.vocabulary: set[str] = set()  # every key a message word can become
        self._stems: set[str] = set()  # keys that came from a stem
        self._prefixes: set[str] = set()  # "zabi" for the lexicon word "zabi*"
        self._surfaces: dict[str, str] = {}  # a lexicon word as written (folded) -> its key
        self._scripts: dict[str, set[str]] = {}  # and the scripts it was written in
        self._deletions: dict[str, set[str]] = {}
        self._arabic_skeletons: dict[str, str] = {}
        self._canonical: dict[str, str] = {}
        # Words whose group prefixes differ from their key (see _part_prefixes below)
        self._part_prefixes: frozenset[str] = frozenset()
        self._prefix_heads: frozenset[str] = frozenset()  # their first four letters
        self._prefixed_words: dict[str, tuple[str, ...]] = {}
        patterns: dict[str, list] = {}
        cjk_patterns: dict[str, list] = {}
        self._combinations: list[tuple[Entry, tuple[str, ...]]] = []
        self._near: list[tuple[Entry, tuple[str, ...]]] = []
        self._near_exclusions: list[tuple[str, ...]] = []
        # Ages: (say keys, language), (years keys, language); CJK ones as regular expressions
        self._say: dict[tuple[str, ...], str] = {}
        # "exam": "this exam will kill me"; by key, the languages whose word it is
        self._figurative: dict[str, set[str]] = {}
        self._cjk_figurative: list[str] = []
        self._others: set[tuple[str, ...]] = set()  # "my son": the age is somebody else's
        self._cjk_others: list[str] = []
        self._years: dict[tuple[str, ...], str] = {}
        # "ago", "for": a span of time, not an age; by key, the languages it is a word of
        self._spans: dict[tuple[str, ...], set[str]] = {}
        self._spans_before: dict[tuple[str, ...], set[str]] = {}
        self._cjk_ages: list[tuple[re.Pattern, str]] = []
        age_words: list[tuple[Any, str, str]] = []  # (its table, the words, their language)

        def keys_of(text: str, language: str) -> list[str]:
            found: list[str] = []
            for chunk in text.split():
                prefix = chunk.endswith("*")
                words = tokens(chunk.rstrip("*"))
                for i, raw in enumerate(words):
                    found.append(self._lexicon_key(raw, language, prefix and i == len(words) - 1))
            return found

        def add(text: str, language: str, payload: tuple) -> str | None:
            if _HAS_APOSTROPHE.search(text) and not _CJK.search(text):
                add(text.translate(_NO_APOSTROPHES), language, payload)  # also the joined form
            keys = [] if _CJK.search(text) else keys_of(text, language)
            if keys:
                key = " " + " ".join(keys) + " "
                patterns.setdefault(key, []).append(payload)
                return key
            key = cjk_text(text)
            if key:
                cjk_patterns.setdefault(key, []).append(payload)
                return "cjk:" + key
            return None

        for lexicon in self.lexicons:
            lang = lexicon.language
            for entry in lexicon.phrases:
                add(entry.text, lang, ("phrase", entry))
            for entry, parts in lexicon.combinations:
                keys = tuple(k for k in (add(part, lang, ("part", part)) for part in parts) if k)
                if len(keys) == len(parts):
                    self._combinations.append((entry, keys))
            for entry, words in lexicon.near:
                keys = tuple(k for k in (add(word, lang, ("part", word)) for word in words) if k)
                if len(keys) == len(words):
                    self._near.append((entry, keys))
            for text in lexicon.exclusions:
                add(text, lang, ("exclude", text))
            for words in lexicon.near_exclusions:
                keys = tuple(k for k in (add(word, lang, ("part", word)) for word in words) if k)
                if len(keys) == len(words):
                    self._near_exclusions.append(keys)
            for say in lexicon.ages.say:
                if _CJK.search(say):
                    continue
                self._say[tuple(keys_of(say, lang))] = lang
                age_words.append((self._say, say, lang))
            for word in lexicon.figurative:
                key = add(word, lang, ("part", word))
                if key and key.startswith("cjk:"):
                    self._cjk_figurative.append(cjk_text(word))
                elif key:
                    self._figurative.setdefault(key, set()).add(_family(lang))
            for other in lexicon.ages.others:
                if _CJK.search(other):
                    self._cjk_others.append(other)
                else:
                    self._others.add(tuple(keys_of(other, lang)))
                    age_words.append((self._others, other, lang))
            for span in lexicon.ages.spans:
                if not _CJK.search(span):
                    self._spans.setdefault(tuple(keys_of(span, lang)), set()).add(_family(lang))
                    age_words.append((self._spans, span, lang))
            for span in lexicon.ages.spans_before:
                if not _CJK.search(span):
                    self._spans_before.setdefault(tuple(keys_of(span, lang)), set()).add(
                        _family(lang)
                    )
                    age_words.append((self._spans_before, span, lang))
            for years in lexicon.ages.years:
                if _CJK.search(years):
                    self._cjk_ages.append((re.compile(r"(\d{1,2})\s*" + re.escape(years)), lang))
                else:
                    self._years[tuple(keys_of(years, lang))] = lang
                    age_words.append((self._years, years, lang))
        for word in self._surfaces:  # typos are measured against whole words, never stems
            if len(word) >= FUZZY_MIN_LENGTH:
                for variant in _deletions(word) | {word}:
                    self._deletions.setdefault(variant, set()).add(word)
        self._aliases = self._alias_patterns(patterns)
        # The words around ages as a message reads them too: French "expérience"
        # makes the message word "experience" a French key, and "15 years of
        # experience" is still a span of time in English.
        for table, text, lang in age_words:
            read = tuple(self.canonical(w) for w in tokens(text))
            if isinstance(table, set):
                table.add(read)
            elif table is self._spans or table is self._spans_before:
                table.setdefault(read, set()).add(_family(lang))
            else:
                table.setdefault(read, lang)
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
        self._say_lengths = sorted({len(k) for k in self._say}, reverse=True)
        self._others_lengths = sorted({len(k) for k in self._others})
        self._years_lengths = sorted({len(k) for k in self._years}, reverse=True)
        self._spans_lengths = sorted({len(k) for k in (*self._spans, *self._spans_before)})
        self._years_families: dict[tuple[str, ...], set[str]] = {}
        for table, text, lang in age_words:
            if table is self._years:
                for words in (
                    tuple(keys_of(text, lang)),
                    tuple(self.canonical(w) for w in tokens(text)),
                ):
                    self._years_families.setdefault(words, set()).add(_family(lang))
        # A group matches only when all its words are present: each is looked up
        # under its rarest word alone, so that a common word ("me", "my") found in
        # a message does not bring every group that contains it.
        self._combination_keys = [frozenset(keys) for _, keys in self._combinations]
        self._combinations_by_part = _by_rarest(self._combination_keys)
        self._near_keys = [frozenset(keys) for _, keys in self._near]
        self._near_by_part = _by_rarest(self._near_keys)
        self._near_exclusions_by_first: dict[str, list[int]] = {}
        for i, keys in enumerate(self._near_exclusions):
            self._near_exclusions_by_first.setdefault(keys[0], []).append(i)
        near_keys = {key for _, keys in self._near for key in keys}
        self._positioned = near_keys.union(*self._near_exclusions, self._figurative)
        self._positioned |= {
            read for read, keys in self._aliases.items() if keys & self._positioned
        }
        # A message word becomes one key: "документы" is a key of its own (the
        # Bulgarian lexicon's word), so the Russian group's "документ*" would never
        # see it. The prefixes of near groups and combinations are looked for in
        # every word besides its key.
        self._part_prefixes = frozenset(
            key.strip()[:-1]
            for keys in (*self._combination_keys, *self._near_keys)
            for key in keys
            if key.strip().endswith("*")
        )
        self._prefix_heads = frozenset(prefix[:MIN_STEM] for prefix in self._part_prefixes)
        self._canonical.clear()  # read again with the prefixes' second look

    def _alias_patterns(self, patterns: dict[str, list]) -> dict[str, set[str]]:
        """A lexicon's word read as a message word can become another key than
        its own: French "menace" has the key "menac" (its stem), but "menace"
        is also a key of its own in another lexicon, and a message word becomes
        one key only. So every phrase is also registered under the keys its own
        words become in a message, and a near or combination word's message key
        stands for its lexicon key (the returned aliases)."""

        def read(text: str) -> str:
            return " " + " ".join(self.canonical(w) for w in tokens(text)) + " "

        aliases: dict[str, set[str]] = {}
        extra: dict[str, list] = {}
        for key, payloads in patterns.items():
            for kind, entry in payloads:
                if kind == "phrase":
                    if _CJK.search(entry.text) or entry.text.rstrip().endswith("*"):
                        continue
                    as_read = read(entry.text)
                    if as_read != key and as_read.count(" ") == key.count(" "):
                        extra.setdefault(as_read, []).append((kind, entry))
                elif kind == "part" and entry is not None:
                    as_read = read(entry)
                    if as_read != key:
                        aliases.setdefault(as_read, set()).add(key)
                elif kind == "exclude" and not _CJK.search(entry):
                    # benign phrases too: "telefono" in a message is not always
                    # the key the Italian lexicon gave it
                    as_read = read(entry)
                    if as_read != key and as_read.count(" ") == key.count(" "):
                        extra.setdefault(as_read, []).append((kind, entry))
        for as_read, found in extra.items():
            patterns.setdefault(as_read, []).extend(found)
        for as_read in aliases:
            patterns.setdefault(as_read, [])
        return aliases

    def _lexicon_key(self, raw: str, language: str, prefix: bool) -> str:
        """The key of a lexicon word: its prefix, its stem, or the folded word."""
        word = fold_token(raw)
        if prefix:
            self._prefixes.add(word)
            key = word + "*"
        else:
            stemmed = stem(language, raw)
            key = word
            if stemmed is not None:
                key = fold_token(stemmed)
                self._stems.add(key)
        self.vocabulary.add(key)
        if not prefix:
            self._surfaces.setdefault(word, key)
            self._scripts.setdefault(word, set()).add(script(raw))
        if _ARABIC_CHAR.search(raw):
            skeleton = arabic_skeleton(raw)
            if len(skeleton) >= SKELETON_MIN_LENGTH:
                self._arabic_skeletons.setdefault(skeleton, key)
        return key

    def canonical(self, raw: str) -> str:
        """The lexicon key a message word stands for (its folded self if none)."""
        cached = self._canonical.get(raw)
        if cached is not None:
            return cached
        word = fold_token(raw)
        result = word
        if word not in self.vocabulary:
            result = (
                self._stemmed(raw, word)
                or self._prefixed(word)
                or self._spoken(raw)
                or self._typo(raw, word)
                or word
            )
        if len(self._canonical) >= 500_000:
            self._canonical.clear()
            self._prefixed_words.clear()
        self._canonical[raw] = result
        if word[:MIN_STEM] in self._prefix_heads:
            others = tuple(
                key
                for end in range(len(word), MIN_STEM - 1, -1)
                if word[:end] in self._part_prefixes
                and (key := f" {word[:end]}* ") != f" {result} "
            )
            if others:
                self._prefixed_words[raw] = others
        return result

    def _stemmed(self, raw: str, word: str) -> str | None:
        if len(raw) < MIN_STEM or not self._stems:
            return None
        candidates = all_stems(raw) + (all_stems(word) if word != raw else [])
        # The longest stem that is a key: the most specific reading, the same on every run.
        for candidate in sorted(candidates, key=lambda c: (-len(c), c)):
            key = fold_token(candidate)
            if key in self._stems:
                return key
        return None

    def _prefixed(self, word: str) -> str | None:
        if self._prefixes:
            for end in range(len(word), MIN_STEM - 1, -1):
                if word[:end] in self._prefixes:
                    return word[:end] + "*"
        return None

    def _spoken(self, raw: str) -> str | None:
        """The key of an Arabic word as Levantine and Egyptian speakers write it
        (`_spoken_spellings`), if a lexicon has it."""
        if not _ARABIC_CHAR.search(raw):
            return None
        for heard in _spoken_spellings(raw):
            word = fold_token(heard)
            if word in self.vocabulary:
                return word
            found = self._stemmed(heard, word) or self._prefixed(word)
            if found:
                return found
        return None

    def _typo(self, raw: str, word: str) -> str | None:
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
                if _is_substitution(word, candidate) and len(candidate) < SUBSTITUTION_MIN_LENGTH:
                    continue
                # A word typed in another script than the lexicon's is already a guess
                # (Russian in Latin letters): a typo on top of it needs a longer word
                # and the same first letter. German "asyl" is not Russian "насил".
                if script(raw) not in self._scripts[candidate] and (
                    len(word) <= FUZZY_MIN_LENGTH or word[0] != candidate[0]
                ):
                    continue
                if best is None or candidate < best:
                    best = candidate
            if best is not None:
                return self._surfaces[best]
        if self._arabic_skeletons and raw.isascii():
            skeleton = arabizi_skeleton(raw)
            # three consonants are many Latin words ("enfin", finally, is يعنف, he
            # abuses): so short a word is read as Arabizi only when it has a digit,
            # or in a message written in Arabizi (_read_short_arabizi)
            if len(skeleton) > SKELETON_MIN_LENGTH or (
                len(skeleton) == SKELETON_MIN_LENGTH and not raw.isalpha()
            ):
                return self._arabic_skeletons.get(skeleton)
        return None

    def _read_short_arabizi(self, words: list[str], keys: list[str]) -> None:
        """In a message written in Arabizi ("l boss 3am yejberni ro7 ma3 zbayen"),
        a word of three consonants without a digit ("zbayen", زباين) is read as
        Arabic too, where no lexicon read it as anything else."""
        for i, raw in enumerate(words):
            if keys[i] in self.vocabulary or not (raw.isascii() and raw.isalpha()):
                continue
            skeleton = arabizi_skeleton(raw)
            if len(skeleton) == SKELETON_MIN_LENGTH and skeleton in self._arabic_skeletons:
                keys[i] = self._arabic_skeletons[skeleton]

    def match(self, text: str) -> Match | None:
        """The most severe risk in `text`, or None."""
        found = self.matches(text)
        return found[0] if found else None

    def matches(self, text: str) -> list[Match]:
        """Every risk in `text`, most severe first."""
        return self.reading(text)[0]

    def reading(self, text: str) -> tuple[list[Match], list[Match]]:
        """Every risk in `text`, most severe first; and the ages under 18 of
        somebody else's child ("my daughter is 14"), which are not a risk alone:
        with anything else that is, they are one (`minor`), and the detector
        counts them with the model's opinion too."""
        if not text:
            return [], []
        present: dict[str, list[int]] = {}  # key -> word positions where it was found
        hits: list[tuple[Match, int, int]] = []  # with the first and last word's positions
        kin: list[Match] = []
        if self._has_words:
            readings = [tokens(text)]
            if _HAS_APOSTROPHE.search(text):  # and the reading with apostrophes joining words
                joined = tokens(text, join_apostrophes=True)
                if joined != readings[0]:
                    readings.append(joined)
            arabizi = bool(self._arabic_skeletons) and _ARABIZI_DIGIT.search(text) is not None
            cache, canonical = self._canonical, self.canonical
            for reading, words in enumerate(readings):
                if not words:
                    continue
                keys = [cache.get(w) or canonical(w) for w in words]
                if arabizi:
                    self._read_short_arabizi(words, keys)
                line = " " + " ".join(keys) + " "
                self._collect(self._words.iter(line), line, present, hits, reading)
                prefixed = self._prefixed_words
                if prefixed and not prefixed.keys().isdisjoint(words):
                    for i, word in enumerate(words):
                        for alternative in prefixed.get(word, ()):
                            present.setdefault(alternative, []).append(i + 1 + 1000 * reading)
                if reading == 0 and (self._say or self._years):
                    digits = text if text.isascii() else eastern_digits(text)
                    if _NUMBER.search(digits):
                        own, others = self._ages(keys, digits)
                        hits.extend((m, -1, -1) for m in own)
                        kin += others
        if (self._has_cjk or self._cjk_ages) and not text.isascii():
            cjk = cjk_text(text) if self._has_cjk else ""
            if cjk:
                self._collect(self._cjk.iter(cjk), None, present, hits, 0)
            for pattern, language in self._cjk_ages:
                for found in pattern.finditer(text):
                    if not YOUNGEST <= int(found.group(1)) <= OLDEST_MINOR:
                        continue
                    before = text[max(0, found.start() - AGE_OWNER_WINDOW * 2) : found.start()]
                    age = Match(self.minor_severity, MINOR, found.group(0), language)
                    if any(other in before for other in self._cjk_others):
                        kin.append(age)
                    else:
                        hits.append((age, -1, -1))
        if present:
            for read in [r for r in present if r in self._aliases]:
                for key in self._aliases[read]:
                    present.setdefault(key, []).extend(present[read])
            hits.extend(self._groups(present))
            if self._near_exclusions:
                benign = self._benign_spans(present)
                if benign:
                    hits = [
                        h
                        for h in hits
                        if not any(h[1] <= end and start <= h[2] for start, end in benign)
                    ]
        for hit in hits:
            if hit[0].concept in JEST_DROPS:  # a threat or an attack: maybe a figure of speech
                hits = self._without_figures(hits, present, text)
                break
        results = [m for m, _, _ in hits]
        if results and kin:
            results += kin  # "my daughter is 14 and he took her": a child at risk
        if len(results) > 1:
            results = list(dict.fromkeys(results))  # a phrase found in both readings counts once
            results.sort(key=lambda m: SEVERITY_RANK[m.severity])
        return results, kin

    def _without_figures(self, hits: list, present: dict[str, list[int]], text: str) -> list:
        """Threats and attacks said laughing, or whose subject is a thing: figures of
        speech. "My boss will kill me if I'm late haha": a laughing mark anywhere.
        Self-harm is kept: "I want to die lol" can hide a real wish, and is read as
        one (and the model still reads what the lexicons let through). "This exam
        will kill me", "the heat is killing me": a figurative word near the match,
        or anywhere in a Chinese message."""
        if _JEST.search(text):
            return [h for h in hits if h[0].concept not in JEST_DROPS]
        figurative = self._figurative
        # A figurative word counts only for a match of its own language: English
        # "movie" and Polish "mówi" (says) fold alike, and "he says he'll kill me" is meant.
        where = [
            (p, figurative[key]) for key, at in present.items() if key in figurative for p in at
        ]
        cjk = not text.isascii() and any(word in text for word in self._cjk_figurative)
        if not where and not cjk:
            return hits
        return [
            (match, first, last)
            for match, first, last in hits
            if match.concept not in FIGURE_DROPS
            or not (
                any(
                    first - FIGURE_GAP <= p <= last + FIGURE_AFTER
                    and _family(match.language) in languages
                    for p, languages in where
                    if p >= 0
                )
                if first >= 0
                else cjk
            )
        ]

    def _groups(self, present: dict[str, list[int]]) -> list[tuple[Match, int, int]]:
        """Combinations whose parts are all present, near groups whose words are close."""
        found: list[tuple[Match, int, int]] = []
        if self._combinations:
            by_part = self._combinations_by_part
            for i in sorted(i for k in present.keys() & by_part.keys() for i in by_part[k]):
                if self._combination_keys[i] <= present.keys():
                    entry = self._combinations[i][0]
                    found.append(
                        (Match(entry.severity, entry.concept, entry.text, entry.language), -1, -1)
                    )
        if self._near:
            by_part = self._near_by_part
            near_keys = self._near_keys
            for i in sorted(i for k in present.keys() & by_part.keys() for i in by_part[k]):
                if near_keys[i] <= present.keys():
                    entry, keys = self._near[i]
                    span = _close([present[k] for k in keys])
                    if span:
                        match = Match(entry.severity, entry.concept, entry.text, entry.language)
                        found.append((match, *span))
        return found

    def _benign_spans(self, present: dict[str, list[int]]) -> list[tuple[int, int]]:
        """Where the words of a benign near group are close ("queue" ~ "kill")."""
        spans = []
        first_words = self._near_exclusions_by_first
        candidates = [i for k in present if k in first_words for i in first_words[k]]
        for i in candidates:
            keys = self._near_exclusions[i]
            if all(k in present for k in keys):
                # each reading of the message apart (positions 1000 apart)
                for reading in {p // 1000 for p in present[keys[0]]}:
                    span = _close(
                        [[p for p in present[k] if p // 1000 == reading] for k in keys],
                        EXCLUSION_GAP,
                    )
                    if span:
                        spans.append(span)
        return spans

    def _ages(self, keys: list[str], text: str) -> tuple[list[Match], list[Match]]:
        """A number from 10 to 17 right before "years", or right after "I am" when
        nothing follows it but the end of a sentence or a word that starts another
        ("I am 16, please", "I am 16 and", not "I am 16 weeks pregnant"); and apart,
        those that are somebody else's ("my son is 15")."""
        found: list[Match] = []
        kin: list[Match] = []
        for i, key in enumerate(keys):
            if not (key.isdigit() and len(key) <= 2 and YOUNGEST <= int(key) <= OLDEST_MINOR):
                continue
            language = None
            for n in self._years_lengths:
                years = tuple(keys[i + 1 : i + 1 + n])
                language = self._years.get(years)
                if language:
                    if self._span(keys, i, i + 1 + n, self._years_families[years]):
                        language = None  # "16 years of experience", "for 16 years"
                    break
            if language is None:
                after = keys[i + 1] if i + 1 < len(keys) else None
                for n in self._say_lengths:
                    if i >= n:
                        language = self._say.get(tuple(keys[i - n : i]))
                        if language:
                            break
                if (
                    language
                    and after is not None
                    and after not in _CLAUSE_WORDS
                    and not re.search(rf"(?<!\d){key}\s*[,.;:!?)]", text)
                ):
                    language = None  # "I am 16 km away": a number of something else
            if not language:
                continue
            window = keys[max(0, i - AGE_OWNER_WINDOW) : i]
            if self._others and any(
                tuple(window[j : j + n]) in self._others
                for n in self._others_lengths
                for j in range(len(window) - n + 1)
            ):
                # "my son is 15": somebody else's age, no risk alone
                kin.append(Match(self.minor_severity, MINOR, f"{key} (a child's age)", language))
            else:
                found.append(Match(self.minor_severity, MINOR, f"{key} (an age)", language))
        return found, kin

    def _span(self, keys: list[str], number: int, after: int, families: set[str]) -> bool:
        """Whether a `spans` phrase of a language of the years word ends right
        before the number or starts at `after` ("vivo in Italia da 12 anni"; the
        German "vor" before Polish "lat" is no span). Italian "anni" and Romanian
        "ani" read alike, so "da 15 ani" counts as Italian's span too."""
        for n in self._spans_lengths:
            before = tuple(keys[max(0, number - n) : number])
            if families & (self._spans.get(before, set()) | self._spans_before.get(before, set())):
                return True
            if families & self._spans.get(tuple(keys[after : after + n]), set()):
                return True
        return False

    def _collect(self, found, line: str | None, present: dict, hits: list, reading: int) -> None:
        """Phrases found, minus those that share a word with a benign exclusion phrase; the
        positions of the words that near groups are made of."""
        spans = list(found)  # (end, (length, key, benign, matches))
        if not spans:
            return
        excluded = (
            [
                (end - length + 1, end, key.count(" ") > 2)
                for end, (length, key, benign, _) in spans
                if benign
            ]
            if len(spans) > 1
            else ()
        )
        positioned = self._positioned
        for end, (length, key, benign, matches) in spans:
            if benign:
                continue
            start = end - length + 1
            # A phrase inside a benign one is not a risk, nor one that shares a
            # word with a benign phrase of several words ("I'm dying" and "dying
            # of laughter"); a benign single word (a typo guard) only stands for itself.
            if excluded and any(
                (es <= start and end <= ee) or (several and es < end and start < ee)
                for es, ee, several in excluded
            ):
                continue
            # word positions: the spaces before them, apart for each reading of the message
            first = last = -1
            if line is not None and (matches or key in positioned):
                first = line.count(" ", 0, start + 1) + 1000 * reading
                last = first + key.count(" ") - 2
            present.setdefault(key, []).append(first)
            for match in matches:
                hits.append((match, first, last))


def jesting(text: str) -> bool:
    """Whether the message laughs: "haha", "lol", "mdr", "jaja", "хаха", 😂..."""
    return _JEST.search(text) is not None


def _family(language: str) -> str:
    """Languages read with one stemmer share their words (Nigerian Pidgin and English)."""
    return ALGORITHMS.get(language, language)


def _by_rarest(groups: list[frozenset[str]]) -> dict[str, list[int]]:
    """Each group's index under the one of its words that the fewest groups share."""
    shared = Counter(key for keys in groups for key in keys)
    index: dict[str, list[int]] = {}
    for i, keys in enumerate(groups):
        if keys:
            index.setdefault(min(keys, key=lambda k: (shared[k], k)), []).append(i)
    return index


def _close(positions: list[list[int]], gap: int = NEAR_GAP) -> tuple[int, int] | None:
    """The first and last word when one position per word can be chosen, all
    different, each at most `gap` words from the next; else None."""
    for chosen in product(*positions):
        ordered = sorted(chosen)
        if len(set(ordered)) == len(ordered) and all(
            b - a - 1 <= gap for a, b in zip(ordered, ordered[1:], strict=False)
        ):
            return ordered[0], ordered[-1]
    return None


_NUMBER = re.compile(r"(?<!\d)1\d(?!\d)")
# A word written in Arabizi: a letter next to a digit that stands for an Arabic one (3am, ro7, ma3).
_ARABIZI_DIGIT = re.compile(r"[a-z][235679]|[235679][a-z]", re.IGNORECASE)
# Words that start another clause after "I am 16" (folded): conjunctions, pronouns, "please", "help".
_CLAUSE_WORDS = frozenset(
    fold_token(w)
    for w in (
        "and but so or i im me my he she they we him her them pls plz please help now and also "
        "et mais je il elle ils aidez y pero yo el ella ayuda e ma io lui lei aiuto und aber ich er sie hilfe "
        "si dar eu el ea ajutor és de én ő segítség i ale ja on ona pomocy pomóż dhe por unë ai ajo ndihmë "
        "и но а я он она они помогите і та але він вона допоможіть و لكن انا هو هي ساعدوني "
        "пожалуйста будь моля не меня мене ме"
    ).split()
)


def _pattern(text: str, key: str, payloads: list) -> tuple:
    """What the automaton returns for a pattern: its length, its key, whether it is
    a benign exclusion, and the matches it stands for."""
    matches = tuple(
        Match(e.severity, e.concept, e.text, e.language) for kind, e in payloads if kind == "phrase"
    )
    # A benign phrase that the stemmer made identical to a risk phrase ("megold",
    # to solve, and "megöl", to kill, both "megol") does not silence the risk, nor
    # a typo guard the word of a near group or a combination ("messe" and "messer",
    # knife, both "mess": the guard stands only for itself).
    kinds = {kind for kind, _ in payloads}
    benign = not matches and "exclude" in kinds and "part" not in kinds
    return (len(text), key, benign, matches)


def _is_substitution(a: str, b: str) -> bool:
    """One letter replaced by another (not a swap of neighbours)."""
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 1


def _spoken_spellings(raw: str) -> Iterator[str]:
    """An Arabic word as the standard spelling the lexicons hold, from the way
    Levantine and Egyptian speakers write what they say: a hamza for the glottal
    stop they say ق as ("رح يأتلني" is رح يقتلني, "he will kill me"), and the ب that
    marks the present before a verb ("بيضربني" is يضربني, "بنزف" انزف)."""
    for i, letter in enumerate(raw):
        if letter in _HAMZAS:
            yield raw[:i] + "ق" + raw[i + 1 :]
    if len(raw) >= 4 and raw[0] == "ب":
        yield raw[1:]
        yield "ا" + raw[1:]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def load_matcher(directory: Path) -> tuple[RiskMatcher | None, list[Issue]]:
    lexicons, issues = load_lexicons(directory)
    if any(i.severity == "error" for i in issues):
        return None, issues
    concepts, _ = load_concepts(directory)
    minor = concepts.get(MINOR)
    return RiskMatcher(lexicons, minor.severity if minor else "high"), issues
