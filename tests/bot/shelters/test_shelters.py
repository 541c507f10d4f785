"""Shelter routing: the directory file (validation with file:line), its import
(idempotent, an atomic swap), lookups (coordinates, filters, a widening radius,
the national fallback), the find-a-shelter flow end to end, and that nothing
about where she is stays in Redis or in the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import phonenumbers
import pytest
import yaml

from bot.channels.base import Inbound
from bot.config import EXAMPLE_SHELTERS_FILE
from bot.runtime.conversations import TRANSIENT_ANSWER
from bot.runtime.live import Flows
from bot.shelters.directory import KINDS, Shelter, parse_directory, read_directory
from bot.shelters.gazetteer import Gazetteer
from bot.shelters.importer import import_directory, load_at_start
from bot.shelters.search import Directory
from bot.store import keys
from bot.store.vault import is_sealed
from bot.testing.scenarios import ScenarioRunner
from bot.testing.sealed import stored_data_keys, transcript
from bot.testing.settle import settled
from bot.text.segments import segments
from helpline.app import PRIVACY
from helpline.services import scenario_runtime
from tests.conftest import FLOWS, LOCALES, ROOT, helpline

TODAY = date(2026, 11, 23)
DOCS = ROOT / "docs" / "shelters.md"


@pytest.fixture(scope="module", autouse=True)
def gazetteer():
    """Built once for the module, so that no test waits for it in a reply."""
    return Gazetteer.shared()


def shelter(ident: str, lat: float, lon: float, kind: str = "shelter", **fields) -> Shelter:
    defaults = dict(
        city="Testville",
        country="IT",
        phone="",
        website="https://example.org/x",
        last_checked="2026-01-01",
    )
    return Shelter(
        id=ident,
        name=f"Test {ident}",
        kind=kind,
        latitude=lat,
        longitude=lon,
        **{**defaults, **fields},
    )


def problems_of(text: str, file: str = "dir.yaml") -> list[str]:
    _, problems = parse_directory(text.encode(), file, today=TODAY)
    return [str(p) for p in problems]


# --------------------------------------------------------------------------- the file format

BAD_YAML = """\
- id: ok-1
  name: Fine
  kind: shelter
  city: Bologna
  country: IT
  latitude: 44.49
  longitude: 11.34
  phone: "+39 051 644 1111"
  last_checked: 2026-01-10
- id: no-coordinates
  name: Somewhere
  kind: counselling
  city: Bologna
  country: IT
  website: https://example.org/a
  last_checked: 2026-01-10
- id: bad-latitude
  name: Far north
  kind: shelter
  city: Bologna
  country: IT
  latitude: 95.2
  longitude: 11.3
  website: https://example.org/b
  last_checked: 2026-01-10
- id: bad-service
  name: Services
  kind: health
  city: Bologna
  country: IT
  latitude: 44.5
  longitude: 11.3
  website: https://example.org/c
  services: [women_only, open24h]
  last_checked: 2026-01-10
- id: bad-phone
  name: Phone
  kind: legal_aid
  city: Bologna
  country: IT
  latitude: 44.5
  longitude: 11.3
  phone: "+39 12"
  last_checked: 2026-01-10
- id: ok-1
  name: Twice
  kind: helpline
  country: IT
  latitude: 41.9
  longitude: 12.5
  phone: "+39 051 644 1112"
  last_checked: 2026-01-10
- id: more
  name: More mistakes
  kind: refuge
  city: Bologna
  country: Italy
  latitude: 44.5
  longitude: 11.3
  website: example.org
  languages: [it, english]
  last_checked: 31/01/2026
  telephone: "+39 051 644 1113"
"""


def test_yaml_errors_name_their_lines():
    assert problems_of(BAD_YAML) == [
        "dir.yaml:10: missing coordinates: add latitude and longitude in decimal degrees, e.g. 44.4938 and 11.3387",
        "dir.yaml:22: latitude 95.2 is out of range: it must be between -85.0511 and 85.0511 (are latitude and longitude swapped?)",
        "dir.yaml:34: unknown service 'open24h' (did you mean 'open_24h'?)",
        "dir.yaml:43: phone '+39 12' is not a valid phone number: check the digits and the country code",
        "dir.yaml:45: duplicate id 'ok-1': line 1 already uses it; give every entry its own id",
        "dir.yaml:55: unknown kind 'refuge'; use one of: shelter, counselling, legal_aid, helpline, health",
        "dir.yaml:57: country 'Italy' is not an ISO 3166-1 alpha-2 code such as IT, DE or PL",
        "dir.yaml:60: website 'example.org' must be a full address starting with https://",
        "dir.yaml:61: language 'english' is not an ISO 639-1 code such as en, ro or uk",
        "dir.yaml:62: last_checked '31/01/2026' is not a date: write it as YYYY-MM-DD",
        "dir.yaml:63: unknown field 'telephone' (did you mean 'phone'?)",
    ]


BAD_CSV = """\
id,name,kind,city,country,latitude,longitude,address,phone,website,languages,services,opening_hours,last_checked,example
ok-1,Fine,shelter,Bologna,IT,44.49,11.34,,+39 051 644 1111,,it;en,women_only;open_24h,,2026-01-10,false
no-coordinates,Somewhere,counselling,Bologna,IT,,,,,https://example.org/a,,,,2026-01-10,false
bad-latitude,Far south,shelter,Bologna,IT,-91,11.3,,,https://example.org/b,,,,2026-01-10,false
bad-service,"Services, with a comma",health,Bologna,IT,44.5,11.3,,,https://example.org/c,,women_only;spa,,2026-01-10,false
bad-phone,Phone,legal_aid,Bologna,IT,44.5,11.3,,0039 051,,,,,2026-01-10,false
ok-1,Twice,helpline,,IT,41.9,12.5,,+39 051 644 1112,,,,,2026-01-10,false
"""


def test_csv_errors_name_their_lines():
    assert problems_of(BAD_CSV, "dir.csv") == [
        "dir.csv:3: missing coordinates: add latitude and longitude in decimal degrees, e.g. 44.4938 and 11.3387",
        "dir.csv:4: latitude -91 is out of range: it must be between -85.0511 and 85.0511 (are latitude and longitude swapped?)",
        "dir.csv:5: unknown service 'spa'; use one of: women_only, children_accepted, trafficking_specialist, open_24h, wheelchair_access",
        "dir.csv:6: phone '0039 051' is not a valid phone number in IT: check the digits and the country code",
        "dir.csv:7: duplicate id 'ok-1': line 2 already uses it; give every entry its own id",
    ]


def test_coordinates_outside_the_rows_country_and_every_duplicate_on_the_first_pass():
    """Latitude and longitude swapped but both in range (Berlin at 13.40, 52.52
    is in Chad) would import and then find nothing; so would a place in another
    country. A duplicate id is reported even when one of its rows has another error."""
    rows = """\
id,name,kind,city,country,latitude,longitude,address,phone,website,languages,services,opening_hours,last_checked,example
de-1,Swapped,shelter,Berlin,DE,13.40,52.52,,,https://example.org/a,,,,2026-01-10,false
de-2,In Paris,shelter,Berlin,DE,48.85,2.35,,,https://example.org/b,,,,2026-01-10,false
de-3,Fine,shelter,Berlin,DE,52.52,13.40,,,https://example.org/c,,,,2026-01-10,false
de-4,No phone nor website,shelter,Berlin,DE,52.52,13.40,,,,,,,2026-01-10,false
de-4,Again,shelter,Berlin,DE,52.52,13.40,,,https://example.org/d,,,,2026-01-10,false
no-1,Nordkapp,shelter,Honningsvåg,NO,70.98,25.97,,,https://example.org/e,,,,2026-01-10,false
es-1,Las Palmas,shelter,Las Palmas,ES,28.12,-15.43,,,https://example.org/f,,,,2026-01-10,false
"""
    assert problems_of(rows, "dir.csv") == [
        "dir.csv:2: the coordinates are outside the country DE: latitude and longitude look swapped: 52.52, 13.4 is in DE",
        "dir.csv:3: the coordinates are outside the country DE: check them: 48.85, 2.35 is not in DE",
        "dir.csv:5: the entry has neither phone nor website: give at least one, so that she can reach the service",
        "dir.csv:6: duplicate id 'de-4': line 5 already uses it; give every entry its own id",
    ]


def test_csv_header_and_shape_problems():
    text = "id,name,kind,city,country,lat,longitude,last_checked\nx,X,shelter,Rome,IT,41.9,12.5,2026-01-01,extra,cells\n"
    assert problems_of(text, "dir.csv") == [
        "dir.csv:1: unknown column 'lat'; use one of: id, name, kind, city, country, latitude, longitude, address, "
        "phone, website, languages, services, opening_hours, last_checked, example",
        "dir.csv:2: this row has 10 cells but the header names 8 columns: quote cells that contain commas",
    ]


def test_other_problems_are_sentences_that_say_what_to_do():
    entry = "- id: a b\n  kind: shelter\n  country: IT\n  latitude: 44\n  longitude: 11\n  example: maybe\n"
    found = problems_of(entry)
    assert (
        "dir.yaml:1: id 'a b' may only hold letters, digits, '.', '_' and '-' (at most 64 characters)"
        in found
    )
    assert "dir.yaml:1: the entry has no name: add the service's public name" in found
    assert any("city is missing" in p for p in found)
    assert any("last_checked is missing" in p for p in found)
    assert "dir.yaml:6: example must be true or false, not 'maybe'" in found
    assert any("neither phone nor website" in p for p in found)
    assert problems_of("") == [
        "dir.yaml:1: the file has no entries: add at least one service (see docs/shelters.md)"
    ]
    assert problems_of("shelters: {}") == [
        "dir.yaml:1: the file must be a list of entries, each starting with `- id:`"
    ]
    assert problems_of("- id: [x\n")[0].startswith("dir.yaml:2: YAML syntax:")
    assert problems_of("x", "dir.txt") == [
        "dir.txt:1: a directory file must end in .yaml, .yml or .csv"
    ]


def test_a_stale_entry_is_a_warning_not_an_error():
    entry = (
        "- id: old\n  name: Old\n  kind: helpline\n  country: IT\n  latitude: 41.9\n  longitude: 12.5\n"
        "  phone: '+39 051 644 1111'\n  last_checked: 2024-01-01\n"
    )
    shelters, problems = parse_directory(entry.encode(), "dir.yaml", today=TODAY)
    assert [s.id for s in shelters] == ["old"]
    assert [str(p) for p in problems] == [
        "dir.yaml:8: warning: entry 'old' was last checked on 2024-01-01, more than a year ago: "
        "check that it still exists and update last_checked"
    ]


def test_example_entries_must_not_carry_a_dialable_number():
    entry = (
        "- id: ex\n  name: Example\n  kind: helpline\n  country: IT\n  latitude: 41.9\n  longitude: 12.5\n"
        "  phone: '+39 051 644 1111'\n  last_checked: 2026-01-01\n  example: true\n"
    )
    assert problems_of(entry) == [
        "dir.yaml:7: phone '+39 051 644 1111' is a real, dialable number, but the entry is example data: use a "
        "fake number such as +39 000 000 0001, which cannot ring anyone (see docs/shelters.md)"
    ]


def _doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), re.S)


def test_the_documented_examples_are_valid_and_the_same_in_yaml_and_csv():
    yaml_blocks, csv_blocks = _doc_blocks("yaml"), _doc_blocks("csv")
    assert yaml_blocks and csv_blocks
    from_yaml, problems = parse_directory(yaml_blocks[0].encode(), "docs.yaml", today=TODAY)
    assert problems == []
    from_csv, problems = parse_directory(csv_blocks[0].encode(), "docs.csv", today=TODAY)
    assert problems == []
    assert from_yaml == from_csv
    assert {s.kind for s in from_yaml} >= {"shelter", "helpline"}


def test_the_example_directory():
    shelters, problems, _ = read_directory(EXAMPLE_SHELTERS_FILE)
    assert [p for p in problems if p.severity == "error"] == []
    assert all(s.example for s in shelters)
    assert all(s.name.startswith("Example ") for s in shelters)
    assert all(s.website.startswith("https://example.org/") for s in shelters)
    for s in shelters:  # no number that could ring a real person
        assert not s.phone or not phonenumbers.is_valid_number(phonenumbers.parse(s.phone)), s.id
        if s.kind == "shelter":
            assert s.address == "", f"{s.id}: a refuge's address is never listed"
        elif s.address:
            assert s.address.startswith("Example Street"), s.id
    cities = {s.city for s in shelters if s.kind != "helpline"}
    assert cities == {
        "Frankfurt am Main",
        "Brno",
        "Nice",
        "Vilnius",
        "Vienna",
        "Győr",
        "Bologna",
        "Heerlen",
        "Łódź",
        "Antwerp",
        "Kyiv",
        "Brussels",
        "Sofia",
        "Kristiansand",
        "Växjö",
        "Gdynia",
        "Riga",
        "Nicosia",
        "Dublin",
        "Klaipėda",
    }
    for city in cities:
        kinds = [s.kind for s in shelters if s.city == city]
        assert 2 <= len(kinds) <= 3 and len(set(kinds)) == len(kinds), city
    countries = {s.country for s in shelters}
    helplines = [s.country for s in shelters if s.kind == "helpline"]
    assert sorted(helplines) == sorted(countries), "one national helpline per country"


# --------------------------------------------------------------------------- import


async def generation_keys(redis) -> set[str]:
    return {k.decode() async for k in redis.scan_iter(match=f"{keys.PREFIX}:shelters:{{*")}


async def test_import_is_idempotent_and_reports_changes(redis):
    first = [shelter("a", 44.49, 11.34), shelter("b", 44.50, 11.35), shelter("c", 44.51, 11.36)]
    summary = await import_directory(redis, first, "sha1")
    assert (summary.added, summary.changed, summary.removed, summary.swapped) == (
        ["a", "b", "c"],
        [],
        [],
        True,
    )
    generation = summary.generation

    again = await import_directory(redis, first, "sha1")
    assert (again.added, again.changed, again.removed, again.swapped) == ([], [], [], False)
    assert again.generation == generation
    assert "already up to date" in str(again)

    second = [replace(first[0], name="Renamed"), first[1], shelter("d", 44.52, 11.37)]
    summary = await import_directory(redis, second, "sha2")
    assert (summary.added, summary.changed, summary.removed) == (["d"], ["a"], ["c"])
    assert str(summary) == "3 entries: 1 added, 1 changed, 1 removed"
    found = await Directory(redis).near(44.49, 11.34, limit=5)
    assert [f.shelter.id for f in found.found] == ["a", "b", "d"]
    assert found.found[0].shelter.name == "Renamed"
    # Only the new generation's keys are left.
    assert {k.split("{")[1].split("}")[0] for k in await generation_keys(redis)} == {
        summary.generation
    }


async def test_import_swaps_atomically_while_lookups_run(redis):
    old = [
        shelter(f"old-{i}", 44.49 + i * 1e-4, 11.34, services=("open_24h",)) for i in range(3000)
    ]
    new = [
        shelter(f"new-{i}", 44.49 + i * 1e-4, 11.34, services=("open_24h",)) for i in range(3000)
    ]
    await import_directory(redis, old)
    directory = Directory(redis)
    seen: list[set[str]] = []
    progress: list[int] = []
    importing = asyncio.create_task(
        import_directory(redis, new, progress=lambda done, total: progress.append(done))
    )
    while not importing.done():
        nearby = await directory.near(44.50, 11.34, limit=3, services=("open_24h",))
        seen.append({f.shelter.id.split("-")[0] for f in nearby.found})
        assert len(nearby.found) == 3
        await asyncio.sleep(0)
    await importing
    assert progress == [1000, 2000, 3000]
    assert all(prefixes in ({"old"}, {"new"}) for prefixes in seen), "a lookup saw half a directory"
    assert {"old"} in seen
    nearby = await directory.near(44.50, 11.34, limit=3)
    assert {f.shelter.id.split("-")[0] for f in nearby.found} == {"new"}


async def test_a_lookup_started_on_a_replaced_generation_reads_the_new_one(redis, monkeypatch):
    await import_directory(redis, [shelter("a", 44.49, 11.34)])
    directory = Directory(redis)
    real = directory.generation
    calls = []

    async def stale(fresh: bool = False) -> str:
        calls.append(1)
        return "g-deleted-meanwhile" if len(calls) == 1 else await real()

    monkeypatch.setattr(directory, "generation", stale)
    nearby = await directory.near(44.49, 11.34)
    assert [f.shelter.id for f in nearby.found] == ["a"] and len(calls) == 2


async def test_an_interrupted_import_is_cleaned_up_by_the_next(redis):
    await redis.sadd(keys.SHELTERS_GENERATIONS, "g-crashed")
    await redis.hset(keys.shelters_data("g-crashed"), "x", "{}")
    await import_directory(redis, [shelter("a", 44.49, 11.34)])
    assert not await redis.exists(keys.shelters_data("g-crashed"))
    assert await redis.smembers(keys.SHELTERS_GENERATIONS) == {
        (await redis.get(keys.SHELTERS_CURRENT))
    }


# --------------------------------------------------------------------------- lookups

BOLOGNA = (44.4949, 11.3426)


async def test_nearest_first_with_distances(redis):
    await import_directory(
        redis,
        [
            shelter("far", 44.60, 11.34),
            shelter("near", 44.495, 11.343),
            shelter("middle", 44.52, 11.36),
            shelter("other-city", 45.46, 9.19),  # Milan, 200 km
        ],
    )
    nearby = await Directory(redis).near(*BOLOGNA)
    assert [f.shelter.id for f in nearby.found] == ["near", "middle", "far"]
    assert [round(f.distance_km, 1) for f in nearby.found] == [0.0, 3.1, 11.7]
    assert nearby.radius_km == 15


async def test_filters(redis):
    await import_directory(
        redis,
        [
            shelter("plain", 44.495, 11.343),
            shelter("women", 44.496, 11.343, services=("women_only",), languages=("it", "ro")),
            shelter(
                "women-kids",
                44.497,
                11.343,
                services=("women_only", "children_accepted"),
                languages=("uk",),
            ),
            shelter("specialist", 44.498, 11.343, services=("trafficking_specialist", "open_24h")),
            shelter("legal", 44.499, 11.343, kind="legal_aid", languages=("ro",)),
            shelter("health", 44.500, 11.343, kind="health", services=("open_24h",)),
        ],
    )
    directory = Directory(redis)

    async def ids(**filters) -> list[str]:
        return [f.shelter.id for f in (await directory.near(*BOLOGNA, limit=10, **filters)).found]

    assert await ids(kinds=("legal_aid",)) == ["legal"]
    assert await ids(kinds=("legal_aid", "health")) == ["legal", "health"]
    assert await ids(services=("women_only",)) == ["women", "women-kids"]
    assert await ids(services=("women_only", "children_accepted")) == ["women-kids"]
    assert await ids(services=("trafficking_specialist",)) == ["specialist"]
    assert await ids(services=("open_24h",)) == ["specialist", "health"]
    assert await ids(languages=("ro",)) == ["women", "legal"]
    assert await ids(languages=("uk", "ro")) == ["women", "women-kids", "legal"]
    assert await ids(kinds=("shelter",), languages=("ro",)) == ["women"]
    assert await ids(kinds=("helpline",)) == []


async def test_the_radius_widens_when_nothing_is_near(redis):
    await import_directory(
        redis, [shelter("modena", 44.6471, 10.9252), shelter("ferrara", 44.8381, 11.6198)]
    )
    directory = Directory(redis)
    nearby = await directory.near(
        *BOLOGNA, limit=1
    )  # Modena is 37 km away: 5 and 15 km find nothing
    assert [f.shelter.id for f in nearby.found] == ["modena"] and nearby.radius_km == 50
    nearby = await directory.near(*BOLOGNA, limit=3)  # fewer than three within reach: all there are
    assert [f.shelter.id for f in nearby.found] == ["modena", "ferrara"] and nearby.radius_km == 150
    nearby = await directory.near(48.2082, 16.3738)  # Vienna: nothing within 150 km
    assert nearby.found == () and nearby.radius_km == 150


async def test_national_fallback_lists_the_countrys_helplines(redis):
    await import_directory(
        redis,
        [
            shelter(
                "it-line",
                41.9,
                12.5,
                kind="helpline",
                city="",
                phone="+39 06 1234 5678",
                website="",
            ),
            shelter("it-line-2", 45.4, 9.2, kind="helpline", city=""),
            shelter("de-line", 52.5, 13.4, kind="helpline", city="", country="DE"),
        ],
    )
    directory = Directory(redis)
    assert [s.id for s in await directory.national("IT")] == ["it-line", "it-line-2"]
    assert (await directory.national("IT"))[0].phone == "+39 06 1234 5678"
    assert await directory.national("FR") == []


async def test_no_directory_at_all(redis):
    directory = Directory(redis)
    assert (await directory.near(*BOLOGNA)).found == ()
    assert await directory.national("IT") == []
    assert await directory.get(["x"]) == []


# --------------------------------------------------------------------------- loading at start


async def test_start_loads_the_file_once_and_warns_about_example_data(redis, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="helpline.shelters")
    await load_at_start(redis, EXAMPLE_SHELTERS_FILE)
    generation = await redis.get(keys.SHELTERS_CURRENT)
    assert generation
    assert "holds EXAMPLE data (74 entries marked example: true)" in caplog.text
    caplog.clear()
    await load_at_start(
        redis, EXAMPLE_SHELTERS_FILE
    )  # unchanged: not imported again, still a warning
    assert await redis.get(keys.SHELTERS_CURRENT) == generation
    assert "loaded" not in caplog.text and "EXAMPLE data" in caplog.text

    # A directory imported by hand stays while the start file does not change...
    real = [shelter("real", 44.49, 11.34, phone="+39 051 644 1111")]
    await import_directory(redis, real, "by-hand")
    caplog.clear()
    await load_at_start(redis, EXAMPLE_SHELTERS_FILE)
    assert [s.id for s in await Directory(redis).get(["real"])] == ["real"]
    assert "EXAMPLE" not in caplog.text
    # ...and is replaced when it changes.
    changed = tmp_path / "shelters.yaml"
    changed.write_bytes(EXAMPLE_SHELTERS_FILE.read_bytes() + b"\n# edited\n")
    await load_at_start(redis, changed)
    assert await Directory(redis).get(["real"]) == []


async def test_start_with_a_broken_file_keeps_the_directory_in_use(redis, caplog, tmp_path):
    await import_directory(redis, [shelter("kept", 44.49, 11.34)], "x")
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "id,name,kind,city,country,latitude,longitude,website,last_checked\n"
        "a,A,spa,Rome,IT,41.9,12.5,https://example.org,2026-01-01\n"
    )
    await load_at_start(redis, broken)
    assert f"{broken}:2: unknown kind 'spa'" in caplog.text
    assert "it was not loaded" in caplog.text
    assert [s.id for s in await Directory(redis).get(["kept"])] == ["kept"]


# --------------------------------------------------------------------------- the CLI


def run_cli(*args: str, redis_url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "HELPLINE_FLOWS_DIR": str(FLOWS),
        "HELPLINE_LOCALES_DIR": str(LOCALES),
        "PYTHONPATH": str(ROOT),
    }
    env["HELPLINE_LOCALES_DIR"] = str(cwd)  # any readable directory
    return helpline(*args, env=env, cwd=cwd)


async def test_cli_import_prints_every_error_and_changes_nothing(redis, redis_url, tmp_path):
    await import_directory(redis, [shelter("kept", 44.49, 11.34)], "x")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_YAML)
    result = await asyncio.to_thread(
        run_cli, "shelters", "import", str(bad), redis_url=redis_url, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == problems_of(BAD_YAML, str(bad))
    assert "11 error(s)" in result.stderr and "nothing was changed" in result.stderr
    assert [s.id for s in await Directory(redis).get(["kept"])] == ["kept"]


async def test_cli_import_with_progress_and_summary(redis, redis_url, tmp_path):
    rows = ["id,name,kind,city,country,latitude,longitude,website,last_checked"]
    rows += [
        f"s{i},Service {i},shelter,Rome,IT,{41 + i / 10000:.4f},12.5,https://example.org/{i},2026-01-01"
        for i in range(2500)
    ]
    big = tmp_path / "big.csv"
    big.write_text("\n".join(rows) + "\n")
    result = await asyncio.to_thread(
        run_cli, "shelters", "import", str(big), redis_url=redis_url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert f"{big}: 2500 entries: 2500 added, 0 changed, 0 removed" in result.stdout
    assert "100% 2500/2500" in result.stderr
    again = await asyncio.to_thread(
        run_cli, "shelters", "import", str(big), redis_url=redis_url, cwd=tmp_path
    )
    assert "0 added, 0 changed, 0 removed (the directory was already up to date)" in again.stdout
    assert len(await Directory(redis).get([f"s{i}" for i in range(2500)])) == 2500
    # The next start keeps it: HELPLINE_SHELTERS_FILE (the example) has not changed since.
    await load_at_start(redis, EXAMPLE_SHELTERS_FILE)
    assert len(await Directory(redis).get([f"s{i}" for i in range(2500)])) == 2500


async def test_one_import_at_a_time(redis):
    first = [shelter(f"a{i}", 44.49, 11.34 + i * 1e-4) for i in range(3000)]
    second = [shelter(f"b{i}", 44.49, 11.34 + i * 1e-4) for i in range(3000)]
    await asyncio.gather(import_directory(redis, first), import_directory(redis, second))
    generation = (await redis.get(keys.SHELTERS_CURRENT)).decode()
    ids = {k.decode()[0] for k in await redis.hkeys(keys.shelters_data(generation))}
    assert (
        len(ids) == 1 and await redis.hlen(keys.shelters_data(generation)) == 3000
    )  # one whole directory
    assert await redis.smembers(keys.SHELTERS_GENERATIONS) == {generation.encode()}
    assert not await redis.exists(keys.SHELTERS_IMPORT_LOCK)


# --------------------------------------------------------------------------- the flow, through the web chat


async def to_where(chat) -> None:
    await chat.start()
    assert "How can I help you?" in await chat.say("1")
    assert "What do you need most?" in await chat.say("3")


async def test_find_a_place_to_sleep_tonight_end_to_end(chat):
    await to_where(chat)
    assert "In which town or city are you?" in await chat.say("1")
    answer = await chat.say("Болонья")
    assert answer.startswith(
        "Nearest to Bologna, Italy:\n\n1. Example Women's Shelter Bologna, 1 km\n"
    )
    assert (
        "Shelter: women only, open day and night, children welcome, and helps people who were exploited"
        in answer
    )
    assert "Languages: Italian, English, Bulgarian, and Ukrainian" in answer
    assert "Phone: +39 0000000001, example.org/it-bologna-shelter" in answer
    assert "Example data, not a real service." in answer
    assert [o["label"] for o in chat.last_options] == [
        "Send me an address",
        "Search another place",
        "Main menu",
    ]
    # A refuge's address is never sent: she is told to call.
    assert "Anyone who reads your phone could see them" in await chat.say("1")
    assert "These services do not publish an address" in await chat.say("1")


async def test_legal_help_by_typo_then_the_address_after_she_confirms(chat):
    await to_where(chat)
    await chat.say("2")  # legal help
    answer = await chat.say("Antwrep")  # Antwerp has no legal aid: Brussels, 41 km
    assert answer.startswith("Nearest to Antwerp, Belgium:\n\n1. Example Legal Aid Brussels, 41 km")
    assert "Example Street" not in answer, "no address before she asks"
    await chat.say("1")
    assert await chat.say("2") == "What would you like to do now?"  # she said no: nothing sent
    answer = await chat.say("1")  # search another place
    answer = await chat.say("Brussels")
    await chat.say("1")
    sent = await chat.say("1")
    assert sent.startswith("Example Legal Aid Brussels: Example Street 3, Brussels")


async def test_a_country_gets_its_helplines(chat):
    await to_where(chat)
    await chat.say("4")
    answer = await chat.say("Italia")
    assert answer.startswith(
        "These helplines serve all of Italy:\n\n1. Example National Helpline Italy\n"
    )
    assert answer.endswith("Write your town or city to find the nearest services.")


async def test_nothing_near_gives_the_national_helplines_and_112(chat):
    await to_where(chat)
    await chat.say("3")  # health
    answer = await chat.say("Klaipeda")
    assert answer.startswith(
        "I found nothing of this kind within 150 km.\nThese helplines serve all of Lithuania:"
    )
    assert "1. Example National Helpline Lithuania" in answer
    assert answer.endswith(
        "If you are in danger now, call 112. It is free from any phone in the EU."
    )
    assert [o["label"] for o in chat.last_options] == [
        "Search another place",
        "Talk to a counsellor",
        "Main menu",
    ]


async def test_unknown_and_ambiguous_places(chat):
    await to_where(chat)
    await chat.say("1")
    assert "I could not find that place" in await chat.say("somewhere nice, I do not know")
    answer = await chat.say("Kristiansnd")
    assert answer == (
        "I know several places with that name: Kristiansand, Norway; Kristiansund, Norway. "
        "Which one? Please write it as in this list, for example: Kristiansand, Norway"
    )
    assert (await chat.say("Kristiansand, Norway")).startswith("Nearest to Kristiansand, Norway:")


# --------------------------------------------------------------------------- SMS, Telegram, languages


@pytest.fixture
async def runner(redis, redis_url, settings):
    flows = Flows(FLOWS, LOCALES)
    scenario = ScenarioRunner(flows, redis, scenario_runtime, settings)
    await scenario.setup()
    return scenario


async def say(runner: ScenarioRunner, channel: str, *steps, hint: str | None = None) -> list[str]:
    """The replies to each step: text, or a (lat, lon) location."""
    replies = []
    for step in steps:
        runner.clock.now += 1
        common = {
            "channel": channel,
            "user_id": "person-1",
            "received_at": runner.clock.now,
            "language_hint": hint,
        }
        if isinstance(step, tuple):
            inbound = Inbound(kind="location", location=step, **common)
        else:
            inbound = Inbound(text=step, **common)
        texts, _ = await runner.send(inbound)
        replies.append("\n".join(texts))
    return replies


async def test_sms_results_fit_in_few_segments_in_gsm7(runner):
    *_, answer = await say(runner, "sms", "hello", "1", "3", "4", "Łódź")
    assert answer == (
        "Nearest to Lodz, Poland: (example)\n1. Example Women's Centre Lodz, 2 km: +48 000000002\n"
        "1 Send me an address\n2 Search another place\n3 Main menu"
    )
    assert segments(answer) == ("GSM-7", 1)
    *_, answer = await say(
        runner, "sms", "3", "3", "1", "Brussels"
    )  # main menu, a safe place, tonight
    assert answer.startswith(
        "Nearest to Brussels, Belgium: (example)\n1. Example Women's Shelter Brussels, 0.8 km: "
        "+32 00000004\n2. Example Women's Shelter Antwerp, 42 km: +32 00000001\n"
        "3. Example Women's Shelter Heerlen, 115 km: +31 00000001\n"
    )
    assert segments(answer) == ("GSM-7", 2)  # three services and the menu: 2 SMS, not 5


async def test_a_telegram_location(runner):
    *_, answer = await say(runner, "telegram", "hello", "1", "3", "1", (50.8440, 4.3600))
    assert answer.startswith("Nearest to you:\n\n1. Example Women's Shelter Brussels, 1.2 km\n")
    assert "\n\n2. Example Women's Shelter Antwerp, 42 km\n" in answer
    assert "\n\n3. Example Women's Shelter Heerlen, 114 km\n" in answer


async def test_distances_in_her_language(redis, settings, tmp_path):
    po = tmp_path / "de" / "LC_MESSAGES" / "helpline.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Nearest to {place}:"\nmsgstr "In der Nähe von {place}:"\n'
    )
    scenario = ScenarioRunner(Flows(FLOWS, tmp_path), redis, scenario_runtime, settings)
    await scenario.setup()
    *_, answer = await say(
        scenario, "telegram", "hallo", "1", "3", "1", (50.8440, 4.3600), hint="de"
    )
    assert "Example Women's Shelter Brussels, 1,2 km" in answer
    assert "Sprachen" not in answer  # untranslated pieces stay English...
    assert "Languages: Französisch, Englisch" in answer  # ...but language names are in hers
    *_, answer = await say(scenario, "telegram", "2", "Brüssel")  # search another place
    assert answer.startswith("In der Nähe von Brussels, Belgien:")


# --------------------------------------------------------------------------- privacy


async def all_of_redis(redis, privacy) -> str:
    """Every key and every value in Redis, as one text; sealed values opened
    with the data keys of the conversations (bot/store/vault.py)."""
    data_keys = await stored_data_keys(redis, privacy)
    parts = []
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        parts.append(key.decode(errors="replace"))
        if kind == "string":
            value = [await redis.get(key)]
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "hash":
            value = [x for pair in (await redis.hgetall(key)).items() for x in pair]
        elif kind == "set":
            value = list(await redis.smembers(key))
        elif kind == "zset":
            value = [
                x
                for m, s in await redis.zrange(key, 0, -1, withscores=True)
                for x in (m, str(s).encode())
            ]
        elif kind == "stream":
            value = [
                json.dumps(
                    {k.decode(): v.decode(errors="replace") for k, v in fields.items()}
                ).encode()
                for _, fields in await redis.xrange(key)
            ]
        else:
            value = []
        parts.extend(v.decode(errors="replace") for v in value)
        for sealed in (v for v in value if is_sealed(v)):
            parts.extend(filter(None, (k.open(sealed) for k in data_keys)))
    return "\n".join(parts)


TYPED = ("Bolgona", "Болонья", "I am in Antwrep")
LOCATION = (50.8440, 4.3600)
LOCATION_TEXTS = ("50.844", "4.36", "50,844", "4,36")


async def test_nothing_about_her_place_stays_in_redis(chat, redis):
    await to_where(chat)
    await chat.say("1")
    for typed in TYPED:
        await chat.say(typed)
        await chat.say("2")  # search another place
    await settled(redis)
    stored = await all_of_redis(redis, chat.client.app[PRIVACY])
    for typed in TYPED:
        assert typed not in stored
    state = json.loads(await redis.get(keys.state(chat_pid(chat))))
    # nothing of her place:
    assert set(state.get("vars", {})) <= {"need", "shelter_ids", "language_guessed"}
    entries = await transcript(redis, chat.client.app[PRIVACY], chat_pid(chat))
    texts = [e["text"] for e in entries]
    assert texts.count(TRANSIENT_ANSWER) == 3
    assert not any("Nearest to" in t for t in texts), "the results are sent, not kept"


def chat_pid(chat) -> str:
    return chat.client.app[PRIVACY].pid("web", chat.session)


async def test_nothing_about_her_location_stays_in_redis(runner, redis):
    await say(runner, "telegram", "hello", "1", "3", "1", LOCATION, "1", "1")
    stored = await all_of_redis(redis, runner.privacy)
    for text in LOCATION_TEXTS:
        assert text not in stored
    assert "(shared a location)" in stored


async def test_the_logs_never_hold_her_place_or_location(runner, caplog):
    caplog.set_level(logging.DEBUG)
    await say(runner, "telegram", "hello", "1", "3", "1", LOCATION, "2", *TYPED, "xyzzy qwrtp")
    await say(runner, "sms", "hello", "1", "3", "1", "Kristiansnd", "Bolgona")
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "shelter search: found" in logged  # it did log the searches...
    for text in (*TYPED, *LOCATION_TEXTS, "Kristians", "xyzzy", "Bologna", "Brussels"):
        assert text not in logged  # ...but nothing of where she is


async def test_a_failing_search_tells_her_and_logs_no_place(runner, caplog, monkeypatch):
    async def broken(*args, **kwargs):
        raise ConnectionError("Redis is gone while looking near Bologna")

    monkeypatch.setattr(Directory, "near", broken)
    *_, answer = await say(runner, "web", "hello", "1", "3", "1", "Bologna")
    assert answer.startswith("I cannot search the list of services right now.")
    assert "call 112" in answer
    assert "shelter search failed (ConnectionError)" in caplog.text
    assert "Bologna" not in caplog.text


def test_every_kind_and_service_has_a_message():
    from bot.flows.schema import SETTINGS_MESSAGES
    from bot.shelters.directory import SERVICES

    for kind in KINDS:
        assert f"shelter_kind_{kind}" in SETTINGS_MESSAGES
    for service in SERVICES:
        assert f"shelter_service_{service}" in SETTINGS_MESSAGES
    settings = yaml.safe_load((FLOWS / "settings.yaml").read_text())
    assert {k for k in SETTINGS_MESSAGES if k.startswith("shelter_")} <= set(settings["messages"])
