"""`helpline locales extract|update|compile|check`: the gettext catalogs."""

from __future__ import annotations

import argparse
import sys

from bot.i18n.catalogs import MENU_ORDER
from helpline.cli import common


def add_parser(sub) -> None:
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


def cmd_locales(args: argparse.Namespace) -> int:
    from bot.i18n import locales

    flows_dir, locales_dir = common.flows_dir(None), common.locales_dir()
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
