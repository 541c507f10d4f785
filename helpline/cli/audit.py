"""`helpline audit [--since WHEN] [--limit N]`: the supervisors' record of
counsellor actions (handoff/audit.py), oldest first, never a message's text."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime

from bot.clock import wall_clock
from helpline.cli.common import EXIT_FAILED, cli_redis, settings_or_exit

_AGO = re.compile(r"(\d+)\s*([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def add_parser(sub) -> None:
    audit = sub.add_parser(
        "audit",
        help="counsellor actions (supervisors' record)",
        description="Who signed in, read, claimed, replied to, transferred, closed or "
        "blocked which conversation (by its case reference), and account changes. Kept "
        "as long as conversations are (HELPLINE_RETENTION_DAYS).",
    )
    audit.add_argument(
        "--since",
        metavar="WHEN",
        help="a time ago (30m, 24h, 7d) or a date or time in UTC (2026-12-01, "
        "2026-12-01T08:00); default: everything kept",
    )
    audit.add_argument("--limit", type=int, default=1000, help="the newest N at most (1000)")
    audit.set_defaults(func=cmd_audit)


def parse_since(text: str, now: float) -> float | None:
    """Seconds since the epoch for `text`, or None if it means nothing."""
    if found := _AGO.fullmatch(text.strip()):
        return now - int(found.group(1)) * _UNITS[found.group(2)]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def cmd_audit(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    since = None
    if args.since is not None:
        since = parse_since(args.since, wall_clock())
        if since is None:
            print(
                f"helpline: --since {args.since!r} is neither a time ago (30m, 24h, 7d) nor "
                "a date (2026-12-01) or time (2026-12-01T08:00).",
                file=sys.stderr,
            )
            return EXIT_FAILED
    if not 1 <= args.limit <= 100_000:
        print("helpline: --limit is a whole number from 1 to 100000.", file=sys.stderr)
        return EXIT_FAILED
    return asyncio.run(_audit(settings, since, args.limit))


async def _audit(settings, since: float | None, limit: int) -> int:
    from handoff.audit import Audit

    async with cli_redis(settings) as redis:
        entries = await Audit(redis, settings.retention_seconds).read(since, limit)
    for entry in reversed(entries):
        when = datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        case = f"case {entry.case}" if entry.case else "-"
        print(f"{when}  {entry.actor:<16} {entry.action:<16} {case:<12} {entry.detail}".rstrip())
    print(f"{len(entries)} action{'s' if len(entries) != 1 else ''}")
    return 0
