"""The statistics report: the daily anonymous counters (bot/store/stats.py) read
per day or per ISO week over a range of days, as rows

    period, measure, dimension, group, value

e.g. `2026-12-01,handoffs,channel,sms,7`. A cell that counts fewer than
MIN_CELL contacts shows "<5" (so does a wait percentile taken from fewer than
MIN_CELL claims): a small number can point to a person. The last period,
`total`, covers the whole range. Rows are the same for the console's JSON, its
CSV and `helpline stats`.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from bot.store import keys, stats

MIN_CELL = 5
SMALL = f"<{MIN_CELL}"
COLUMNS = ("period", "measure", "dimension", "group", "value")
MAX_DAYS = 5 * 366  # what the counters keep (stats.KEEP_S)
TOTAL = "total"
# Every period has these rows, even when nothing happened (a chart needs them).
MAIN = ("conversations", "handoffs", "claimed", "closed", "abandoned", "withdrawn", "left")
ORDER = {name: i for i, name in enumerate(MAIN)}


class StatsRangeError(ValueError):
    """A range the report cannot be made for: the sentence says why."""


@dataclass(frozen=True)
class Range:
    first: date
    last: date
    by: str  # "day" | "week"

    @classmethod
    def parse(cls, start: str | None, end: str | None, by: str | None, today: date) -> Range:
        """From the query's texts (YYYY-MM-DD; defaults: the last 30 days to today)."""
        try:
            last = date.fromisoformat(end) if end else today
            first = date.fromisoformat(start) if start else last - timedelta(days=29)
        except ValueError:
            raise StatsRangeError(
                "`from` and `to` are dates written YYYY-MM-DD, e.g. 2026-12-01."
            ) from None
        if first > last:
            raise StatsRangeError("`from` is after `to`.")
        if (last - first).days + 1 > MAX_DAYS:
            raise StatsRangeError(f"A report covers at most {MAX_DAYS} days.")
        by = by or "day"
        if by not in ("day", "week"):
            raise StatsRangeError("`by` is `day` or `week`.")
        return cls(first, last, by)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def period_of(self, day: date) -> str:
        if self.by == "day":
            return day.isoformat()
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"


async def report(redis, span: Range, zone: tzinfo) -> dict:
    """The report as JSON: the range, the columns and the rows."""
    days = span.days()
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.stats_day(day.isoformat()))
        raw = await pipe.execute()
    periods: dict[str, Counter] = {}
    total: Counter = Counter()
    for day, counters in zip(days, raw, strict=True):
        counts = Counter({_text(k): int(v) for k, v in counters.items()})
        periods.setdefault(span.period_of(day), Counter()).update(counts)
        total.update(counts)
    rows = [row for name, counts in periods.items() for row in _rows(name, counts)]
    rows.extend(_rows(TOTAL, total))
    return {
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "by": span.by,
        "timezone": str(zone),
        "min_cell": MIN_CELL,
        "columns": list(COLUMNS),
        "rows": rows,
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _rows(period: str, counts: Counter) -> list[dict]:
    cells: dict[tuple[str, str, str], int] = {(m, stats.ALL, stats.ALL): 0 for m in MAIN}
    waits: Counter = Counter()
    for name, value in counts.items():
        measure, dimension, group = (name.split(stats.SEP) + ["", ""])[:3]
        if measure == "claimed" and dimension == "wait":
            waits[group] += value  # read as percentiles below, not shown per bucket
            continue
        cells[(measure, dimension, group)] = value
    claims = cells.get(("claimed", stats.ALL, stats.ALL), 0)
    rows = [
        _row(period, measure, dimension, group, value)
        for (measure, dimension, group), value in sorted(cells.items(), key=_order)
    ]
    at = next((i for i, r in enumerate(rows) if r["measure"] == "closed"), len(rows))
    rows[at:at] = [
        _row(period, f"wait_{name}_seconds", stats.ALL, stats.ALL, _percentile(waits, q), claims)
        for name, q in (("median", 0.5), ("p90", 0.9))
    ]
    return rows


def _order(item: tuple[tuple[str, str, str], int]) -> tuple:
    (measure, dimension, group), value = item
    return (
        ORDER.get(measure, len(ORDER)),
        measure,
        dimension != stats.ALL,
        dimension,
        -value,
        group,
    )


def _row(
    period: str,
    measure: str,
    dimension: str,
    group: str,
    value: int | str,
    basis: int | None = None,
) -> dict:
    small = (basis if basis is not None else value) < MIN_CELL  # type: ignore[operator]
    return {
        "period": period,
        "measure": measure,
        "dimension": dimension,
        "group": group,
        "value": SMALL if small else value,
    }


def _percentile(waits: Counter, q: float) -> int | str:
    """The upper bound of the wait bucket that holds the q-th claim (seconds)."""
    n = sum(waits.values())
    if not n:
        return 0
    rank = max(1, math.ceil(q * n))
    seen = 0
    for bound in [*map(str, stats.WAIT_BUCKETS), stats.OVER]:
        seen += waits.get(bound, 0)
        if seen >= rank:
            return int(bound) if bound != stats.OVER else f">{stats.WAIT_BUCKETS[-1]}"
    return 0


def as_csv(body: dict) -> str:
    """The report's rows as CSV (RFC 4180, with its header row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in body["rows"]:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def _cell(value: int | str) -> str:
    """A spreadsheet never runs a cell as a formula (the groups come from admins' files)."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") and not text[1:2].isdigit() else text
