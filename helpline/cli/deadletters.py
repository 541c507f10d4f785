"""`helpline deadletters list | retry | purge`: her messages whose processing failed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from helpline.cli.common import EXIT_FAILED, cli_redis, settings_or_exit


def add_parser(sub) -> None:
    dead = sub.add_parser(
        "deadletters",
        help="messages whose processing failed: list, retry or purge them",
        description="Her messages whose processing raised are kept as dead letters, with "
        "her conversation (they expire with it, and go with it on safe exit). The log "
        "has the error; fix its cause, then retry them, or purge them.",
    )
    dead_sub = dead.add_subparsers(dest="deadletters_command", required=True)
    dead_sub.add_parser(
        "list", help="conversations with dead letters: how many, when (never the text)"
    ).set_defaults(func=cmd_deadletters)
    for name, about in (
        ("retry", "put them back in their conversation's inbox: the running app processes them"),
        ("purge", "delete them"),
    ):
        command = dead_sub.add_parser(name, help=about)
        command.add_argument(
            "conversations", nargs="*", metavar="ID", help="conversation ids (default: all)"
        )
        command.set_defaults(func=cmd_deadletters)


def cmd_deadletters(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    return asyncio.run(_deadletters(settings, args))


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def _deadletters(settings, args: argparse.Namespace) -> int:
    from bot.pipeline import deadletters

    async with cli_redis(settings) as redis:
        if args.deadletters_command == "list":
            listed = await deadletters.list_dead_letters(redis)
            for item in listed:
                print(
                    f"{item.pid}  {item.count} message{'s' if item.count != 1 else ''}"
                    f"  first {_when(item.first_at)}  last {_when(item.last_at)}"
                )
            total = sum(item.count for item in listed)
            print(
                f"{total} dead letter{'s' if total != 1 else ''} in {len(listed)} conversation"
                f"{'s' if len(listed) != 1 else ''}"
            )
            if legacy := await deadletters.legacy_count(redis):
                print(
                    f"{legacy} more from an older version, without expiry: "
                    "`helpline deadletters purge` deletes them"
                )
            return 0
        named = args.conversations or None
        if named is not None:
            known = set(await deadletters.conversations(redis, named))
            if unknown := [pid for pid in named if pid not in known]:
                print(
                    f"helpline: no dead letters for {', '.join(unknown)}: see "
                    "`helpline deadletters list`. Nothing changed.",
                    file=sys.stderr,
                )
                return EXIT_FAILED
        if args.deadletters_command == "retry":
            moved = await deadletters.retry(redis, named, settings.retention_seconds)
            print(f"{moved} message{'s' if moved != 1 else ''} put back to be processed again")
        else:
            purged = await deadletters.purge(redis, named)
            print(f"{purged} dead letter{'s' if purged != 1 else ''} deleted")
        return 0
