"""Risk lexicons: one YAML file per language in flows/risk/ (flows/risk/README.md), read with file:line for every issue."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.risk.normalise import cjk_text, fold_token, tokens
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
            src.issue(
                (), "a lexicon is a mapping with language:, risks: and exclusions:", code="schema"
            )
        )
        return None
    for key in data:
        if key not in ("language", "risks", "exclusions", "description"):
            issues.append(
                src.issue(
                    (key, "<key>"),
                    f"unknown key {key!r}; allowed: language, risks, exclusions, description",
                    code="unknown-key",
                )
            )
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)?", language):
        issues.append(
            src.issue(
                ("language",), "language: an ISO 639-1 code such as en, ro, ar", code="schema"
            )
        )
        return None
    lexicon = Lexicon(language)
    seen: dict[str, int] = {}
    groups = data.get("risks")
    if not isinstance(groups, list) or not groups:
        issues.append(
            src.issue(
                ("risks",),
                "risks: a list of groups, each with category:, severity: and phrases:",
                code="schema",
            )
        )
        return None
    for g, group in enumerate(groups):
        gp = ("risks", g)
        if not isinstance(group, dict):
            issues.append(
                src.issue(
                    gp, "each group is a mapping with category:, severity:, phrases:", code="schema"
                )
            )
            continue
        for key in group:
            if key not in ("category", "severity", "phrases", "combinations", "note"):
                issues.append(
                    src.issue(
                        (*gp, key, "<key>"),
                        f"unknown key {key!r} in a group; allowed: category, severity, phrases, combinations, note",
                        code="unknown-key",
                    )
                )
        category, severity = group.get("category"), group.get("severity")
        if category not in CATEGORIES:
            issues.append(
                src.issue(
                    (*gp, "category"),
                    f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}",
                    code="unknown-category",
                )
            )
            continue
        if severity not in SEVERITIES:
            issues.append(
                src.issue(
                    (*gp, "severity"),
                    f"unknown severity {severity!r}; use critical, high or medium",
                    code="unknown-severity",
                )
            )
            continue
        phrases = group.get("phrases", [])
        combos = group.get("combinations", [])
        if not isinstance(phrases, list) or not isinstance(combos, list) or not (phrases or combos):
            issues.append(
                src.issue(
                    gp,
                    "a group needs phrases: (a list) or combinations: (a list of lists)",
                    code="schema",
                )
            )
            continue
        for p, phrase in enumerate(phrases):
            pp = (*gp, "phrases", p)
            if not isinstance(phrase, str) or not phrase.strip():
                issues.append(src.issue(pp, "a phrase must be a non-empty text", code="schema"))
                continue
            key = " ".join(fold_token(t) for t in tokens(phrase)) or cjk_text(phrase)
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
                        cp,
                        "a combination is a list of two or more phrases that must all appear",
                        code="schema",
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
        issues.append(
            src.issue(("exclusions",), "exclusions: a list of benign phrases", code="schema")
        )
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
                    code="duplicate-language",
                )
            )
            continue
        languages[lexicon.language] = src.file
        lexicons.append(lexicon)
    return lexicons, issues


# ---------------------------------------------------------------------------- matcher
