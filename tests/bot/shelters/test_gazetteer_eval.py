"""The gazetteer's evaluation set (tests/data/gazetteer_eval/, read by
benchmarks/gazetteer.py): written by people who had not seen the gazetteer or
its data, frozen before any tuning, and as large as issue 17 asks."""

from __future__ import annotations

import hashlib
from collections import Counter

import yaml

from tests.conftest import ROOT

FOLDER = ROOT / "tests" / "data" / "gazetteer_eval"
LANGUAGES = {"en", "es", "fr", "it", "de", "pl", "ro", "hu", "sq", "ru", "uk", "bg", "ar", "zh"}


def load(name: str) -> list:
    return yaml.safe_load((FOLDER / name).read_text(encoding="utf-8"))


def test_the_set_is_frozen():
    """Editing a spelling to fit the gazetteer would make its figures lies:
    SHA256SUMS was written when the set was committed, before any tuning."""
    sums = dict(reversed(line.split()) for line in (FOLDER / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {path.name for path in FOLDER.glob("*.yaml")}
    for name, digest in sums.items():
        assert hashlib.sha256((FOLDER / name).read_bytes()).hexdigest() == digest, name


def test_the_set_holds_300_cities_and_150_answers_that_name_no_place():
    cities = [c for path in sorted(FOLDER.glob("cities_*.yaml")) for c in load(path.name)]
    assert len(cities) >= 300
    fields = {"country", "lat", "lon", "en", "native", "exonyms", "ru", "el", "ar"}
    for city in cities:
        assert fields <= set(city), city
        assert 27 <= city["lat"] <= 72 and -32 <= city["lon"] <= 60, city
    assert len({(c["country"], c["en"]) for c in cities}) == len(cities)  # no city twice
    answers = load("no_place.yaml")
    per_language = Counter(a["language"] for a in answers)
    assert len(answers) >= 150 and set(per_language) == LANGUAGES
    assert min(per_language.values()) >= 10
    sentences = load("sentences.yaml")
    assert {s["language"] for s in sentences} == LANGUAGES
    assert all("{city}" in t for s in sentences for t in s["templates"])
