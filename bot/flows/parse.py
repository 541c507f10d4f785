"""Reading flow and settings YAML into the schema, with file:line:col for every issue."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from bot.flows.schema import (
    ACTIONS,
    ActionCall,
    Branch,
    Condition,
    Flow,
    Input,
    Option,
    State,
    Target,
)
from bot.sources import Issue, Source, YamlError, load

_FLOW_KEYS = {"flow", "start", "states", "description"}
_STATE_KEYS = {
    "say",
    "menu",
    "input",
    "do",
    "on",
    "next",
    "languages",
    "reprompt",
    "final",
    "description",
}
_OPTION_KEYS = {"label", "keywords", "go", "do", "set"}
_INPUT_KEYS = {"save_as", "go", "accepts"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VAR = re.compile(r"^_?[a-z][a-z0-9_]*$")


def unknown_keys(
    src: Source, mapping: dict, allowed: set[str], path: tuple, what: str
) -> list[Issue]:
    issues = []
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = (
                f" (did you mean {close[0]!r}?)"
                if close
                else f"; allowed: {', '.join(sorted(allowed))}"
            )
            issues.append(
                src.issue(
                    (*path, key, "<key>"),
                    f"unknown key {key!r} in {what}{hint}",
                    code="unknown-key",
                )
            )
    return issues


class FlowParser:
    def __init__(self, directory: Path):
        self.directory = directory
        self.issues: list[Issue] = []
        self.sources: dict[str, Source] = {}

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    # ---- targets and branches

    def parse_target(self, src: Source, value: Any, path: tuple, flow: str) -> Target | None:
        if not isinstance(value, str) or not value.strip():
            self.issues.append(
                src.issue(
                    path,
                    "a target must be a state name, a flow name or flow.state",
                    code="bad-target",
                )
            )
            return None
        value = value.strip()
        if "." in value:
            f, s = value.split(".", 1)
            return Target(f, s)
        return Target(flow, value, bare=True)  # a state of this flow, else a flow: see _resolve

    def parse_branches(self, src: Source, value: Any, path: tuple, flow: str) -> tuple[Branch, ...]:
        if isinstance(value, list):
            branches = []
            for i, item in enumerate(value):
                p = (*path, i)
                if not isinstance(item, dict) or "go" not in item:
                    self.issues.append(
                        src.issue(
                            p, "each branch needs `go:` (and optionally `if:`)", code="schema"
                        )
                    )
                    continue
                self.issues.extend(unknown_keys(src, item, {"if", "go"}, p, "a branch"))
                cond = (
                    self.parse_condition(src, item.get("if"), (*p, "if")) if "if" in item else None
                )
                branches.append(Branch(self.parse_target(src, item["go"], (*p, "go"), flow), cond))
            if branches and branches[-1].condition is not None:
                self.issues.append(
                    src.issue(
                        path,
                        "the last branch must have no `if:` so that some branch always applies",
                        code="schema",
                    )
                )
            return tuple(branches)
        return (Branch(self.parse_target(src, value, path, flow)),)

    def parse_condition(self, src: Source, value: Any, path: tuple) -> Condition | None:
        if not isinstance(value, dict) or not value:
            self.issues.append(
                src.issue(path, "`if:` takes a mapping such as {channel: sms}", code="schema")
            )
            return None
        checks = []
        for key, accepted in value.items():
            if key not in ("channel", "language") and not (
                key.startswith("var.") and _VAR.match(key[4:])
            ):
                self.issues.append(
                    src.issue(
                        (*path, key, "<key>"),
                        f"unknown condition {key!r}: use channel, language or var.NAME",
                        code="unknown-condition",
                    )
                )
                continue
            values = accepted if isinstance(accepted, list) else [accepted]
            checks.append((key, frozenset("" if v is None else str(v) for v in values)))
        return Condition(tuple(checks))

    def parse_actions(self, src: Source, value: Any, path: tuple) -> tuple[ActionCall, ...]:
        items = value if isinstance(value, list) else [value]
        calls = []
        for i, item in enumerate(items):
            p = (*path, i) if isinstance(value, list) else path
            if isinstance(item, str):
                name, args = item, {}
            elif isinstance(item, dict) and isinstance(item.get("action"), str):
                name, args = item["action"], {k: v for k, v in item.items() if k != "action"}
            else:
                self.issues.append(
                    src.issue(
                        p,
                        "`do:` takes an action name, or {action: NAME, ARG: value}",
                        code="schema",
                    )
                )
                continue
            spec = ACTIONS.get(name)
            if spec is None:
                close = difflib.get_close_matches(name, sorted(ACTIONS), n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)"
                    if close
                    else f"; known: {', '.join(sorted(ACTIONS))}"
                )
                self.issues.append(
                    src.issue(p, f"unknown action {name!r}{hint}", code="unknown-action")
                )
                continue
            for arg in args:
                if arg not in spec.args:
                    self.issues.append(
                        src.issue(
                            (*p, arg, "<key>"),
                            f"action {name!r} takes no argument {arg!r}",
                            code="unknown-argument",
                        )
                    )
            calls.append(ActionCall(name, tuple((k, str(v)) for k, v in sorted(args.items()))))
        return tuple(calls)

    # ---- files

    def load_source(self, path: Path) -> Source | None:
        try:
            src = load(path, self.display(path))
        except YamlError as exc:
            self.issues.append(exc.issue)
            return None
        self.sources[src.file] = src
        return src

    def load_mapping(self, path: Path, shape: str) -> tuple[Source, dict] | None:
        """A YAML file whose top level must be a mapping, and that mapping; else
        None, with the issue (`shape` says what the file should look like)."""
        src = self.load_source(path)
        if src is None:
            return None
        if not isinstance(src.data, dict):
            self.issues.append(src.issue((), shape, code="schema"))
            return None
        return src, src.data

    def load_flow(self, path: Path) -> Flow | None:
        loaded = self.load_mapping(path, "a flow file is a mapping with `flow:` and `states:`")
        if loaded is None:
            return None
        src, data = loaded
        self.issues.extend(unknown_keys(src, data, _FLOW_KEYS, (), "a flow"))
        name = data.get("flow")
        if not isinstance(name, str) or not _NAME.match(name):
            self.issues.append(
                src.issue(
                    ("flow",),
                    "`flow:` must name the flow in lower case, e.g. `flow: rights`",
                    code="schema",
                )
            )
            return None
        states_data = data.get("states")
        if not isinstance(states_data, dict) or not states_data:
            self.issues.append(
                src.issue(("states",), f"flow {name!r} has no states", code="schema")
            )
            return None
        states: dict[str, State] = {}
        for state_name, body in states_data.items():
            p = ("states", state_name)
            if not _NAME.match(state_name):
                self.issues.append(
                    src.issue(
                        (*p, "<key>"),
                        f"state name {state_name!r}: use lower case, digits and _",
                        code="schema",
                    )
                )
            if not isinstance(body, dict):
                self.issues.append(
                    src.issue(
                        p,
                        f"state {state_name!r} must be a mapping (say:, menu:, ...)",
                        code="schema",
                    )
                )
                continue
            states[state_name] = self.load_state(src, name, state_name, body, p)
        start = data.get("start", next(iter(states_data)))
        if start not in states_data:
            self.issues.append(
                src.issue(
                    ("start",),
                    f"start state {start!r} is not a state of flow {name!r}",
                    code="unknown-start",
                )
            )
        return Flow(name, src.file, start, states)

    def load_state(self, src: Source, flow: str, name: str, body: dict, p: tuple) -> State:
        self.issues.extend(unknown_keys(src, body, _STATE_KEYS, p, f"state {name!r}"))
        state = State(flow, name)
        say = body.get("say")
        if say is not None:
            says = say if isinstance(say, list) else [say]
            if not all(isinstance(s, str) and s.strip() for s in says):
                self.issues.append(
                    src.issue((*p, "say"), "`say:` takes a text or a list of texts", code="schema")
                )
            state.say = tuple(s.strip() for s in says if isinstance(s, str) and s.strip())
        if "menu" in body:
            state.options = self.load_menu(src, flow, body["menu"], (*p, "menu"))
        if "input" in body:
            state.input = self.load_input(src, flow, body["input"], (*p, "input"))
        if "do" in body:
            state.actions = self.parse_actions(src, body["do"], (*p, "do"))
        if "on" in body:
            on = body["on"]
            if not isinstance(on, dict) or not on:
                self.issues.append(
                    src.issue(
                        (*p, "on"),
                        "`on:` maps each outcome of the action to a target",
                        code="schema",
                    )
                )
            else:
                state.on = {
                    k: self.parse_branches(src, v, (*p, "on", k), flow) for k, v in on.items()
                }
        if "next" in body:
            state.next = self.parse_branches(src, body["next"], (*p, "next"), flow)
        if "languages" in body:
            state.languages = self.parse_branches(src, body["languages"], (*p, "languages"), flow)
        if "reprompt" in body:
            if not isinstance(body["reprompt"], str):
                self.issues.append(
                    src.issue((*p, "reprompt"), "`reprompt:` takes a text", code="schema")
                )
            else:
                state.reprompt = body["reprompt"].strip()
        if "final" in body:
            if not isinstance(body["final"], bool):
                self.issues.append(
                    src.issue((*p, "final"), "`final:` takes true or false", code="schema")
                )
            state.final = body["final"] is True
        return state

    def load_menu(self, src: Source, flow: str, menu: Any, p: tuple) -> tuple[Option, ...]:
        if not isinstance(menu, list) or not menu:
            self.issues.append(
                src.issue(
                    p, "menu without options: list at least one option with a label", code="schema"
                )
            )
            return ()
        options = []
        for i, item in enumerate(menu):
            op = (*p, i)
            if not isinstance(item, dict):
                self.issues.append(
                    src.issue(
                        op,
                        "a menu option is a mapping with `label:` and `go:` or `do:`",
                        code="schema",
                    )
                )
                continue
            self.issues.extend(unknown_keys(src, item, _OPTION_KEYS, op, "a menu option"))
            label = item.get("label")
            if not isinstance(label, str) or not label.strip():
                self.issues.append(
                    src.issue(op, "a menu option needs a `label:` text", code="schema")
                )
                label = "?"
            keywords = item.get("keywords")
            if isinstance(keywords, list):
                keywords = ", ".join(str(k) for k in keywords)
            if keywords is not None and not isinstance(keywords, str):
                self.issues.append(
                    src.issue(
                        (*op, "keywords"),
                        "`keywords:` takes words separated by commas",
                        code="schema",
                    )
                )
                keywords = None
            if "go" not in item and "do" not in item:
                self.issues.append(
                    src.issue(
                        op,
                        f"option {label!r} needs `go:` (where to) or `do:` (an action)",
                        code="schema",
                    )
                )
            branches = (
                self.parse_branches(src, item["go"], (*op, "go"), flow) if "go" in item else ()
            )
            actions = self.parse_actions(src, item["do"], (*op, "do")) if "do" in item else ()
            for action in actions:
                if ACTIONS[action.name].outcomes:
                    self.issues.append(
                        src.issue(
                            (*op, "do"),
                            f"action {action.name!r} has outcomes: put it in a state's `do:` with `on:`, and `go:` to that state",
                            code="outcome-in-menu",
                        )
                    )
            sets = item.get("set") or {}
            if not isinstance(sets, dict) or not all(
                isinstance(k, str) and _VAR.match(k) for k in sets
            ):
                self.issues.append(
                    src.issue(
                        (*op, "set"),
                        "`set:` takes variable names and values, e.g. {need: shelter}",
                        code="schema",
                    )
                )
                sets = {}
            options.append(
                Option(
                    i + 1,
                    label.strip(),
                    keywords,
                    branches,
                    actions,
                    tuple((k, str(v)) for k, v in sets.items()),
                )
            )
        return tuple(options)

    def load_input(self, src: Source, flow: str, spec: Any, p: tuple) -> Input | None:
        if not isinstance(spec, dict) or "go" not in spec:
            self.issues.append(
                src.issue(
                    p, "`input:` needs `go:` (and optionally save_as:, accepts:)", code="schema"
                )
            )
            return None
        self.issues.extend(unknown_keys(src, spec, _INPUT_KEYS, p, "input"))
        save_as = spec.get("save_as")
        if save_as is not None and (not isinstance(save_as, str) or not _VAR.match(save_as)):
            self.issues.append(
                src.issue(
                    (*p, "save_as"),
                    "`save_as:` takes a variable name such as _place",
                    code="schema",
                )
            )
            save_as = None
        accepts = spec.get("accepts", ["text"])
        accepts = accepts if isinstance(accepts, list) else [accepts]
        for kind in accepts:
            if kind not in ("text", "location"):
                self.issues.append(
                    src.issue(
                        (*p, "accepts"),
                        f"unknown input kind {kind!r}: use text or location",
                        code="unknown-input",
                    )
                )
        branches = self.parse_branches(src, spec["go"], (*p, "go"), flow)
        return Input(save_as, branches, "text" in accepts, "location" in accepts)
