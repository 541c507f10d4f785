"""CLI commands beside their modules: locales, shelters, counsellor."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from bot.i18n.catalogs import MENU_ORDER

PROGRESS_FROM = 2000  # entries: smaller files import too fast for a progress bar


def cmd_shelters_check(args: argparse.Namespace) -> int:
    """Validate a directory file; print every problem as file:line: message."""
    shelters, _ = _read(args.file)
    if shelters is None:
        return 1
    print(f"{args.file}: {len(shelters)} entries OK", file=sys.stderr)
    return 0


def cmd_shelters_import(args: argparse.Namespace) -> int:
    """Validate, then load a directory file into Redis in one atomic swap."""
    from helpline.cli.main import _settings

    settings = _settings()
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

    from bot.shelters.directory import ImportBusy, import_directory, remember_start_file
    from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError
    from helpline.app import open_redis

    embedded = None
    url = settings.redis_url
    try:
        if url is None:  # the running app's embedded Redis, else start it on the same data dir
            embedded = EmbeddedRedis(settings.data_dir, reuse_running=True)
            url = embedded.start()
    except EmbeddedRedisError as exc:
        print(f"helpline: {exc}", file=sys.stderr)
        return 2
    redis = open_redis(url)
    bar = _ProgressBar(len(shelters)) if len(shelters) >= PROGRESS_FROM else None
    try:
        summary = await import_directory(redis, shelters, sha, progress=bar)
        await remember_start_file(redis, settings.shelters_file)  # a restart keeps this directory
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
        await redis.aclose()
        if embedded is not None and embedded.process is not None:
            embedded.stop()
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


def _dirs() -> tuple[Path, Path]:
    return (
        Path(os.environ.get("HELPLINE_FLOWS_DIR") or "flows"),
        Path(os.environ.get("HELPLINE_LOCALES_DIR") or "locales"),
    )


def cmd_locales(args: argparse.Namespace) -> int:
    from bot.i18n import locales

    flows_dir, locales_dir = _dirs()
    if args.locales_command == "extract":
        catalog = locales.extract(flows_dir, locales_dir)
        print(f"{len(catalog)} texts written to {locales.template_path(locales_dir)}")
        return 0
    if not locales.template_path(locales_dir).exists():
        print(
            f"helpline: no template {locales.template_path(locales_dir)}: run `helpline locales extract` first",
            file=sys.stderr,
        )
        return 1
    if args.locales_command == "update":
        languages = args.languages or None
        if not languages and not locales.shipped_languages(locales_dir):
            languages = [code for code in MENU_ORDER if code != "en"]
        done = locales.update(locales_dir, languages)
        print(f"updated {len(done)} catalogs: {' '.join(done)}")
        return 0
    if args.locales_command == "compile":
        written = locales.compile_all(locales_dir)
        print(f"compiled {len(written)} catalogs")
        return 0
    ok = locales.print_check(locales.check(locales_dir))
    return 0 if ok else 1


def cmd_counsellor_add(args: argparse.Namespace) -> int:
    import getpass

    from handoff.counsellors import AccountError, check_username
    from helpline.cli.main import _settings

    try:
        check_username(args.user)
    except AccountError as exc:
        print(f"helpline: {exc}", file=sys.stderr)
        return 1
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.user}: ")
        if getpass.getpass("Again: ") != password:
            print("helpline: the two passwords differ; nothing changed.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    settings = _settings()
    return asyncio.run(_add_counsellor(settings, args.user, password, args.role))


async def _add_counsellor(settings, user: str, password: str, role: str) -> int:
    from bot.store.embedded import EmbeddedRedis
    from handoff.counsellors import AccountError, Counsellors
    from helpline.app import open_redis

    embedded = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir, reuse_running=True)
        url = embedded.start()
    redis = open_redis(url)
    try:
        new = await Counsellors(redis).add(user, password, role)
    except AccountError as exc:
        print(f"helpline: {exc} Nothing changed.", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
        if embedded is not None and embedded.process is not None:
            embedded.stop()
    print(f"{'added' if new else 'updated'} {role} {user}")
    return 0


def add_commands(sub) -> None:
    counsellor = sub.add_parser("counsellor", help="counsellor accounts")
    counsellor_sub = counsellor.add_subparsers(dest="counsellor_command", required=True)
    add = counsellor_sub.add_parser(
        "add", help="add an account, or set its password and role; password from stdin or prompted"
    )
    add.add_argument("user")
    add.add_argument("--role", choices=["counsellor", "supervisor"], default="counsellor")
    add.set_defaults(func=cmd_counsellor_add)

    loc = sub.add_parser("locales", help="gettext catalogs: extract, update, compile, check")
    loc_sub = loc.add_subparsers(dest="locales_command", required=True)
    loc_sub.add_parser("extract", help="collect the flows' texts into locales/helpline.pot")
    update = loc_sub.add_parser("update", help="merge the template into each language's .po")
    update.add_argument(
        "languages", nargs="*", help="languages to create or update (default: every shipped one)"
    )
    loc_sub.add_parser("compile", help="write .mo files next to the .po files")
    loc_sub.add_parser("check", help="coverage per language; exit 1 if incomplete or broken")
    loc.set_defaults(func=cmd_locales)

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
