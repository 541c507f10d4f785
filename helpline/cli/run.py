"""`helpline run`: serve the web chat, the console, the webhooks and the workers,
from one process or HELPLINE_PROCESSES processes on one port."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.config import Settings
from helpline.cli.common import EXIT_CONFIG, EXIT_OK, flows_or_exit, settings_or_exit, setup_logging


def add_parser(sub) -> None:
    run = sub.add_parser(
        "run", help="serve the web chat, the console, the webhooks and the workers"
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging (still no personal data)"
    )
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.store.embedded import EmbeddedRedisError
    from helpline.app import create_app

    settings = settings_or_exit()
    setup_logging(args.verbose)
    flows = flows_or_exit(settings)
    if settings.processes > 1 and "HELPLINE_PROCESS_INDEX" not in os.environ:
        return _run_processes(settings, args.verbose)
    app = create_app(settings, flows=flows)
    if settings.process_index == 0:
        print(
            f"helpline: serving on http://{settings.host}:{settings.port}/  (console: /console)",
            flush=True,
        )
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            print=None,
            access_log=None,
            shutdown_timeout=5,
            loop=_new_loop(),
            reuse_port=settings.processes > 1,  # the processes share the port
        )
    except EmbeddedRedisError as exc:
        print(f"helpline: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(
            f"helpline: cannot listen on {settings.host}:{settings.port}: {exc.strerror}. "
            "Is another program using it? Set HELPLINE_PORT to another port.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return EXIT_OK


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
