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

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
from rapidfuzz.distance import OSA

from bot.sources import Issue, Source, YamlError, load

SEVERITIES = ("critical", "high", "medium")
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
CATEGORIES = (
    "imminent_violence",
    "confinement",
    "self_harm",
    "sexual_violence",
    "trafficking_control",
    "child_at_risk",
    "medical_emergency",
)
FUZZY_MIN_LENGTH = 5  # a missing, extra or swapped letter is tolerated from this length
SUBSTITUTION_MIN_LENGTH = 7  # one wrong letter only from this length ("stayed" is not "stabbed")
SKELETON_MIN_LENGTH = 3

# ---------------------------------------------------------------------------- folding

_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "є": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "і": "i",
    "ї": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "c",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "u",
    "я": "a",
    "ў": "u",
    "ђ": "d",
    "ј": "j",
    "љ": "l",
    "њ": "n",
    "ћ": "c",
    "џ": "dj",
}
_GREEK = {"α": "a", "β": "v", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "τ": "t", "υ": "u"}
_CYRILLIC_TABLE = str.maketrans({**_CYRILLIC, **_GREEK})
# Arabic letters to Latin consonants (long vowels and hamza drop out: Arabizi
# writers choose vowels freely, so skeletons compare consonants only).
_ARABIC = {
    "ب": "b",
    "ت": "t",
    "ث": "t",
    "ج": "j",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "d",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "ة": "h",
    "و": "",
    "ي": "",
    "ى": "",
    "ا": "",
    "أ": "",
    "إ": "",
    "آ": "",
    "ء": "",
    "ؤ": "",
    "ئ": "",
    "پ": "p",
    "چ": "ch",
    "ڤ": "v",
    "گ": "g",
    "ک": "k",
    "ی": "",
}
_ARABIC_TABLE = str.maketrans(_ARABIC)
# Arabizi digits (as written in chats) for consonant skeletons.
_ARABIZI_TABLE = str.maketrans(
    {"2": "", "3": "", "5": "kh", "6": "t", "7": "h", "8": "gh", "9": "q"}
)
_LEET_TABLE = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_EXTRA = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ə": "e"}
)
# Words: letters and digits (Chinese characters excluded: they are matched as a
# run of characters, without word boundaries), with leetspeak signs and apostrophes.
_TOKEN = re.compile(r"[\w@$!|]+", re.UNICODE)
_SLOW_PATH = re.compile(r"[\d!|]")
_APOSTROPHES = str.maketrans({c: " " for c in "'’ʼ`´"})  # elision: "m'ont" is two words
_NO_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")  # or one word: "ub'et" (Russian in Latin letters)
_HAS_APOSTROPHE = re.compile("['’ʼ`´]")
_CYRILLIC_APOSTROPHE = re.compile(
    r"(?<=[\u0400-\u04ff])['’ʼ`´](?=[\u0400-\u04ff])"
)  # inside one word: "вб'є"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ARABIC_CHAR = re.compile(r"[\u0600-\u06ff]")
_REPEATS = re.compile(r"([^\W\d_])\1+")  # letters only: "100" stays 100
# "30pills", "pills30": a count glued to a word (one digit is Arabizi or leetspeak: 7absni, k1ll)
_GLUED_NUMBER = re.compile(r"^(\d{2,})([^\W\d_]{2,})$|^([^\W\d_]{2,})(\d{2,})$")
# Spelling variants of transliteration, folded to one form on both sides.
_VARIANTS = [
    ("shch", "sh"),
    ("sch", "sh"),
    ("tch", "ch"),
    ("kh", "h"),
    ("zh", "j"),
    ("dj", "j"),
    ("ts", "c"),
    ("tz", "c"),
    ("cz", "ch"),
    ("sz", "sh"),
    ("ck", "k"),
    ("ph", "f"),
    ("yu", "u"),
    ("iu", "u"),
    ("ju", "u"),
    ("ya", "a"),
    ("ia", "a"),
    ("ja", "a"),
    ("ye", "e"),
    ("je", "e"),
    ("yo", "e"),
    ("jo", "e"),
    ("w", "v"),
    ("y", "i"),
    ("x", "ks"),
    ("q", "k"),
]
_VARIANT_RE = re.compile("|".join(re.escape(a) for a, _ in _VARIANTS))
_VARIANT_MAP = dict(_VARIANTS)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def fold_token(raw: str) -> str:
    """One word to its matching skeleton: "Паспорт" and "pasport" -> "pasport";
    "k1lll" -> "kil"; "zabrali" and "забрали" -> "zabrali"."""
    if _ARABIC_CHAR.search(raw):
        return _ARABIC_MARKS.sub("", raw).translate(_ARABIC_FOLD)
    token = _strip_marks(raw).translate(_EXTRA).translate(_CYRILLIC_TABLE)
    if any(c.isdigit() or c in "@$!|" for c in token) and any(c.isalpha() for c in token):
        token = token.translate(_LEET_TABLE)
    token = _VARIANT_RE.sub(lambda m: _VARIANT_MAP[m.group(0)], token)
    return _REPEATS.sub(r"\1", token)


@lru_cache(maxsize=200_000)
def arabizi_skeleton(raw: str) -> str:
    """Consonants of a Latin-written Arabic word: "7abasni" -> "hbsn"."""
    token = raw.translate(_ARABIZI_TABLE)
    token = re.sub(r"[aeiouy0-9]", "", token)
    token = token.replace("kh", "h").replace("gh", "g").replace("sh", "s")
    return _REPEATS.sub(r"\1", token)


def arabic_skeleton(word: str) -> str:
    """Consonants of an Arabic-script word, comparable with arabizi_skeleton."""
    token = _ARABIC_MARKS.sub("", word).translate(_ARABIC_TABLE)
    token = token.replace("kh", "h").replace("gh", "g").replace("sh", "s").replace("q", "k")
    return _REPEATS.sub(r"\1", token)


def tokens(text: str, join_apostrophes: bool = False) -> list[str]:
    """The message's words, casefolded (NFKC) but not yet folded: an apostrophe
    separates words (m'ont, l'a) except inside a Cyrillic word (вбʼє), or joins
    them with `join_apostrophes` (ub'et: Russian in Latin letters); leetspeak signs count inside a word
    (k!ll), not around it (help!!); a number glued to a word is its own word (30pills)."""
    if text.isascii():
        text = text.lower()  # NFKC and casefold change nothing else in ASCII
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = _CYRILLIC_APOSTROPHE.sub("", _ARABIC_MARKS.sub("", text))
        text = _CJK.sub(" ", text)  # Chinese is matched as characters, not as words
    if _HAS_APOSTROPHE.search(text):
        text = text.translate(_NO_APOSTROPHES if join_apostrophes else _APOSTROPHES)
    words = _TOKEN.findall(text)
    if not _SLOW_PATH.search(text):
        return words  # the common case: no digit, "!" or "|": nothing more to do per word
    found = []
    for raw in words:
        token = raw.strip("!|")
        if not token:
            continue
        glued = _GLUED_NUMBER.match(token)
        if glued:
            found.extend(part for part in glued.groups() if part)
        else:
            found.append(token)
    return found


def cjk_text(text: str) -> str:
    return "".join(_CJK.findall(unicodedata.normalize("NFKC", text)))


# ---------------------------------------------------------------------------- lexicons


@dataclass(frozen=True)
class Entry:
    """A phrase or combination of one lexicon."""

    severity: str
    category: str
    text: str  # as the admin wrote it
    language: str
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Match:
    severity: str
    category: str
    phrase: str
    language: str


@dataclass
class Lexicon:
    language: str
    phrases: list[Entry] = field(default_factory=list)
    combinations: list[tuple[Entry, tuple[str, ...]]] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)


def _lexicon_from_source(src: Source, issues: list[Issue]) -> Lexicon | None:
    data = src.data
    if not isinstance(data, dict):
        issues.append(
            src.issue((), "a lexicon is a mapping with language:, risks: and exclusions:")
        )
        return None
    for key in data:
        if key not in ("language", "risks", "exclusions", "description"):
            issues.append(
                src.issue(
                    (key, "<key>"),
                    f"unknown key {key!r}; allowed: language, risks, exclusions, description",
                )
            )
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)?", language):
        issues.append(src.issue(("language",), "language: an ISO 639-1 code such as en, ro, ar"))
        return None
    lexicon = Lexicon(language)
    seen: dict[str, int] = {}
    groups = data.get("risks")
    if not isinstance(groups, list) or not groups:
        issues.append(
            src.issue(
                ("risks",), "risks: a list of groups, each with category:, severity: and phrases:"
            )
        )
        return None
    for g, group in enumerate(groups):
        gp = ("risks", g)
        if not isinstance(group, dict):
            issues.append(
                src.issue(gp, "each group is a mapping with category:, severity:, phrases:")
            )
            continue
        for key in group:
            if key not in ("category", "severity", "phrases", "combinations", "note"):
                issues.append(
                    src.issue(
                        (*gp, key, "<key>"),
                        f"unknown key {key!r} in a group; allowed: category, severity, phrases, combinations, note",
                    )
                )
        category, severity = group.get("category"), group.get("severity")
        if category not in CATEGORIES:
            issues.append(
                src.issue(
                    (*gp, "category"),
                    f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}",
                )
            )
            continue
        if severity not in SEVERITIES:
            issues.append(
                src.issue(
                    (*gp, "severity"),
                    f"unknown severity {severity!r}; use critical, high or medium",
                )
            )
            continue
        phrases = group.get("phrases", [])
        combos = group.get("combinations", [])
        if not isinstance(phrases, list) or not isinstance(combos, list) or not (phrases or combos):
            issues.append(
                src.issue(gp, "a group needs phrases: (a list) or combinations: (a list of lists)")
            )
            continue
        for p, phrase in enumerate(phrases):
            pp = (*gp, "phrases", p)
            if not isinstance(phrase, str) or not phrase.strip():
                issues.append(src.issue(pp, "a phrase must be a non-empty text"))
                continue
            key = " ".join(fold_token(t) for t in tokens(phrase)) or cjk_text(phrase)
            if not key:
                issues.append(src.issue(pp, f"phrase {phrase!r} has no letters to match"))
                continue
            if key in seen:
                issues.append(
                    src.issue(
                        pp,
                        f"phrase {phrase!r} repeats the phrase of line {seen[key]} (after folding)",
                        "warning",
                    )
                )
                continue
            line = src.where(pp)[0]
            seen[key] = line
            lexicon.phrases.append(
                Entry(severity, category, phrase.strip(), language, src.file, line)
            )
        for c, combo in enumerate(combos):
            cp = (*gp, "combinations", c)
            if (
                not isinstance(combo, list)
                or len(combo) < 2
                or not all(isinstance(x, str) and x.strip() for x in combo)
            ):
                issues.append(
                    src.issue(
                        cp, "a combination is a list of two or more phrases that must all appear"
                    )
                )
                continue
            entry = Entry(
                severity, category, " + ".join(combo), language, src.file, src.where(cp)[0]
            )
            lexicon.combinations.append((entry, tuple(x.strip() for x in combo)))
    exclusions = data.get("exclusions", [])
    if not isinstance(exclusions, list) or not all(
        isinstance(x, str) and x.strip() for x in exclusions
    ):
        issues.append(src.issue(("exclusions",), "exclusions: a list of benign phrases"))
    else:
        lexicon.exclusions = [x.strip() for x in exclusions]
    return lexicon


def load_lexicons(directory: Path) -> tuple[list[Lexicon], list[Issue]]:
    """Every `*.yaml` lexicon of `directory`, and the problems found."""
    issues: list[Issue] = []
    lexicons: list[Lexicon] = []
    languages: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            src = load(path)
        except YamlError as exc:
            issues.append(exc.issue)
            continue
        lexicon = _lexicon_from_source(src, issues)
        if lexicon is None:
            continue
        if lexicon.language in languages:
            issues.append(
                src.issue(
                    ("language",),
                    f"language {lexicon.language!r} is also the language of {languages[lexicon.language]}",
                )
            )
            continue
        languages[lexicon.language] = src.file
        lexicons.append(lexicon)
    return lexicons, issues


# ---------------------------------------------------------------------------- matcher


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
        for i, keys in enumerate(self._combination_keys):
            for key in keys:
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
