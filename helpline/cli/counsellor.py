"""`helpline counsellor add|list|passwd|disable|enable|unlock`: counsellor accounts.

Passwords are read from stdin, or prompted twice on a terminal. `add` on an
existing account sets its password and changes its role only with `--role`; the
last enabled supervisor can be neither demoted nor disabled.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from helpline.cli.common import EXIT_FAILED, EXIT_OK, cli_redis, settings_or_exit


def add_parser(sub) -> None:
    counsellor = sub.add_parser("counsellor", help="counsellor accounts")
    counsellor_sub = counsellor.add_subparsers(dest="counsellor_command", required=True)
    add = counsellor_sub.add_parser(
        "add",
        help="add an account, or set an existing one's password (and its role with --role); "
        "password from stdin or prompted",
    )
    add.add_argument("user")
    add.add_argument(
        "--role",
        choices=["counsellor", "supervisor"],
        default=None,
        help="a new account is a counsellor unless given; an existing one keeps its role",
    )
    add.set_defaults(func=cmd_add)
    counsellor_sub.add_parser(
        "list", help="every account: role, enabled or disabled, throttled sign-ins"
    ).set_defaults(func=cmd_list)
    for name, func, text in (
        ("passwd", cmd_passwd, "set a new password (stdin or prompted); open sessions end"),
        ("disable", cmd_disable, "refuse sign-in and end open sessions"),
        ("enable", cmd_enable, "allow sign-in again"),
        ("unlock", cmd_unlock, "forget failed sign-in attempts on the account"),
    ):
        command = counsellor_sub.add_parser(name, help=text)
        command.add_argument("user")
        command.set_defaults(func=func)


def _read_password(user: str) -> str | None:
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"Password for {user}: ")
    if getpass.getpass("Again: ") != password:
        print("helpline: the two passwords differ; nothing changed.", file=sys.stderr)
        return None
    return password


def _fail(message: str) -> int:
    print(f"helpline: {message}", file=sys.stderr)
    return EXIT_FAILED


def _valid_user(user: str) -> bool:
    from handoff.counsellors import AccountError, check_username

    try:
        check_username(user)
    except AccountError as exc:
        _fail(str(exc))
        return False
    return True


def cmd_add(args: argparse.Namespace) -> int:
    if not _valid_user(args.user) or (password := _read_password(args.user)) is None:
        return EXIT_FAILED
    return asyncio.run(_change(args.user, "add", password, args.role))


def cmd_passwd(args: argparse.Namespace) -> int:
    if not _valid_user(args.user) or (password := _read_password(args.user)) is None:
        return EXIT_FAILED
    return asyncio.run(_change(args.user, "passwd", password))


def cmd_disable(args: argparse.Namespace) -> int:
    return asyncio.run(_change(args.user, "disable")) if _valid_user(args.user) else EXIT_FAILED


def cmd_enable(args: argparse.Namespace) -> int:
    return asyncio.run(_change(args.user, "enable")) if _valid_user(args.user) else EXIT_FAILED


def cmd_unlock(args: argparse.Namespace) -> int:
    return asyncio.run(_change(args.user, "unlock")) if _valid_user(args.user) else EXIT_FAILED


async def _change(user: str, action: str, password: str = "", role: str | None = None) -> int:
    from bot.store.limits import Limits
    from handoff.audit import Audit
    from handoff.counsellors import AccountError, Counsellors
    from handoff.sessions import ACCOUNT_TRIES

    settings = settings_or_exit()
    async with cli_redis(settings) as redis:
        counsellors = Counsellors(redis)
        try:
            if action == "add":
                new = await counsellors.add(user, password, role)
                account = await counsellors.account(user)
                assert account is not None
                print(f"{'added' if new else 'updated'} {account.role} {user}")
            elif action == "passwd":
                await counsellors.set_password(user, password)
                print(f"new password for {user}; their open sessions have ended")
            elif action in ("disable", "enable"):
                await counsellors.set_disabled(user, action == "disable")
                print(f"{action}d {user}")
            else:
                if not await counsellors.exists(user):
                    raise AccountError(f"There is no account {user!r}.")
                cleared = await Limits(redis).clear(ACCOUNT_TRIES, f"{user}:")
                print(f"unlocked {user} (failed sign-ins from {cleared} client(s) forgotten)")
        except AccountError as exc:
            return _fail(f"{exc} Nothing changed.")
        # the operator at the command line: the account changed is the detail
        await Audit(redis, settings.retention_seconds).record(
            "cli", f"account_{action}", None, user
        )
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    return asyncio.run(_list())


async def _list() -> int:
    from bot.store.limits import Limits
    from handoff.counsellors import Counsellors
    from handoff.sessions import ACCOUNT_TRIES

    async with cli_redis(settings_or_exit()) as redis:
        counsellors = Counsellors(redis)
        limits = Limits(redis)
        accounts = await counsellors.accounts()
        online = set(await counsellors.online())
        rows = [("USER", "ROLE", "STATUS", "ONLINE", "THROTTLED")]
        for a in accounts:
            throttled = await limits.blocked(ACCOUNT_TRIES, f"{a.username}:")
            rows.append(
                (
                    a.username,
                    a.role,
                    "disabled" if a.disabled else "enabled",
                    "yes" if a.username in online else "no",
                    f"{throttled} client(s)" if throttled else "-",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if not accounts:
        print("no accounts yet: `helpline run` creates `admin` on its first start")
    return EXIT_OK
