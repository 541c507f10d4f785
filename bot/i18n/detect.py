"""The language a message is written in, when that is clear.

py3langid (langid.py's naive Bayes over byte n-grams; its model ships in the
wheel, nothing is downloaded), restricted to the languages the helpline has
catalogs for, with probabilities normalised over them. It answers only when the
most likely language reaches CONFIDENT, fixed before any evaluation: short
greetings ("hi", "ok", "hello") stay below it and fall back to the next source
(the phone's country, then English). benchmarks/language.py measures it on a
held-out set.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

CONFIDENT = 0.85


@functools.cache
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier | None:
    """Loaded once per process and language set (~0.7 s, at the first message)."""
    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    known = [code for code in languages if code in identifier.nb_classes]
    if len(known) < 2:
        return None  # nothing to choose between
    identifier.set_languages(known)
    return identifier


class LanguageOf:
    """Callable: text -> a language code of `languages`, or None when unsure."""

    def __init__(self, languages: Iterable[str], confident: float = CONFIDENT):
        self.confident = confident
        self.languages = tuple(sorted(languages))

    def __call__(self, text: str) -> str | None:
        identifier = _identifier(self.languages)
        if identifier is None or not text.strip():
            return None
        code, probability = identifier.classify(text[:500])
        return str(code) if probability >= self.confident else None
