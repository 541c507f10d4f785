"""`helpline shelters import|check FILE`: the shelter directory (docs/shelters.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from helpline.cli.common import cli_redis, settings_or_exit

PROGRESS_FROM = 2000  # entries: smaller files import too fast for a progress bar


def add_parser(sub) -> None:
    shelters = sub.add_parser("shelters", help="the shelter directory")
    shelters_sub = shelters.add_subparsers(dest="shelters_command", required=True)
    imp = shelters_sub.add_parser(
        "import",
        help="validate a directory (YAML or CSV) and load it into Redis; exit 1 on errors, changing nothing",
    )
    imp.add_argument("file")
    imp.set_defaults(func=cmd_shelters_import)
    check = shelters_sub.add_parser(
        "check", help="validate a directory file; print file:line: message for each problem"
    )
    check.add_argument("file")
    check.set_defaults(func=cmd_shelters_check)


def cmd_shelters_check(args: argparse.Namespace) -> int:
    """Validate a directory file; print every problem as file:line: message."""
    shelters, _ = _read(args.file)
    if shelters is None:
        return 1
    print(f"{args.file}: {len(shelters)} entries OK", file=sys.stderr)
    return 0


def cmd_shelters_import(args: argparse.Namespace) -> int:
    """Validate, then load a directory file into Redis in one atomic swap."""
    settings = settings_or_exit()
    shelters, sha = _read(args.file)
    if shelters is None:
        return 1
    return asyncio.run(_import(settings, shelters, sha, args.file))


def _read(file: str):
    """(entries, sha256 of the file), or (None, "") after printing the errors."""
    from bot.shelters.directory import read_directory

    started = time.monotonic()
    shelters, problems, sha = read_directory(Path(file), file)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        print(problem)
    if errors:
        print(
            f"helpline: {len(errors)} error(s) in {file}: nothing was changed. Fix them and run again "
            "(the format is in docs/shelters.md).",
            file=sys.stderr,
        )
        return None, ""
    if len(shelters) >= PROGRESS_FROM:
        print(
            f"{file}: {len(shelters)} entries read and checked in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
    return shelters, sha


async def _import(settings, shelters, sha: str, file: str) -> int:
    from redis.exceptions import RedisError

    from bot.shelters.importer import ImportBusy, import_directory, remember_start_file

    async with cli_redis(settings) as redis:
        bar = _ProgressBar(len(shelters)) if len(shelters) >= PROGRESS_FROM else None
        try:
            summary = await import_directory(redis, shelters, sha, progress=bar)
            await remember_start_file(
                redis, settings.shelters_file
            )  # a restart keeps this directory
        except ImportBusy as exc:
            print(f"helpline: {exc}; nothing was changed.", file=sys.stderr)
            return 1
        except (RedisError, OSError) as exc:
            print(
                f"helpline: cannot reach Redis ({type(exc).__name__}: {exc}); nothing was changed. "
                "Check REDIS_URL, or that the data directory is writable.",
                file=sys.stderr,
            )
            return 2
        finally:
            if bar:
                bar.done()
    print(f"{file}: {summary}")
    for label, ids in (
        ("added", summary.added),
        ("changed", summary.changed),
        ("removed", summary.removed),
    ):
        if ids:
            shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            print(f"  {label}: {shown}")
    if summary.examples:
        print(f"  note: {summary.examples} entries are marked as example data; people are told so.")
    return 0


class _ProgressBar:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, width: int = 30):
        self.total = total
        self.width = width
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(1, total)
        if percent == self.last:
            return
        self.last = percent
        filled = self.width * done // max(1, total)
        sys.stderr.write(
            f"\rimporting [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {done}/{total}"
        )
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
