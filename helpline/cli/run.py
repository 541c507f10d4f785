"""`helpline run`: serve the web chat, the console, the webhooks and the workers,
from one process or HELPLINE_PROCESSES processes on one port."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.config import Settings
from helpline.cli.common import (
    EXIT_CONFIG,
    EXIT_OK,
    StartError,
    cannot_start,
    flows_or_exit,
    settings_or_exit,
    setup_logging,
    starting,
)


def add_parser(sub) -> None:
    run = sub.add_parser(
        "run", help="serve the web chat, the console, the webhooks and the workers"
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging (still no personal data)"
    )
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    setup_logging(args.verbose, settings.log_format, settings.process_index)
    try:
        settings = settings.with_secret()  # the data dir must be writable for the key
    except OSError as exc:
        return cannot_start(
            f"cannot write to HELPLINE_DATA_DIR={str(settings.data_dir)!r}: "
            f"{exc.strerror}. Point it to a folder this user can write."
        )
    flows = flows_or_exit(settings)
    if settings.processes > 1 and "HELPLINE_PROCESS_INDEX" not in os.environ:
        return _run_processes(settings, args.verbose)
    try:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            runner.run(_serve(settings, flows))
    except StartError as exc:
        return cannot_start(str(exc))
    return EXIT_OK


async def _serve(settings: Settings, flows) -> None:
    """Start the app, listen, then say so (and the first admin's password);
    serve until SIGTERM or SIGINT, then stop."""
    import signal

    from aiohttp import web

    from helpline.app import create_app

    try:
        app = create_app(settings, flows=flows)
    except FileNotFoundError as exc:
        raise StartError(
            f"a file the app needs is missing: {exc.filename}. Reinstall helpline."
        ) from None
    # At shutdown, requests under way get 2 s (long polls end at once), then the
    # sends under way up to SEND_GRACE_S.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2)
    stop = asyncio.Event()  # set by SIGTERM or SIGINT, from now on
    loop = asyncio.get_running_loop()

    def stopping(signum: signal.Signals) -> None:
        logging.getLogger("helpline.run").info("%s received: stopping", signum.name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping, signum)
    try:
        await starting(runner.setup(), settings)
        site = web.TCPSite(
            runner,
            settings.host,
            settings.port,
            reuse_port=settings.processes > 1,  # the processes share the port
        )
        await starting(site.start(), settings, listening=True)
        if settings.process_index == 0:
            print(
                f"helpline: serving on http://{settings.host}:{settings.port}/  (console: /console)",
                flush=True,
            )
        if password := await _first_admin(app, stop):
            print(
                f"helpline: created the first supervisor account: user `admin`, password "
                f"`{password}`. It is shown only this once: sign in at /console and add real "
                "accounts (lost it? `helpline counsellor passwd admin`).",
                flush=True,
            )
        await stop.wait()
    finally:
        await runner.cleanup()


async def _first_admin(app, stop: asyncio.Event) -> str | None:
    """The first supervisor's one-time password, once Redis takes the account: a
    Redis restart in the first seconds (the supervisor starts it again) must not
    stop the server, nor leave the line without an account."""
    from redis.exceptions import RedisError

    from helpline.app import HANDOFF, first_admin

    while not stop.is_set():
        try:
            password = await first_admin(app)
            if password or await app[HANDOFF].counsellors.count():
                return password
        except (RedisError, OSError) as exc:
            logging.getLogger("helpline.run").warning(
                "Redis is unavailable (%s): the first account waits for it", type(exc).__name__
            )
        await asyncio.sleep(1)  # another process may be creating it, or Redis restarting
    return None


def _run_processes(settings: Settings, verbose: bool) -> int:
    """`helpline run` with HELPLINE_PROCESSES > 1: this process starts the embedded
    Redis (unless REDIS_URL is set) and the secret key once, then that many copies
    of `helpline run` sharing the port (SO_REUSEPORT: the kernel spreads the
    connections) and Redis; a copy that dies is started again. They die with it."""
    import signal
    import subprocess
    import time

    from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError, die_with_parent

    log = logging.getLogger("helpline.run")
    settings = settings.with_secret()  # written once, before the processes read it
    env = {**os.environ}
    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        try:
            env["REDIS_URL"] = embedded.start()
        except EmbeddedRedisError as exc:
            print(f"helpline: {exc}", file=sys.stderr)
            return EXIT_CONFIG

    def spawn(index: int) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "helpline.cli", "run", *(["--verbose"] if verbose else [])],
            env={**env, "HELPLINE_PROCESS_INDEX": str(index)},
            preexec_fn=die_with_parent,
        )

    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = {index: spawn(index) for index in range(settings.processes)}
    status = EXIT_OK
    try:
        while not stopping:
            time.sleep(0.2)
            if embedded is not None:
                embedded.restart_if_dead()
            for index, child in list(children.items()):
                if child.poll() is None or stopping:
                    continue
                if child.returncode == EXIT_CONFIG:  # it said why: it will not do better
                    status, stopping = EXIT_CONFIG, True
                    break
                log.warning(
                    "process %d stopped (exit code %s); starting it again", index, child.returncode
                )
                children[index] = spawn(index)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.stop()
    return status


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (a faster event loop: less CPU per message), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
