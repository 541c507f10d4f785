"""`load_flowset(dir)`: the compiled flow set and every issue found; a flow set
with errors is never used."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.flows.check import FlowChecker
from bot.flows.parse import FlowParser
from bot.flows.schema import SETTINGS_FILE, Flow, FlowSet
from bot.flows.settings import load_settings
from bot.flows.wrapup import WRAPUP_FILE, WrapupForm, load_wrapup
from bot.sources import Issue


def flow_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.glob("*.y*ml")
        if p.name not in (SETTINGS_FILE, WRAPUP_FILE) and p.suffix in (".yaml", ".yml")
    )


def load_flowset(directory: Path) -> tuple[FlowSet | None, list[Issue]]:
    """Load and check every flow of `directory`. Returns (flowset, issues); the
    flowset is None when any issue is an error."""
    directory = Path(directory)
    loader = FlowParser(directory)
    if not directory.is_dir():
        return None, [Issue(str(directory), 1, 1, "not a directory of flows", code="no-flows")]
    settings_path = directory / SETTINGS_FILE
    settings = None
    if settings_path.exists():
        settings = load_settings(loader, settings_path)
    else:
        loader.issues.append(
            Issue(
                loader.display(settings_path),
                1,
                1,
                "missing settings.yaml: it names the start flow and the global keywords",
                code="missing-settings",
            )
        )
    wrapup_path = directory / WRAPUP_FILE
    wrapup = load_wrapup(loader, wrapup_path) if wrapup_path.exists() else WrapupForm()
    flows: dict[str, Flow] = {}
    for path in flow_files(directory):
        flow = loader.load_flow(path)
        if flow is None:
            continue
        if flow.name in flows:
            loader.issues.append(
                loader.sources[flow.file].issue(
                    ("flow",),
                    f"flow {flow.name!r} is also defined in {flows[flow.name].file}",
                    code="duplicate-flow",
                )
            )
            continue
        flows[flow.name] = flow
    if not flows and not any(i.severity == "error" for i in loader.issues):
        loader.issues.append(
            Issue(
                loader.display(directory),
                1,
                1,
                "no flow files (*.yaml) in this directory",
                code="no-flows",
            )
        )
    checker = FlowChecker(loader, flows, settings)
    unreadable = any(i.severity == "error" for i in loader.issues)
    checker.resolve_all()
    if (
        not unreadable
    ):  # a flow file that failed to load would make every reference to it look wrong
        checker.resolve_settings()
    checker.check_states()
    if not unreadable:
        checker.check_reachable()
    checker.checkplaceholders()
    checker.check_provider_words()
    checker.check_action_messages()
    issues = sorted(set(loader.issues))
    if any(i.severity == "error" for i in issues) or checker.settings is None or unreadable:
        return None, issues
    digest = hashlib.sha256()
    for src in sorted(loader.sources.values(), key=lambda s: s.file):
        digest.update(src.file.encode() + b"\0" + "\n".join(src.lines).encode())
    flowset = FlowSet(
        directory, checker.settings, flows, digest.hexdigest()[:12], loader.sources, wrapup
    )
    return flowset, issues
