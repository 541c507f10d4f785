"""`helpline locales extract|update|compile|check`: gettext catalogs with babel.

- extract: every person-facing text of the flows into locales/helpline.pot
- update:  merge the template into each language's helpline.po (new and changed texts)
- compile: .po -> .mo, for tools that want compiled catalogs (the app reads .po)
- check:   coverage per language; exit 1 when a shipped language is incomplete, or a
           translation breaks a {placeholder}, a number (112, an article), or uses a
           Twilio opt-out word as a keyword
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n.catalogs import DOMAIN, translation_problems
from bot.sources import Issue

METHOD_MAP = [
    ("risk/**", "ignore"),
    ("tests/**", "ignore"),
    ("*.yaml", "bot.i18n.extract:extract_flows"),
]


def template_path(locales_dir: Path) -> Path:
    return Path(locales_dir) / f"{DOMAIN}.pot"


def catalog_path(locales_dir: Path, language: str) -> Path:
    return Path(locales_dir) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def shipped_languages(locales_dir: Path) -> list[str]:
    return sorted(
        p.parent.parent.name for p in Path(locales_dir).glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )


def extract(flows_dir: Path, locales_dir: Path) -> Catalog:
    """Write locales/helpline.pot from the flows; return it."""
    catalog = Catalog(
        project="helpline",
        domain=DOMAIN,
        charset="utf-8",
        fuzzy=False,
        creation_date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        str(flows_dir), method_map=METHOD_MAP, comment_tags=("",), strip_comment_tags=True
    ):
        catalog.add(
            message, None, [(f"flows/{filename}", lineno)], auto_comments=comments, context=context
        )
    Path(locales_dir).mkdir(parents=True, exist_ok=True)
    with template_path(locales_dir).open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=False)
    return catalog


def update(locales_dir: Path, languages: list[str] | None = None) -> list[str]:
    """Merge the template into each language's catalog (creating missing ones)."""
    with template_path(locales_dir).open("rb") as handle:
        template = read_po(handle)
    done = []
    for language in languages or shipped_languages(locales_dir):
        path = catalog_path(locales_dir, language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="helpline", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)
        done.append(language)
    return done


def compile_all(locales_dir: Path) -> list[Path]:
    written = []
    for language in shipped_languages(locales_dir):
        path = catalog_path(locales_dir, language)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        target = path.with_suffix(".mo")
        with target.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(target)
    return written


@dataclass
class Coverage:
    language: str
    translated: int = 0
    fuzzy: int = 0
    missing: int = 0
    problems: list[Issue] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.missing

    @property
    def complete(self) -> bool:
        return self.fuzzy == 0 and self.missing == 0


def check(locales_dir: Path) -> list[Coverage]:
    """Coverage and problems of every shipped language against the template."""
    with template_path(locales_dir).open("rb") as handle:
        template = read_po(handle)
    results = []
    for language in shipped_languages(locales_dir):
        path = catalog_path(locales_dir, language)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        coverage = Coverage(language)
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id)
            line = found.lineno if found is not None and found.lineno else 1
            if found is None or not found.string:
                coverage.missing += 1
                continue
            if found.fuzzy:
                coverage.fuzzy += 1
                continue
            coverage.translated += 1
            source, translation = message.id, found.string
            if not isinstance(source, str) or not isinstance(translation, str):
                continue  # a plural message: the flows have none, these checks compare one text
            for sentence, code in translation_problems(source, translation, message.auto_comments):
                coverage.problems.append(Issue(str(path), line, 0, sentence, code=code))
        results.append(coverage)
    return results


def print_check(results: list[Coverage], out=sys.stdout) -> bool:
    ok = True
    out.write(f"{'language':10}{'translated':>12}{'fuzzy':>8}{'missing':>9}{'coverage':>10}\n")
    for c in results:
        share = c.translated / c.total if c.total else 1.0
        out.write(f"{c.language:10}{c.translated:>12}{c.fuzzy:>8}{c.missing:>9}{share:>10.0%}\n")
    for c in results:
        for problem in c.problems:
            out.write(f"{problem}\n")
        if not c.complete or c.problems:
            ok = False
    return ok
