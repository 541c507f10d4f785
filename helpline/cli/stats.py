"""`helpline stats --from DATE --to DATE [--by day|week]`: the anonymous
statistics (handoff/stats.py) as CSV on standard output, as the console's
`GET /console/api/stats?format=csv` gives them."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from bot.clock import wall_clock
from bot.store import stats
from helpline.cli.common import EXIT_FAILED, cli_redis, flows_or_exit, settings_or_exit


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "stats",
        help="anonymous statistics as CSV",
        description="Counts per day (or ISO week) by channel, language, severity, risk, "
        "outcome and wrap-up; median and 90th percentile wait; abandonment; counsellor "
        "load. No text, no ids, days only; a count under 5 is shown as <5. Days are "
        "those of the opening hours' time zone (settings.yaml), else UTC.",
    )
    parser.add_argument("--from", dest="start", metavar="DATE", required=True,
                        help="first day, YYYY-MM-DD")  # fmt: skip
    parser.add_argument("--to", dest="end", metavar="DATE", required=True,
                        help="last day, YYYY-MM-DD (included)")  # fmt: skip
    parser.add_argument("--by", choices=("day", "week"), default="day", help="period (day)")
    parser.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace) -> int:
    from handoff.stats import Range, StatsRangeError

    settings = settings_or_exit()
    zone = stats.zone_of(flows_or_exit(settings).engine.settings.opening_hours)
    today = date.fromisoformat(stats.day_of(wall_clock(), zone))
    try:
        span = Range.parse(args.start, args.end, args.by, today)
    except StatsRangeError as problem:
        print(f"helpline: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return asyncio.run(_stats(settings, span, zone))


async def _stats(settings, span, zone) -> int:
    from handoff.stats import as_csv, report

    async with cli_redis(settings) as redis:
        body = await report(redis, span, zone)
    sys.stdout.write(as_csv(body))
    return 0
