"""`helpline counsellor add USER`: counsellor accounts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from helpline.cli.common import cli_redis, settings_or_exit


def add_parser(sub) -> None:
    counsellor = sub.add_parser("counsellor", help="counsellor accounts")
    counsellor_sub = counsellor.add_subparsers(dest="counsellor_command", required=True)
    add = counsellor_sub.add_parser(
        "add", help="add an account, or set its password and role; password from stdin or prompted"
    )
    add.add_argument("user")
    add.add_argument("--role", choices=["counsellor", "supervisor"], default="counsellor")
    add.set_defaults(func=cmd_counsellor_add)


def cmd_counsellor_add(args: argparse.Namespace) -> int:
    import getpass

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
    settings = settings_or_exit()
    return asyncio.run(_add_counsellor(settings, args.user, password, args.role))


async def _add_counsellor(settings, user: str, password: str, role: str) -> int:
    from handoff.counsellors import AccountError, Counsellors

    async with cli_redis(settings) as redis:
        try:
            new = await Counsellors(redis).add(user, password, role)
        except AccountError as exc:
            print(f"helpline: {exc} Nothing changed.", file=sys.stderr)
            return 1
    print(f"{'added' if new else 'updated'} {role} {user}")
    return 0
