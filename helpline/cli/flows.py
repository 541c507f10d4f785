"""`helpline flows check|test|graph`: what an admin runs after editing flows/."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.conversation.engine import Engine
from bot.conversation.graph import draw
from bot.flows.load import load_flowset
from bot.i18n.catalogs import Catalogs
from bot.risk.lexicons import coverage_table, load_concepts, load_lexicons
from bot.runtime.live import FlowsInvalid
from bot.sources import Issue
from bot.testing.scenarios import run_scenarios, scenario_files
from helpline.cli.common import EXIT_FAILED, EXIT_OK, flows_dir, locales_dir
from helpline.services import scenario_runtime


def add_parser(sub) -> None:
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
    test.add_argument(
        "--write",
        action="store_true",
        help="record every step's full replies and state in DIR/tests/golden/ "
        "(later runs compare with the record)",
    )
    test.set_defaults(func=cmd_flows_test)
    graph = flows.add_parser("graph", help="print a diagram of a flow")
    graph.add_argument("flow")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    graph.add_argument("--dir", default=None)
    graph.set_defaults(func=cmd_flows_graph)


def check_all(directory: Path, locales: Path | None = None) -> list[Issue]:
    """Issues of the flows, of the risk lexicons in DIR/risk when present, and
    of the translation catalogs in `locales` (a translation that would break a
    text: its placeholders or numbers, a provider word)."""
    _, issues = load_flowset(directory)
    risk_dir = Path(directory) / "risk"
    if risk_dir.is_dir():
        _, lexicon_issues = load_lexicons(risk_dir)
        issues = [*issues, *lexicon_issues]
    if locales is not None and locales.is_dir():
        issues = [*issues, *Catalogs(locales).problems]
    return sorted(set(issues))


def cmd_flows_check(args: argparse.Namespace) -> int:
    directory = flows_dir(args.dir)
    issues = check_all(directory, locales_dir())
    errors = [i for i in issues if i.severity == "error"]
    for issue in issues:
        print(issue)
    risk_dir = directory / "risk"
    if risk_dir.is_dir():
        lexicons, _ = load_lexicons(risk_dir)
        concepts, _ = load_concepts(risk_dir)
        if lexicons and concepts:
            print("risk lexicon entries by concept and language (- none):", file=sys.stderr)
            print(coverage_table(lexicons, concepts), file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s) in {directory}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{directory}: flows OK", file=sys.stderr)
    return EXIT_OK


def cmd_flows_test(args: argparse.Namespace) -> int:

    directory = flows_dir(args.dir)
    locales = locales_dir()
    if not scenario_files(directory):
        print(
            f"helpline: no scenario files in {directory / 'tests'}: write some (see flows/README.md)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    logging.basicConfig(level=logging.WARNING)
    try:
        report = asyncio.run(run_scenarios(directory, locales, scenario_runtime, record=args.write))
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
    for path in report.written:
        print(f"recorded {path}")
    if unvisited and args.verbose:
        print("not visited: " + ", ".join(unvisited))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_flows_graph(args: argparse.Namespace) -> int:

    directory = flows_dir(args.dir)
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
