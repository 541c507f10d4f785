"""Shelter lookups with a 50,000-entry directory: latency of the Redis GEO
search (bot/shelters/search.py) against a linear scan in Python over the same entries,
in the same run, for coordinates and for typed place names.

    python -m benchmarks.shelters [--entries 50000] [--queries 2000] [--no-memory]

The entries are random services clustered around the towns of Europe (more
around bigger towns), imported into a throwaway embedded Redis through the
real import. Coordinate queries are points near random towns, each with the
kind of service a person's need maps to. Place queries are town names as
people type them: in other scripts (Cyrillic, Greek, Arabic...), lower case,
with one letter wrong, missing, added or two swapped, or inside a sentence;
each is resolved by the gazetteer, then searched. Both sides return the three
nearest matches within 150 km; the run checks that they agree.

The entries kept in this process for the scan are frozen out of the garbage
collector's way before timing (the app holds no such list). Latencies are
wall-clock times of the awaited lookup, on whatever else the machine runs: the
load average is printed beside them.

Ends with one `name=value` figure per line.
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import asyncio
import gc
import heapq
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from bot.shelters.directory import KINDS, RADII_KM, SERVICES, Shelter
from bot.shelters.gazetteer import Gazetteer
from bot.shelters.importer import import_directory
from bot.shelters.search import Directory
from bot.store.embedded import EmbeddedRedis

LANGUAGES = ("en", "ro", "bg", "uk", "ru", "es", "fr", "ar", "zh", "it", "pl", "hu", "sq", "de")
LOCAL_KINDS = ("shelter", "counselling", "legal_aid", "health")
BLOCK = 100
# The stricter search of the filtered rows: women only, speaking Romanian or Ukrainian.
FILTER_SERVICES = ("women_only",)
FILTER_LANGUAGES = ("ro", "uk")


def build_entries(gazetteer: Gazetteer, count: int, rng: random.Random) -> list[Shelter]:
    towns = list(range(len(gazetteer._names)))
    weights = [math.sqrt(max(1, gazetteer._population[i])) for i in towns]
    picks = rng.choices(towns, weights=weights, k=count)
    entries = []
    for n, town in enumerate(picks):
        lat = gazetteer._lat[town] + rng.gauss(0, 0.05)  # ~5 km around the town
        lon = gazetteer._lon[town] + rng.gauss(0, 0.07)
        kind = rng.choices(KINDS, weights=(3, 3, 2, 1, 2))[0]
        entries.append(
            Shelter(
                id=f"s{n}",
                name=f"Service {n}",
                kind=kind,
                city=gazetteer._names[town],
                country=gazetteer._countries[town],
                latitude=max(-85.0, min(85.0, lat)),
                longitude=lon,
                phone="",
                website=f"https://example.org/s{n}",
                languages=tuple(rng.sample(LANGUAGES, rng.randint(1, 4))),
                services=tuple(s for s in SERVICES if rng.random() < 0.3),
                last_checked="2026-01-01",
                example=True,
            )
        )
    return entries


REDIS_EARTH_RADIUS_KM = 6372.797560856  # what Redis GEO commands use (src/geohash_helper.c)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine with Redis's earth radius: the scan measures exactly as GEOSEARCH does."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * REDIS_EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class LinearScan:
    """The baseline: every entry's distance computed in Python, for each query."""

    def __init__(self, entries: list[Shelter]):
        self.rows = [(s.latitude, s.longitude, s.kind, s) for s in entries]

    def near(
        self,
        lat: float,
        lon: float,
        kinds: tuple[str, ...],
        limit: int = 3,
        services: tuple[str, ...] = (),
        languages: tuple[str, ...] = (),
    ) -> list[tuple[float, str]]:
        found = []
        for slat, slon, kind, shelter in self.rows:
            if kind not in kinds or not all(s in shelter.services for s in services):
                continue
            if languages and not any(code in shelter.languages for code in languages):
                continue
            distance = _km(lat, lon, slat, slon)
            if distance <= RADII_KM[-1]:
                found.append((distance, shelter.id))
        return heapq.nsmallest(limit, found)


def typed_forms(gazetteer: Gazetteer, rng: random.Random, count: int) -> list[str]:
    """Town names as people type them."""
    big = [i for i in range(len(gazetteer._names)) if gazetteer._population[i] >= 50_000]
    by_city: dict[int, list[str]] = {}
    for name, ids in gazetteer._index.items():
        for i in (ids,) if isinstance(ids, int) else ids:
            if gazetteer._population[i] >= 50_000:
                by_city.setdefault(i, []).append(name)
    forms = []
    while len(forms) < count:
        town = rng.choice(big)
        name = gazetteer._names[town]
        style = rng.randrange(5)
        if style == 0:  # another script or language
            others = [n for n in by_city.get(town, []) if not n.isascii()] or [name]
            forms.append(rng.choice(others))
        elif style == 1:
            forms.append(name.lower())
        elif style == 2:  # a typo
            forms.append(_typo(name, rng) if len(name) >= 6 else name)
        elif style == 3:
            forms.append(f"I am in {name} now")
        else:
            forms.append(name)
    return forms


def _typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(name) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return name[:i] + name[i + 1 :]  # a letter missing
    if kind == 1:
        return name[:i] + rng.choice("aeiourstnl") + name[i:]  # a letter added
    if kind == 2:
        return name[:i] + rng.choice("aeiourstnl") + name[i + 1 :]  # a letter wrong
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]  # two swapped


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


async def run(args) -> dict[str, float]:
    rng = random.Random(20261123)
    results: dict[str, float] = {}
    started = time.perf_counter()
    gazetteer = Gazetteer.shared()
    results["gazetteer_load_s"] = gazetteer.load_seconds
    cities, names = gazetteer.size
    print(f"gazetteer: {cities} towns, {names} names, built in {gazetteer.load_seconds:.2f} s")
    if not args.no_memory:
        measured = Gazetteer(measure_memory=True)
        results["gazetteer_mb"] = measured.memory_bytes / 1e6
        print(
            f"gazetteer memory: {measured.memory_bytes / 1e6:.1f} MB kept, "
            f"{measured.peak_bytes / 1e6:.0f} MB at the peak of the build (tracemalloc)"
        )
        del measured

    entries = build_entries(gazetteer, args.entries, rng)
    scan = LinearScan(entries)
    with tempfile.TemporaryDirectory(prefix="hl-bench-shelters-") as tmp:
        server = EmbeddedRedis(Path(tmp), appendonly=False)
        server.start()
        redis = Redis.from_url(server.url)
        try:
            t0 = time.perf_counter()
            await import_directory(redis, entries, "bench")
            results["import_s"] = time.perf_counter() - t0
            print(f"import of {len(entries)} entries: {results['import_s']:.2f} s")
            directory = Directory(redis)

            towns = [i for i in range(cities)]
            weights = [math.sqrt(max(1, gazetteer._population[i])) for i in towns]
            points = []
            for town in rng.choices(towns, weights=weights, k=args.queries):
                points.append(
                    (
                        gazetteer._lat[town] + rng.gauss(0, 0.05),
                        gazetteer._lon[town] + rng.gauss(0, 0.07),
                        (rng.choice(LOCAL_KINDS),),
                    )
                )
            places = typed_forms(gazetteer, rng, args.queries)

            for lat, lon, kinds in points[:100]:  # warm up: scripts loaded, connections open
                await directory.near(lat, lon, kinds=kinds)
            # The 50,000 entries held here for the scan (the app holds none) would
            # make every full garbage collection pause for ~20 ms in the middle
            # of some lookup: take them out of the collector's way.
            gc.collect()
            gc.freeze()
            load_before = os.getloadavg()[0]

            async def coords(query, **filters):
                lat, lon, kinds = query
                return await directory.near(lat, lon, kinds=kinds, **filters)

            def coords_scan(query, **filters):
                lat, lon, kinds = query
                return scan.near(lat, lon, kinds, **filters)

            async def place(query):
                typed, kinds = query
                found = gazetteer.resolve(typed)
                if found.kind == "city":
                    return await directory.near(
                        found.city.latitude, found.city.longitude, kinds=kinds
                    )
                return None

            def place_scan(query):
                typed, kinds = query
                found = gazetteer.resolve(typed)
                if found.kind == "city":
                    return scan.near(found.city.latitude, found.city.longitude, kinds)
                return None

            strict = {"services": FILTER_SERVICES, "languages": FILTER_LANGUAGES}
            place_queries = [(typed, (rng.choice(LOCAL_KINDS),)) for typed in places]
            timings = {}
            timings["coords"], timings["coords_scan"], agree1 = await compare(
                points, coords, coords_scan
            )
            timings["filtered"], timings["filtered_scan"], agree2 = await compare(
                points, lambda q: coords(q, **strict), lambda q: coords_scan(q, **strict)
            )
            timings["place"], timings["place_scan"], agree3 = await compare(
                place_queries, place, place_scan
            )
            agree = agree1 + agree2 + agree3
            resolved = sum(
                gazetteer.resolve(typed).kind in ("city", "ambiguous") for typed in places
            )

            resolve_index, resolve_linear = [], []
            all_names = list(gazetteer._index)
            from rapidfuzz import process
            from rapidfuzz.distance import OSA

            from bot.text.normalise import fold

            for typed in places[: args.queries // 10]:
                t0 = time.perf_counter()
                gazetteer.resolve(typed)
                resolve_index.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                process.extractOne(fold(typed), all_names, scorer=OSA.distance, score_cutoff=1)
                resolve_linear.append(time.perf_counter() - t0)
        finally:
            await redis.aclose()
            server.stop()

    rows = [
        ("coordinates: Redis GEOSEARCH", timings["coords"]),
        ("coordinates: linear Python scan", timings["coords_scan"]),
        ("coordinates + 2 filters: Redis", timings["filtered"]),
        ("coordinates + 2 filters: linear scan", timings["filtered_scan"]),
        ("typed place: gazetteer + Redis", timings["place"]),
        ("typed place: gazetteer + linear scan", timings["place_scan"]),
        ("place name only: gazetteer index", resolve_index),
        ("place name only: linear rapidfuzz scan", resolve_linear),
    ]
    print()
    print(
        f"{len(entries)} entries, {len(points)} coordinate and {len(places)} place queries "
        f"(3 nearest within {RADII_KM[-1]} km, one kind)"
    )
    print(f"{'lookup':42} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'n':>6}")
    for label, values in rows:
        ms = [v * 1000 for v in values]
        print(
            f"{label:42} {percentile(ms, 50):9.3f} {percentile(ms, 99):9.3f} {statistics.fmean(ms):9.3f} {len(ms):6d}"
        )
    print(
        f"results of Redis and the scan agree: {agree}/{3 * len(points)} (with and without filters); "
        f"place names understood: {resolved}/{len(places)}"
    )
    print(
        f"run time: {time.perf_counter() - started:.0f} s; load average {load_before:.1f} before the queries, "
        f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores (other processes share them)"
    )
    print()

    def p(values, q):
        return percentile([v * 1000 for v in values], q)

    results.update(
        {
            "coords_p50_ms": p(timings["coords"], 50),
            "coords_p99_ms": p(timings["coords"], 99),
            "place_p50_ms": p(timings["place"], 50),
            "place_p99_ms": p(timings["place"], 99),
            "scan_coords_p99_ms": p(timings["coords_scan"], 99),
            "scan_place_p99_ms": p(timings["place_scan"], 99),
            "coords_speedup_vs_scan": p(timings["coords_scan"], 50) / p(timings["coords"], 50),
            "place_speedup_vs_scan": p(timings["place_scan"], 50) / p(timings["place"], 50),
            "results_agree": agree / (3 * len(points)),
        }
    )
    return results


async def compare(queries, indexed, linear) -> tuple[list[float], list[float], int]:
    """Time `indexed` (awaited) and `linear` over the same queries, in alternating
    blocks of BLOCK: both meet the same machine load, and no lookup is timed
    right after a 25 ms scan used up the process's turn on the CPU. Returns
    both latencies and how many results agree."""
    fast, slow, agree = [], [], 0
    for start in range(0, len(queries), BLOCK):
        block = queries[start : start + BLOCK]
        found = []
        for query in block:
            t0 = time.perf_counter()
            found.append(await indexed(query))
            fast.append(time.perf_counter() - t0)
        for query, nearby in zip(block, found, strict=True):
            t0 = time.perf_counter()
            expected = linear(query)
            slow.append(time.perf_counter() - t0)
            agree += (
                nearby is None
                and expected is None
                or (nearby is not None and expected is not None and _same(nearby, expected))
            )
    return fast, slow, agree


def _same(nearby, expected) -> bool:
    """The same services; equal distances (to a metre) may come in either order."""
    if [f.shelter.id for f in nearby.found] == [i for _, i in expected]:
        return True
    return _same_up_to_ties(nearby, expected)


def _same_up_to_ties(nearby, expected) -> bool:
    """Equal distances (to 1 m) may come in either order."""
    got = [round(f.distance_km, 3) for f in nearby.found]
    want = [round(d, 3) for d, _ in expected]
    return len(got) == len(want) and all(
        abs(a - b) <= 0.002 for a, b in zip(got, want, strict=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the (slow) tracemalloc measure"
    )
    args = parser.parse_args()
    results = asyncio.run(run(args))
    for name, value in results.items():
        print(f"{name}={value:.3g}" if value < 100 else f"{name}={value:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
