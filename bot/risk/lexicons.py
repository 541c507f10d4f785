"""Risk lexicons, read with file:line for every issue (flows/risk/README.md).

`concepts.yaml` names the risks and gives each ONE severity, the same in every
language. One file per language (`en.yaml`, `pcm.yaml`, ...) says which words
express each concept in that language: phrases (words in order), `near` groups
(words close together in any order), combinations (parts anywhere in the
message), the words that make a number an age, and benign exclusions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.risk.normalise import cjk_text, fold_token, tokens
from bot.sources import Issue, Source, YamlError, load

SEVERITIES = ("critical", "high", "medium")
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
CONCEPTS_FILE = "concepts.yaml"
MINOR = "minor"  # the concept an age under 18 stands for
FUZZY_MIN_LENGTH = 5  # a missing, extra or swapped letter is tolerated from this length
SUBSTITUTION_MIN_LENGTH = 7  # one wrong letter only from this length ("stayed" is not "stabbed")
SKELETON_MIN_LENGTH = 3
NEAR_GAP = 3  # words allowed between the words of a `near` group
EXCLUSION_GAP = 6  # and of a benign one: "the queue at the town hall will kill me"
_GROUP_KEYS = ("concept", "phrases", "near", "combinations", "note")


@dataclass(frozen=True)
class Concept:
    name: str
    severity: str
    about: str = ""


@dataclass(frozen=True)
class Entry:
    """A phrase, near group or combination of one lexicon."""

    severity: str
    concept: str
    text: str  # as the admin wrote it
    language: str
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Match:
    """Why a message is a risk: a lexicon entry (`phrase`), an age, or the
    statistical model (`phrase` empty, `score` its probability). `minor`: the
    message also says the person at risk is under 18, though another concept
    leads ("I am 15, he beats me")."""

    severity: str
    concept: str
    phrase: str
    language: str
    score: float | None = None
    minor: bool = False

    @property
    def about_a_minor(self) -> bool:
        return self.minor or self.concept == MINOR

    @property
    def why(self) -> str:
        """What a counsellor is shown."""
        words = f'"{self.phrase}" ({self.language})'
        also = "; also under 18" if self.minor and self.concept != MINOR else ""
        if self.score is None:
            return words + also
        model = f"the model's score {self.score:.2f}"
        return (f"{model}, with {words}" if self.phrase else model) + also


@dataclass
class Ages:
    """The words that make a number an age: `say` come before it ("I am",
    "she is"), `years` after it ("years old"); `others` make it somebody else's
    ("my son", "ma fille"): a child's age in a question about school is not a
    risk by itself, so an age right after one of them does not match alone;
    `spans` make it a span of time, right before the number ("for 16 years",
    "od 16 lat") or right after its `years` word ("16 years ago", "16 years of
    experience", "16 lat temu")."""

    say: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    spans: list[str] = field(default_factory=list)
    # spans only right before the number ("il y a 15 ans"), never after the years
    # word ("j'ai 15 ans il y a des hommes...")
    spans_before: list[str] = field(default_factory=list)


AGE_KEYS = ("say", "years", "others", "spans", "spans_before")


@dataclass
class Lexicon:
    language: str
    phrases: list[Entry] = field(default_factory=list)
    combinations: list[tuple[Entry, tuple[str, ...]]] = field(default_factory=list)
    near: list[tuple[Entry, tuple[str, ...]]] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)
    near_exclusions: list[tuple[str, ...]] = field(default_factory=list)
    figurative: list[str] = field(default_factory=list)
    ages: Ages = field(default_factory=Ages)
    file: str = ""
    line: int = 1  # of `language:`, where a coverage warning points

    @property
    def entries(self) -> list[Entry]:
        return self.phrases + [e for e, _ in self.combinations] + [e for e, _ in self.near]

    def concepts(self) -> set[str]:
        found = {e.concept for e in self.entries}
        if self.ages.say or self.ages.years:
            found.add(MINOR)
        return found


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)


def load_concepts(directory: Path) -> tuple[dict[str, Concept], list[Issue]]:
    path = Path(directory) / CONCEPTS_FILE
    if not path.is_file():
        return {}, [
            Issue(
                str(path),
                1,
                0,
                "concepts.yaml is missing: it names every risk and its severity",
                code="schema",
            )
        ]
    try:
        src = load(path)
    except YamlError as exc:
        return {}, [exc.issue]
    data = src.data.get("concepts") if isinstance(src.data, dict) else None
    if not isinstance(data, dict) or not data:
        return {}, [
            src.issue(
                (), "concepts.yaml: a mapping concepts: {name: {severity:, about:}}", code="schema"
            )
        ]
    concepts: dict[str, Concept] = {}
    issues: list[Issue] = []
    for name, body in data.items():
        where = ("concepts", name)
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            issues.append(
                src.issue(
                    where, f"concept name {name!r}: lower-case letters, digits and _", code="schema"
                )
            )
            continue
        severity = body.get("severity") if isinstance(body, dict) else None
        if severity not in SEVERITIES:
            issues.append(
                src.issue(
                    (*where, "severity"),
                    f"concept {name}: severity must be critical, high or medium",
                    code="unknown-severity",
                )
            )
            continue
        concepts[name] = Concept(name, severity, str(body.get("about", "")))
    return concepts, issues


def _words_of(phrase: str) -> str:
    return " ".join(fold_token(t) for t in tokens(phrase)) or cjk_text(phrase)


def _lexicon_from_source(
    src: Source, concepts: dict[str, Concept], issues: list[Issue]
) -> Lexicon | None:
    data = src.data
    if not isinstance(data, dict):
        issues.append(
            src.issue(
                (), "a lexicon is a mapping with language:, risks: and exclusions:", code="schema"
            )
        )
        return None
    for key in data:
        if key not in ("language", "risks", "exclusions", "figurative", "ages", "description"):
            issues.append(
                src.issue(
                    (key, "<key>"),
                    f"unknown key {key!r}; allowed: language, description, risks, ages, "
                    "exclusions, figurative",
                    code="unknown-key",
                )
            )
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)?", language):
        issues.append(
            src.issue(
                ("language",), "language: an ISO 639 code such as en, ro, ar, pcm", code="schema"
            )
        )
        return None
    lexicon = Lexicon(language, file=src.file, line=src.where(("language",))[0])
    seen: dict[str, int] = {}
    groups = data.get("risks")
    if not isinstance(groups, list) or not groups:
        issues.append(
            src.issue(
                ("risks",),
                "risks: a list of groups, each with concept: and phrases:",
                code="schema",
            )
        )
        return None
    for g, group in enumerate(groups):
        gp = ("risks", g)
        if not isinstance(group, dict):
            issues.append(
                src.issue(gp, "each group is a mapping with concept: and phrases:", code="schema")
            )
            continue
        for key in group:
            if key in ("severity", "category"):
                issues.append(
                    src.issue(
                        (*gp, key, "<key>"),
                        f"{key}: is gone: name the concept (concept: ...), whose severity concepts.yaml sets for every language",
                        code="unknown-key",
                    )
                )
            elif key not in _GROUP_KEYS:
                issues.append(
                    src.issue(
                        (*gp, key, "<key>"),
                        f"unknown key {key!r} in a group; allowed: {', '.join(_GROUP_KEYS)}",
                        code="unknown-key",
                    )
                )
        name = group.get("concept")
        concept = concepts.get(name) if isinstance(name, str) else None
        if concept is None:
            issues.append(
                src.issue(
                    (*gp, "concept"),
                    f"unknown concept {name!r}; concepts.yaml has {', '.join(concepts)}",
                    code="unknown-concept",
                )
            )
            continue
        phrases, near, combos = (group.get(k, []) for k in ("phrases", "near", "combinations"))
        if not all(isinstance(x, list) for x in (phrases, near, combos)) or not (
            phrases or near or combos
        ):
            issues.append(
                src.issue(
                    gp,
                    "a group needs phrases: (a list), near: or combinations: (lists of lists)",
                    code="schema",
                )
            )
            continue
        for p, phrase in enumerate(phrases):
            pp = (*gp, "phrases", p)
            if not isinstance(phrase, str) or not phrase.strip():
                issues.append(src.issue(pp, "a phrase must be a non-empty text", code="schema"))
                continue
            key = _words_of(phrase)
            if not key:
                issues.append(
                    src.issue(pp, f"phrase {phrase!r} has no letters to match", code="empty-phrase")
                )
                continue
            if key in seen:
                issues.append(
                    src.issue(
                        pp,
                        f"phrase {phrase!r} repeats the phrase of line {seen[key]} (after folding)",
                        "warning",
                        code="duplicate-phrase",
                    )
                )
                continue
            line = src.where(pp)[0]
            seen[key] = line
            lexicon.phrases.append(
                Entry(concept.severity, concept.name, phrase.strip(), language, src.file, line)
            )
        for kind, items, target in (
            ("near", near, lexicon.near),
            ("combinations", combos, lexicon.combinations),
        ):
            for c, words in enumerate(items):
                cp = (*gp, kind, c)
                if not _strings(words) or len(words) < 2:
                    issues.append(
                        src.issue(
                            cp,
                            "a near group is a list of two or more words found close together"
                            if kind == "near"
                            else "a combination is a list of two or more phrases that must all appear",
                            code="schema",
                        )
                    )
                    continue
                if kind == "near" and any(len(tokens(w)) != 1 for w in words):
                    issues.append(
                        src.issue(cp, "each part of a near group is one word", code="schema")
                    )
                    continue
                sep = " ~ " if kind == "near" else " + "
                entry = Entry(
                    concept.severity,
                    concept.name,
                    sep.join(words),
                    language,
                    src.file,
                    src.where(cp)[0],
                )
                target.append((entry, tuple(w.strip() for w in words)))
    ages = data.get("ages", {})
    if (
        not isinstance(ages, dict)
        or not all(_strings(ages.get(k, [])) for k in AGE_KEYS)
        or set(ages) - set(AGE_KEYS)
    ):
        issues.append(
            src.issue(
                ("ages",),
                "ages: {say: [words before an age], years: [words after it], "
                "others: [words that make it somebody else's], "
                "spans: [words that make it a span of time, before the number or after "
                "its years word], spans_before: [the same, only before the number]}",
                code="schema",
            )
        )
    else:
        lexicon.ages = Ages(*([x.strip() for x in ages.get(k, [])] for k in AGE_KEYS))
    exclusions = data.get("exclusions", [])
    if not isinstance(exclusions, list):
        exclusions = [None]
    for e, item in enumerate(exclusions):
        if isinstance(item, str) and item.strip():
            lexicon.exclusions.append(item.strip())
        elif _strings(item) and len(item) >= 2 and all(len(tokens(w)) == 1 for w in item):
            lexicon.near_exclusions.append(tuple(w.strip() for w in item))
        else:
            issues.append(
                src.issue(
                    ("exclusions", e)
                    if isinstance(data.get("exclusions"), list)
                    else ("exclusions",),
                    "an exclusion is a benign phrase, or a list of words found close together "
                    "([queue, kill]: the queue will kill me)",
                    code="schema",
                )
            )
    figurative = data.get("figurative", [])
    if not _strings(figurative) or not all(len(tokens(w)) <= 1 for w in figurative):
        issues.append(
            src.issue(
                ("figurative",),
                "figurative: [single words that make a threat a figure of speech: exam, heat]",
                code="schema",
            )
        )
    else:
        lexicon.figurative = [w.strip() for w in figurative]
    return lexicon


def coverage(lexicons: list[Lexicon], concepts: dict[str, Concept]) -> list[Issue]:
    """A warning for each concept a language does not cover, at its `language:` line."""
    return [
        Issue(
            lexicon.file,
            lexicon.line,
            0,
            f"concept {name} ({concept.severity}) has no words in {lexicon.language}",
            "warning",
            code="concept-missing",
        )
        for lexicon in lexicons
        for name, concept in concepts.items()
        if name not in lexicon.concepts()
    ]


def coverage_table(lexicons: list[Lexicon], concepts: dict[str, Concept]) -> str:
    """Entries per concept (rows) and language (columns); `-` where none."""
    languages = [lexicon.language for lexicon in lexicons]
    width = max(len(name) for name in concepts) + 2
    rows = ["".ljust(width) + "".join(f"{code:>5}" for code in languages)]
    for name in concepts:
        cells = []
        for lexicon in lexicons:
            count = sum(e.concept == name for e in lexicon.entries)
            if name == MINOR and (lexicon.ages.say or lexicon.ages.years):
                count += 1
            cells.append(f"{count or '-':>5}")
        rows.append(name.ljust(width) + "".join(cells))
    return "\n".join(rows)


def load_lexicons(directory: Path) -> tuple[list[Lexicon], list[Issue]]:
    """Every lexicon of `directory`, and the problems found (coverage gaps as warnings)."""
    concepts, issues = load_concepts(directory)
    lexicons: list[Lexicon] = []
    languages: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.y*ml")):
        if path.name == CONCEPTS_FILE:
            continue
        try:
            src = load(path)
        except YamlError as exc:
            issues.append(exc.issue)
            continue
        lexicon = _lexicon_from_source(src, concepts, issues)
        if lexicon is None:
            continue
        if lexicon.language in languages:
            issues.append(
                src.issue(
                    ("language",),
                    f"language {lexicon.language!r} is also the language of {languages[lexicon.language]}",
                    code="duplicate-language",
                )
            )
            continue
        languages[lexicon.language] = src.file
        lexicons.append(lexicon)
    return lexicons, issues + coverage(lexicons, concepts)
