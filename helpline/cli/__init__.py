"""The `helpline` command: run, chat, flows, locales, shelters, counsellor, deadletters, audit, stats.

Configuration errors print one sentence each and exit with code 2; flow errors
print `file:line:col: message` lines and exit with code 1. Never a traceback for
a mistake a person can fix.
"""

from __future__ import annotations

import argparse

from helpline.cli import (
    audit,
    chat,
    counsellor,
    deadletters,
    flows,
    locales,
    run,
    shelters,
    stats,
)
from helpline.cli.common import EXIT_OK

COMMANDS = (run, chat, flows, locales, shelters, counsellor, deadletters, audit, stats)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description="Chat and SMS helpline bot.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or EXIT_OK
    except KeyboardInterrupt:
        return 130
