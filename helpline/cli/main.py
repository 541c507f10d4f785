"""The `helpline` command: run, chat, flows, locales, shelters, counsellor.

Configuration errors print one sentence each and exit with code 2; flow errors
print `file:line:col: message` lines and exit with code 1. Never a traceback for
a mistake a person can fix.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print("helpline: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiohttp.access", "httpx", "telegram", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_flows(settings: Settings):
    from bot.runtime.runtime import Flows, FlowsInvalid

    try:
        return Flows(settings.flows_dir, settings.locales_dir)
    except FlowsInvalid as exc:
        print(
            f"helpline: the flows in {settings.flows_dir} have errors; fix them and start again:",
            file=sys.stderr,
        )
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None


# ---------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.store.embedded import EmbeddedRedisError
    from helpline.app import create_app

    settings = _settings()
    _logging(args.verbose)
    flows = _load_flows(settings)
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
            [sys.executable, "-m", "helpline.cli.main", "run", *(["--verbose"] if verbose else [])],
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


# ---------------------------------------------------------------- chat


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.terminal import run_chat

    settings = _settings()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    flows = _load_flows(settings)
    return asyncio.run(run_chat(settings, flows, channel=args.channel, language=args.lang))


# ---------------------------------------------------------------- flows


def cmd_flows_check(args: argparse.Namespace) -> int:
    from helpline.checks import check_all

    directory = (
        Path(args.dir) if args.dir else Path(os.environ.get("HELPLINE_FLOWS_DIR") or "flows")
    )
    issues = check_all(directory)
    errors = [i for i in issues if i.severity == "error"]
    for issue in issues:
        print(issue)
    if errors:
        print(f"{len(errors)} error(s) in {directory}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{directory}: flows OK", file=sys.stderr)
    return EXIT_OK


def cmd_flows_test(args: argparse.Namespace) -> int:
    from bot.runtime.runtime import FlowsInvalid
    from bot.testing.scenarios import run_scenarios, scenario_files
    from helpline.services import install_services

    directory = (
        Path(args.dir) if args.dir else Path(os.environ.get("HELPLINE_FLOWS_DIR") or "flows")
    )
    locales = Path(os.environ.get("HELPLINE_LOCALES_DIR") or "locales")
    if not scenario_files(directory):
        print(
            f"helpline: no scenario files in {directory / 'tests'}: write some (see flows/README.md)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    logging.basicConfig(level=logging.WARNING)
    try:
        report = asyncio.run(run_scenarios(directory, locales, install_services))
    except FlowsInvalid as exc:
        for issue in exc.issues:
            print(issue)
        return EXIT_FAILED
    for issue in report.issues:
        print(issue)
    for failure in report.failures:
        print(f"FAIL {failure}")
    unvisited = sorted(report.all_states - report.visited)
    print(
        f"{report.cases} scenarios, {report.steps} steps, {len(report.failures)} failed; "
        f"states visited: {len(report.visited & report.all_states)}/{len(report.all_states)}"
    )
    if unvisited and args.verbose:
        print("not visited: " + ", ".join(unvisited))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_flows_graph(args: argparse.Namespace) -> int:
    from bot.conversation.engine import Engine
    from bot.conversation.graph import draw
    from bot.flows.loader import load_flowset

    directory = Path(args.dir or os.environ.get("HELPLINE_FLOWS_DIR") or "flows")
    flowset, issues = load_flowset(directory)
    if flowset is None:
        for issue in issues:
            print(issue, file=sys.stderr)
        return EXIT_FAILED
    if args.flow not in flowset.flows:
        print(
            f"helpline: no flow {args.flow!r}; flows: {', '.join(sorted(flowset.flows))}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    Engine(flowset)
    print(draw(flowset.flows[args.flow], args.format))
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description="Chat and SMS helpline bot.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="serve the web chat, the console, the webhooks and the workers"
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging (still no personal data)"
    )
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="talk to the flows in the terminal")
    chat.add_argument("--lang", default=None, help="language code, e.g. ro, ar, zh")
    chat.add_argument(
        "--channel", choices=["sms", "telegram"], default="sms", help="how replies look"
    )
    chat.set_defaults(func=cmd_chat)

    flows = sub.add_parser("flows", help="check, test and draw the flows").add_subparsers(
        dest="flows_command", required=True
    )
    check = flows.add_parser(
        "check", help="validate; print file:line:col: message for each problem"
    )
    check.add_argument("dir", nargs="?")
    check.set_defaults(func=cmd_flows_check)
    test = flows.add_parser("test", help="run the scenario files in DIR/tests")
    test.add_argument("dir", nargs="?")
    test.add_argument(
        "-v", "--verbose", action="store_true", help="also list the states no scenario visits"
    )
    test.set_defaults(func=cmd_flows_test)
    graph = flows.add_parser("graph", help="print a diagram of a flow")
    graph.add_argument("flow")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    graph.add_argument("--dir", default=None)
    graph.set_defaults(func=cmd_flows_graph)

    _add_later_commands(sub)
    return parser


def _add_later_commands(sub) -> None:
    """locales, shelters and counsellor commands live beside their modules."""
    from helpline.cli.more import add_commands

    add_commands(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
