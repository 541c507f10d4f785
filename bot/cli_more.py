"""CLI commands beside their modules: locales, shelters, counsellor."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.i18n import MENU_ORDER


def _dirs() -> tuple[Path, Path]:
    return (Path(os.environ.get("HELPLINE_FLOWS_DIR") or "flows"),
            Path(os.environ.get("HELPLINE_LOCALES_DIR") or "locales"))  # fmt: skip


def cmd_locales(args: argparse.Namespace) -> int:
    from bot import locales

    flows_dir, locales_dir = _dirs()
    if args.locales_command == "extract":
        catalog = locales.extract(flows_dir, locales_dir)
        print(f"{len(catalog)} texts written to {locales.template_path(locales_dir)}")
        return 0
    if not locales.template_path(locales_dir).exists():
        print(f"helpline: no template {locales.template_path(locales_dir)}: run `helpline locales extract` first", file=sys.stderr)
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
    import asyncio
    import getpass

    from bot.cli import _settings
    from handoff.counsellors import AccountError, check_username

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
    from bot.app import open_redis
    from bot.redis_server import EmbeddedRedis
    from handoff.counsellors import AccountError, Counsellors

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
    add = counsellor_sub.add_parser("add", help="add an account, or set its password and role; password from stdin or prompted")
    add.add_argument("user")
    add.add_argument("--role", choices=["counsellor", "supervisor"], default="counsellor")
    add.set_defaults(func=cmd_counsellor_add)

    loc = sub.add_parser("locales", help="gettext catalogs: extract, update, compile, check")
    loc_sub = loc.add_subparsers(dest="locales_command", required=True)
    loc_sub.add_parser("extract", help="collect the flows' texts into locales/helpline.pot")
    update = loc_sub.add_parser("update", help="merge the template into each language's .po")
    update.add_argument("languages", nargs="*", help="languages to create or update (default: every shipped one)")
    loc_sub.add_parser("compile", help="write .mo files next to the .po files")
    loc_sub.add_parser("check", help="coverage per language; exit 1 if incomplete or broken")
    loc.set_defaults(func=cmd_locales)
