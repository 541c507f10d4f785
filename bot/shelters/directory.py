"""The shelter directory: its file format (YAML or CSV, the same fields), the
validation that reports `file:line: message` for every bad row, the import into
Redis by generations, and the lookups (nearest first, with filters, a radius
that widens when nothing is near, and the country's helplines as a fallback).

docs/shelters.md documents the format for the admins who write these files.

An import never changes what lookups see until it is complete: it writes a new
generation of keys, switches `SHELTERS_CURRENT` to it, then deletes the old
generation. A lookup reads the current generation's name first and runs one
Lua script on that generation's keys; if an import deleted the generation in
between, the script says so and the lookup starts again on the new one.

Nothing about the person searching is written anywhere: a lookup only reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import difflib
import hashlib
import io
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import phonenumbers
import yaml
from babel import Locale
from redis.asyncio import Redis

from bot.store import keys
from bot.store.scripts import load_script

log = logging.getLogger("helpline.shelters")

KINDS = ("shelter", "counselling", "legal_aid", "helpline", "health")
SERVICES = (
    "women_only",
    "children_accepted",
    "trafficking_specialist",
    "open_24h",
    "wheelchair_access",
)
FIELDS = (
    "id",
    "name",
    "kind",
    "city",
    "country",
    "latitude",
    "longitude",
    "address",
    "phone",
    "website",
    "languages",
    "services",
    "opening_hours",
    "last_checked",
    "example",
)
LIST_FIELDS = ("languages", "services")
MAX_RESULTS = 3
# A lookup searches the smallest circle first and widens it until it holds
# MAX_RESULTS matches; beyond the last radius, nothing is "near".
RADII_KM = (5, 15, 50, 150)
MAX_LATITUDE = 85.05112878  # Redis GEO (Web Mercator) cannot index beyond this
STALE_DAYS = 365
PROGRESS_EVERY = 1000  # entries written per Redis round trip during an import
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LIST_SPLIT = re.compile(r"[;,|\s]+")


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Shelter:
    """One service of the directory, as validated."""

    id: str
    name: str
    kind: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    latitude: float
    longitude: float
    address: str = ""  # public address only; empty for a refuge whose address is kept secret
    phone: str = ""  # international format, e.g. "+39 051 123 4567"
    website: str = ""
    languages: tuple[str, ...] = ()  # ISO 639-1
    services: tuple[str, ...] = ()
    opening_hours: str = ""
    last_checked: str = ""  # YYYY-MM-DD
    example: bool = False

    def to_json(self) -> str:
        """A stable JSON form: the same record always gives the same text (import diffs)."""
        data = asdict(self)
        data["languages"] = list(self.languages)
        data["services"] = list(self.services)
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Shelter:
        data = json.loads(raw)
        data["languages"] = tuple(data.get("languages") or ())
        data["services"] = tuple(data.get("services") or ())
        return cls(**data)

    def tags(self) -> str:
        """What the search script filters on: ",kind,service,...,lang:xx,"."""
        return (
            ","
            + ",".join([self.kind, *self.services, *(f"lang:{code}" for code in self.languages)])
            + ","
        )


@dataclass(frozen=True, order=True)
class Problem:
    """A bad row of a directory file, printed as `file:line: message`."""

    file: str
    line: int
    message: str
    severity: str = field(default="error", compare=False)

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


# --------------------------------------------------------------------------- reading and validation


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    territories = Locale("en").territories
    return frozenset(code for code in territories if len(code) == 2 and code.isalpha())


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    return frozenset(code for code in Locale("en").languages if len(code) == 2 and code.isalpha())


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; use one of: {', '.join(choices)}"


# A row as read from the file: field -> (value, line). A value is a string, or a
# list of strings for languages and services; None when the field is empty.
Row = dict[str, tuple[str | list[str] | None, int]]


def parse_directory(
    raw: bytes, file: str, today: date | None = None
) -> tuple[list[Shelter], list[Problem]]:
    """Read and validate a directory file's bytes (YAML or CSV by `file`'s suffix).
    Returns the entries and every problem; use the entries only when no
    problem is an error."""
    suffix = Path(file).suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        return [], [Problem(file, 1, "a directory file must end in .yaml, .yml or .csv")]
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's CSV often starts with a BOM
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [Problem(file, line, "the file is not UTF-8: save it as UTF-8")]
    rows, problems = (_csv_rows if suffix == ".csv" else _yaml_rows)(text, file)
    if not rows and not problems:
        problems.append(
            Problem(
                file, 1, "the file has no entries: add at least one service (see docs/shelters.md)"
            )
        )
    shelters: list[Shelter] = []
    seen: dict[str, int] = {}
    today = today or date.today()
    for line, row in rows:
        shelter = _validate(row, line, file, problems, today)
        if shelter is None:
            continue
        if shelter.id in seen:
            problems.append(
                Problem(
                    file,
                    row["id"][1],
                    f"duplicate id {shelter.id!r}: line {seen[shelter.id]} "
                    "already uses it; give every entry its own id",
                )
            )
            continue
        seen[shelter.id] = row["id"][1]
        shelters.append(shelter)
    return shelters, sorted(problems)


def read_directory(
    path: Path, display: str | None = None
) -> tuple[list[Shelter], list[Problem], str]:
    """Read and validate the file at `path`: (entries, problems, sha256 of its bytes)."""
    name = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [Problem(name, 1, f"cannot read the file: {exc.strerror}")], ""
    shelters, problems = parse_directory(raw, name)
    return shelters, problems, hashlib.sha256(raw).hexdigest()


def _yaml_rows(text: str, file: str) -> tuple[list[tuple[int, Row]], list[Problem]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 50,000 entries in seconds
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [
            Problem(
                file, mark.line + 1 if mark else 1, f"YAML syntax: {exc.problem or exc.context}"
            )
        ]
    if root is None:
        return [], []
    if not isinstance(root, yaml.SequenceNode):
        return [], [
            Problem(
                file,
                root.start_mark.line + 1,
                "the file must be a list of entries, each starting with `- id:`",
            )
        ]
    rows: list[tuple[int, Row]] = []
    problems: list[Problem] = []
    for item in root.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            problems.append(
                Problem(file, line, "each entry is a mapping of fields (id:, name:, kind:, ...)")
            )
            continue
        row: Row = {}
        for key_node, value_node in item.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str) or key not in FIELDS:
                problems.append(
                    Problem(file, key_line, f"unknown field {key!r}{_suggest(str(key), FIELDS)}")
                )
                continue
            if key in row:
                problems.append(
                    Problem(file, key_line, f"field {key!r} appears twice in this entry")
                )
                continue
            if isinstance(value_node, yaml.SequenceNode):
                values = [
                    v.value.strip() for v in value_node.value if isinstance(v, yaml.ScalarNode)
                ]
                if key not in LIST_FIELDS or len(values) != len(value_node.value):
                    problems.append(Problem(file, key_line, f"{key} takes one value, not a list"))
                    continue
                row[key] = ([v for v in values if v], key_line)
            elif isinstance(value_node, yaml.ScalarNode):
                # The raw text: "No", "0049..." or "2025-01-31" stay what the admin wrote.
                empty = value_node.tag.endswith(":null") and value_node.style is None
                value = None if empty or not value_node.value.strip() else value_node.value.strip()
                if key in LIST_FIELDS and value is not None:
                    row[key] = ([v for v in _LIST_SPLIT.split(value) if v], key_line)
                else:
                    row[key] = (value, key_line)
            else:
                problems.append(Problem(file, key_line, f"{key} takes a plain value"))
        rows.append((line, row))
    return rows, problems


def _csv_rows(text: str, file: str) -> tuple[list[tuple[int, Row]], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as exc:
        return [], [Problem(file, 1, f"CSV: {exc}")]
    columns = [name.strip() for name in header]
    for name in columns:
        if name not in FIELDS:
            problems.append(Problem(file, 1, f"unknown column {name!r}{_suggest(name, FIELDS)}"))
    if len(set(columns)) != len(columns):
        problems.append(Problem(file, 1, "a column appears twice in the header"))
    rows: list[tuple[int, Row]] = []
    start = reader.line_num + 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(columns):
                problems.append(
                    Problem(
                        file,
                        line,
                        f"this row has {len(record)} cells but the header names "
                        f"{len(columns)} columns: quote cells that contain commas",
                    )
                )
                continue
            row: Row = {}
            for name, cell in zip(columns, record, strict=False):
                if name not in FIELDS:
                    continue
                cell = cell.strip()
                if name in LIST_FIELDS:
                    row[name] = ([v for v in _LIST_SPLIT.split(cell) if v] if cell else None, line)
                else:
                    row[name] = (cell or None, line)
            rows.append((line, row))
    except csv.Error as exc:
        problems.append(Problem(file, reader.line_num, f"CSV: {exc}"))
    return rows, problems


def _validate(
    row: Row, line: int, file: str, problems: list[Problem], today: date
) -> Shelter | None:
    """One row to a Shelter, or None after adding its problems."""
    before = len(problems)

    def value(name: str) -> str | None:
        found = row.get(name, (None, line))[0]
        return found if isinstance(found, str) else None

    def where(name: str) -> int:
        return row.get(name, (None, line))[1]

    def bad(name: str, message: str, severity: str = "error") -> None:
        problems.append(Problem(file, where(name), message, severity))

    ident = value("id")
    if ident is None:
        bad("id", "the entry has no id: give it a short unique id such as it-bologna-shelter")
    elif not _ID.match(ident):
        bad(
            "id",
            f"id {ident!r} may only hold letters, digits, '.', '_' and '-' (at most 64 characters)",
        )
    name = value("name")
    if name is None:
        bad("name", "the entry has no name: add the service's public name")
    kind = value("kind")
    if kind is None:
        bad("kind", f"the entry has no kind: use one of {', '.join(KINDS)}")
    elif kind not in KINDS:
        bad("kind", f"unknown kind {kind!r}{_suggest(kind, KINDS)}")
    city = value("city") or ""
    if not city and kind != "helpline":
        bad(
            "city",
            "city is missing: write the town or city where the service is (only helplines may leave it empty)",
        )
    country = (value("country") or "").upper()
    if not country:
        bad(
            "country", "country is missing: write its ISO 3166-1 alpha-2 code, such as IT, DE or PL"
        )
    elif country not in _countries():
        bad(
            "country",
            f"country {value('country')!r} is not an ISO 3166-1 alpha-2 code such as IT, DE or PL",
        )
    if value("latitude") is None and value("longitude") is None:
        bad(
            "id",
            "missing coordinates: add latitude and longitude in decimal degrees, e.g. 44.4938 and 11.3387",
        )
        latitude = longitude = 0.0
    else:
        latitude = _coordinate(
            value("latitude"), "latitude", MAX_LATITUDE, lambda m: bad("latitude", m)
        )
        longitude = _coordinate(
            value("longitude"), "longitude", 180.0, lambda m: bad("longitude", m)
        )
    example_text = (value("example") or "false").lower()
    if example_text not in ("true", "false", "yes", "no"):
        bad("example", f"example must be true or false, not {value('example')!r}")
    example = example_text in ("true", "yes")
    phone = _phone(value("phone"), country, example, lambda m: bad("phone", m))
    website = value("website") or ""
    if website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", website):
        bad("website", f"website {website!r} must be a full address starting with https://")
    if not phone and not website and value("phone") is None:
        bad(
            "id",
            "the entry has neither phone nor website: give at least one, so that she can reach the service",
        )
    languages = tuple(code.lower() for code in (row.get("languages", (None, line))[0] or ()))
    for code in languages:
        if code not in _languages():
            bad("languages", f"language {code!r} is not an ISO 639-1 code such as en, ro or uk")
    services = tuple(row.get("services", (None, line))[0] or ())
    for service in services:
        if service not in SERVICES:
            bad("services", f"unknown service {service!r}{_suggest(service, SERVICES)}")
    checked = value("last_checked")
    if checked is None:
        bad(
            "last_checked",
            "last_checked is missing: give the date the entry was last checked, as YYYY-MM-DD",
        )
    else:
        try:
            checked_on = date.fromisoformat(checked)
        except ValueError:
            bad("last_checked", f"last_checked {checked!r} is not a date: write it as YYYY-MM-DD")
        else:
            if checked_on > today:
                bad(
                    "last_checked",
                    f"last_checked {checked} is in the future: write the day it was really checked",
                )
            elif (today - checked_on).days > STALE_DAYS and not example:
                bad(
                    "last_checked",
                    f"entry {ident!r} was last checked on {checked}, more than a year ago: "
                    "check that it still exists and update last_checked",
                    "warning",
                )
    if any(p.severity == "error" for p in problems[before:]):
        return None
    return Shelter(
        id=ident,
        name=name,
        kind=kind,
        city=city,
        country=country,
        latitude=latitude,
        longitude=longitude,
        address=value("address") or "",
        phone=phone,
        website=website,
        languages=tuple(dict.fromkeys(languages)),
        services=tuple(dict.fromkeys(services)),
        opening_hours=value("opening_hours") or "",
        last_checked=checked,
        example=example,
    )


def _coordinate(text: str | None, name: str, limit: float, bad: Callable[[str], None]) -> float:
    if text is None:
        bad(f"{name} is missing: give it in decimal degrees, e.g. 44.4938")
        return 0.0
    try:
        number = (
            float(text.replace(",", "."))
            if text.count(",") == 1 and "." not in text
            else float(text)
        )
    except ValueError:
        bad(f"{name} {text!r} is not a number: write decimal degrees such as 44.4938")
        return 0.0
    if not -limit <= number <= limit:
        swapped = (
            " (are latitude and longitude swapped?)"
            if name == "latitude" and abs(number) <= 180
            else ""
        )
        bad(f"{name} {text} is out of range: it must be between -{limit:g} and {limit:g}{swapped}")
    return number


def _phone(text: str | None, country: str, example: bool, bad: Callable[[str], None]) -> str:
    """The number in international format, checked with phonenumbers. Example
    entries must carry a number that cannot ring anyone (docs/shelters.md)."""
    if text is None:
        return ""
    try:
        number = phonenumbers.parse(text, country or None)
    except phonenumbers.NumberParseException:
        bad(
            f"phone {text!r} cannot be read as a phone number: write it with its country code, e.g. +39 051 123 4567"
        )
        return ""
    if example:
        if phonenumbers.is_valid_number(number):
            bad(
                f"phone {text!r} is a real, dialable number, but the entry is example data: use a fake "
                "number such as +39 000 000 0001, which cannot ring anyone (see docs/shelters.md)"
            )
            return ""
        if not phonenumbers.is_possible_number(number):
            bad(
                f"phone {text!r} has too few or too many digits for its country, even as a fake number"
            )
            return ""
    elif not phonenumbers.is_valid_number(number):
        where = f" in {country}" if country and not text.startswith("+") else ""
        bad(
            f"phone {text!r} is not a valid phone number{where}: check the digits and the country code"
        )
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --------------------------------------------------------------------------- import


@dataclass
class ImportSummary:
    entries: int
    examples: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    generation: str = ""
    swapped: bool = False  # False when the directory was already the same

    def __str__(self) -> str:
        text = (
            f"{self.entries} entries: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed"
        )
        if not self.swapped:
            text += " (the directory was already up to date)"
        if self.examples:
            text += f"; {self.examples} marked as example data"
        return text


def new_generation() -> str:
    return f"g{int(time.time())}{secrets.token_hex(3)}"


class ImportBusy(Exception):
    """Another import is still running (another process, the CLI)."""


IMPORT_LOCK_TTL_S = 60  # renewed at every batch: an import that died frees it soon
IMPORT_WAIT_S = 120


@contextlib.asynccontextmanager
async def _import_lock(redis: Redis) -> AsyncIterator[None]:
    """One import at a time: two at once could each delete the other's half-written generation."""
    token = secrets.token_hex(8).encode()
    deadline = time.monotonic() + IMPORT_WAIT_S
    while not await redis.set(keys.SHELTERS_IMPORT_LOCK, token, nx=True, ex=IMPORT_LOCK_TTL_S):
        if time.monotonic() > deadline:
            raise ImportBusy(
                "another import of the shelter directory is still running: try again when it has finished"
            )
        await asyncio.sleep(0.1)
    try:
        yield
    finally:
        if await redis.get(keys.SHELTERS_IMPORT_LOCK) == token:
            await redis.delete(keys.SHELTERS_IMPORT_LOCK)


async def import_directory(
    redis: Redis,
    shelters: list[Shelter],
    source_sha256: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Make `shelters` the directory lookups use, all at once: write a new
    generation, switch to it, delete the old one. Importing the same entries
    again changes nothing. One import at a time (waits, else ImportBusy)."""
    async with _import_lock(redis):
        return await _import(redis, shelters, source_sha256, progress)


async def _import(
    redis: Redis,
    shelters: list[Shelter],
    source_sha256: str,
    progress: Callable[[int, int], None] | None,
) -> ImportSummary:
    current = await redis.get(keys.SHELTERS_CURRENT)
    current = current.decode() if current else None
    old: dict[str, str] = {}
    if current is not None:
        old = {
            k.decode(): v.decode()
            for k, v in (await redis.hgetall(keys.shelters_data(current))).items()
        }
    new = {s.id: s.to_json() for s in shelters}
    summary = ImportSummary(
        entries=len(shelters),
        examples=sum(s.example for s in shelters),
        added=sorted(set(new) - set(old)),
        changed=sorted(i for i in new if i in old and old[i] != new[i]),
        removed=sorted(set(old) - set(new)),
    )
    if current is not None and not (summary.added or summary.changed or summary.removed) and old:
        await redis.hset(keys.shelters_meta(current), "source_sha256", source_sha256)
        summary.generation = current
        if progress:
            progress(len(shelters), len(shelters))
        return summary

    generation = new_generation()
    await redis.sadd(keys.SHELTERS_GENERATIONS, generation)
    data, tags = keys.shelters_data(generation), keys.shelters_tags(generation)
    for start in range(0, len(shelters), PROGRESS_EVERY):
        batch = shelters[start : start + PROGRESS_EVERY]
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(data, mapping={s.id: new[s.id] for s in batch})
            pipe.hset(tags, mapping={s.id: s.tags() for s in batch})
            pipe.expire(keys.SHELTERS_IMPORT_LOCK, IMPORT_LOCK_TTL_S)
            for kind in KINDS:  # one GEO set per kind: a search reads only the kinds it wants
                members = [
                    part
                    for s in batch
                    if s.kind == kind
                    for part in (s.longitude, s.latitude, s.id)
                ]
                if members:
                    pipe.geoadd(keys.shelters_geo(generation, kind), members)
            await pipe.execute()
        if progress:
            progress(min(start + PROGRESS_EVERY, len(shelters)), len(shelters))
    national: dict[str, list[dict]] = {}
    for shelter in shelters:
        if shelter.kind == "helpline":
            national.setdefault(shelter.country, []).append(json.loads(new[shelter.id]))
    async with redis.pipeline(transaction=False) as pipe:
        if national:
            pipe.hset(
                keys.shelters_national(generation),
                mapping={c: json.dumps(v, ensure_ascii=False) for c, v in national.items()},
            )
        pipe.hset(
            keys.shelters_meta(generation),
            mapping={
                "entries": len(shelters),
                "examples": summary.examples,
                "source_sha256": source_sha256,
                "imported_at": int(time.time()),
            },
        )
        await pipe.execute()
    # The switch: from here on every lookup reads the new generation.
    await redis.set(keys.SHELTERS_CURRENT, generation)
    await drop_other_generations(redis, generation)
    summary.generation = generation
    summary.swapped = True
    return summary


async def drop_other_generations(redis: Redis, keep: str) -> None:
    """Delete every generation but `keep`: the one just replaced, and any left
    half-written by an import that was interrupted."""
    for raw in await redis.smembers(keys.SHELTERS_GENERATIONS):
        generation = raw.decode()
        if generation != keep:
            # Retired first: a process that still has this name cached learns it
            # at its next lookup, and reads the current one.
            await redis.hset(keys.shelters_meta(generation), "retired", 1)
            await redis.unlink(
                *keys.shelters_generation_keys(generation, KINDS)
            )  # freed in the background
            await redis.srem(keys.SHELTERS_GENERATIONS, generation)


async def load_at_start(redis: Redis, path: Path) -> None:
    """Load HELPLINE_SHELTERS_FILE when it changed since it was last loaded here,
    or when there is no directory yet. A directory imported since with
    `helpline shelters import` stays in use until this file changes. Errors are
    logged with file:line and the directory in use is kept. Warns while the
    directory in use holds example data."""
    try:
        raw = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        log.error("cannot read the shelter directory %s: %s", path, exc.strerror)
        raw = None
    if raw is not None:
        sha = hashlib.sha256(raw).hexdigest()
        loaded = await redis.get(keys.SHELTERS_START_FILE)
        if (
            await redis.get(keys.SHELTERS_CURRENT) is None
            or loaded is None
            or loaded.decode() != sha
        ):
            await _load(redis, raw, str(path), sha)
    await warn_if_example(redis)


async def _load(redis: Redis, raw: bytes, file: str, sha: str) -> None:
    shelters, problems = await asyncio.to_thread(parse_directory, raw, file)
    for problem in problems:
        (log.error if problem.severity == "error" else log.warning)("%s", problem)
    if any(p.severity == "error" for p in problems):
        log.error(
            "the shelter directory %s has errors: it was not loaded, and the directory in use "
            "(if any) stays. Fix the lines above and restart.",
            file,
        )
        return
    try:
        summary = await import_directory(redis, shelters, sha)
    except ImportBusy as exc:
        log.warning("the shelter directory %s was not loaded: %s", file, exc)
        return
    await redis.set(keys.SHELTERS_START_FILE, sha)
    log.info("shelter directory %s loaded: %s", file, summary)


async def remember_start_file(redis: Redis, path: Path) -> None:
    """After `helpline shelters import`: the current HELPLINE_SHELTERS_FILE counts
    as loaded, so that the next start keeps the imported directory until that
    file changes."""
    try:
        raw = await asyncio.to_thread(Path(path).read_bytes)
    except OSError:
        return
    await redis.set(keys.SHELTERS_START_FILE, hashlib.sha256(raw).hexdigest())


async def warn_if_example(redis: Redis) -> None:
    current = await redis.get(keys.SHELTERS_CURRENT)
    if current is None:
        log.warning(
            "there is no shelter directory: searches find nothing. Load one with "
            "HELPLINE_SHELTERS_FILE or `helpline shelters import FILE` (docs/shelters.md)."
        )
        return
    examples = await redis.hget(keys.shelters_meta(current.decode()), "examples")
    if examples and int(examples):
        log.warning(
            "the shelter directory in use holds EXAMPLE data (%s entries marked example: true): "
            "people are shown example services, not real ones. Load your organisation's "
            "directory with HELPLINE_SHELTERS_FILE or `helpline shelters import FILE` "
            "(docs/shelters.md).",
            int(examples),
        )


# --------------------------------------------------------------------------- lookups


@dataclass(frozen=True)
class Found:
    shelter: Shelter
    distance_km: float


@dataclass(frozen=True)
class Nearby:
    found: tuple[Found, ...]
    radius_km: float  # the last radius searched


class Directory:
    """Lookups in the current generation of the directory.

    The current generation's name is read once and kept for a second, so that
    a lookup is one round trip. An import retires the old generation as it
    switches: a lookup on it is answered "gone" and starts again on the new
    one. (The second only matters if an import died in the middle of a switch.)"""

    GENERATION_TTL_S = 1.0

    def __init__(self, redis: Redis):
        self.redis = redis
        self._search = load_script(redis, Path(__file__).parent / "search.lua")
        self._generation: str | None = None
        self._read_at = 0.0

    async def generation(self, fresh: bool = False) -> str | None:
        now = time.monotonic()
        if fresh or self._generation is None or now - self._read_at > self.GENERATION_TTL_S:
            current = await self.redis.get(keys.SHELTERS_CURRENT)
            self._generation, self._read_at = (current.decode() if current else None), now
        return self._generation

    async def near(
        self,
        latitude: float,
        longitude: float,
        *,
        kinds: tuple[str, ...] = (),
        services: tuple[str, ...] = (),
        languages: tuple[str, ...] = (),
        limit: int = MAX_RESULTS,
        radii: tuple[float, ...] = RADII_KM,
    ) -> Nearby:
        """Up to `limit` entries nearest to the point, nearest first, within the
        smallest radius of `radii` that holds `limit` of them (else the largest).
        Filters: any of `kinds`, every one of `services`, any of `languages`."""
        for attempt in range(3):
            generation = await self.generation(fresh=attempt > 0)
            if generation is None:
                return Nearby((), float(radii[-1]))
            reply = await self._search(
                keys=[
                    keys.shelters_meta(generation),
                    keys.shelters_tags(generation),
                    keys.shelters_data(generation),
                    *(keys.shelters_geo(generation, kind) for kind in (kinds or KINDS)),
                ],
                args=[
                    f"{longitude:.6f}",
                    f"{latitude:.6f}",
                    limit,
                    " ".join(services),
                    " ".join(languages),
                    *radii,
                ],
            )
            if reply[0] == b"gone":
                continue  # an import replaced this generation meanwhile: read the new one
            found = tuple(
                Found(Shelter.from_json(reply[i + 2]), float(reply[i + 1]))
                for i in range(2, len(reply), 3)
            )
            return Nearby(found, float(reply[1]))
        return Nearby((), float(radii[-1]))

    async def national(self, country: str) -> list[Shelter]:
        """The country's helplines: for when nothing is within reach, or only the country is known."""
        generation = await self.generation()
        if generation is None or not country:
            return []
        raw = await self.redis.hget(keys.shelters_national(generation), country.upper())
        if not raw:
            return []
        return [
            Shelter(
                **{
                    **item,
                    "languages": tuple(item["languages"]),
                    "services": tuple(item["services"]),
                }
            )
            for item in json.loads(raw)
        ]

    async def get(self, ids: list[str]) -> list[Shelter]:
        """Entries by id, in that order; ids no longer in the directory are left out."""
        generation = await self.generation()
        if generation is None or not ids:
            return []
        raws = await self.redis.hmget(keys.shelters_data(generation), ids)
        return [Shelter.from_json(raw) for raw in raws if raw]

    async def status(self) -> dict[str, str]:
        generation = await self.generation()
        if generation is None:
            return {}
        meta = await self.redis.hgetall(keys.shelters_meta(generation))
        return {"generation": generation, **{k.decode(): v.decode() for k, v in meta.items()}}
