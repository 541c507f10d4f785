"""Stems, so that one lexicon word covers its inflections: the Snowball
stemmers (PyStemmer: C, a quarter of a microsecond a word, no data files)
for the lexicon languages that have one. `bg`, `uk` and `sq` have none: their
lexicons use `word*` prefixes instead."""

from __future__ import annotations

from functools import lru_cache

import Stemmer

ALGORITHMS = {
    "ar": "arabic",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "pcm": "english",  # Nigerian Pidgin: English roots, English endings where any
    "pl": "polish",
    "ro": "romanian",
    "ru": "russian",
}
MIN_STEM = 4  # shorter stems say too little: Polish "zabić" would be "zab", also "tooth"

_stemmers = {name: Stemmer.Stemmer(name) for name in sorted(set(ALGORITHMS.values()))}


def stemmer_of(language: str) -> Stemmer.Stemmer | None:
    name = ALGORITHMS.get(language)
    return _stemmers[name] if name else None


@lru_cache(maxsize=100_000)
def stem(language: str, word: str) -> str | None:
    """The stem of a (case-folded) word in `language`, when it has a stemmer and the stem is long enough."""
    stemmer = stemmer_of(language)
    if stemmer is None:
        return None
    found = stemmer.stemWord(word)
    return found if len(found) >= MIN_STEM else None


def all_stems(word: str) -> list[str]:
    """The word's stem in every language that has a stemmer (a message's language is not known)."""
    found = []
    for stemmer in _stemmers.values():
        s = stemmer.stemWord(word)
        if len(s) >= MIN_STEM and s != word and s not in found:
            found.append(s)
    return found
