"""Flow YAML: the schema admins write, its loader and its checker.

A flow set is a directory: `settings.yaml` (start flow, global keywords, idle
timeout, queue and hours) and one file per flow. `load_flowset(dir)` returns the
compiled `FlowSet` and every `Issue` found; a flow set with errors is never used.
flows/README.md documents the schema for admins.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.sources import Issue, Source, YamlError, load

SETTINGS_FILE = "settings.yaml"
DATA_SUBDIRS = ("risk", "tests")

# Words Twilio's default opt-out handling answers itself on long codes, with an
# English auto-reply, and then blocks the number: a flow must never ask a person
# to send them. CONTENT.md: "The exit word is EXIT, never STOP".
TWILIO_OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}

GLOBAL_KEYWORDS = ("exit", "human", "language", "menu")
# Placeholders every message may use; actions and inputs add their own variables.
BUILTIN_PLACEHOLDERS = {
    "exit_word",
    "human_word",
    "language_word",
    "menu_word",
    "emergency_number",
    "queue_position",
    "opening_hours",  # given by the handoff
}


@dataclass(frozen=True)
class ActionSpec:
    """A named hook the runtime provides to flows."""

    name: str
    outcomes: frozenset[str] = frozenset()
    args: frozenset[str] = frozenset()
    sets: frozenset[str] = frozenset()  # variables it sets for the messages after it
    ends: bool = False  # nothing is said after it


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("set_language", args=frozenset({"language"})),
        ActionSpec("safe_exit", ends=True),
        ActionSpec(
            "handoff",
            outcomes=frozenset({"queued", "offline", "closed"}),
            args=frozenset({"reason"}),
            sets=frozenset({"queue_position", "opening_hours"}),
        ),
        # Her place and everything derived from it (the results, the place's name)
        # are `_` variables: used for the messages of this step, never saved.
        # Only the ids of the services listed are kept, for send_address.
        ActionSpec(
            "find_shelters",
            outcomes=frozenset({"found", "ambiguous", "not_found", "nothing_near"}),
            sets=frozenset({"_shelters", "_place", "_choices", "_country", "shelter_ids"}),
        ),
        ActionSpec(
            "send_address", outcomes=frozenset({"sent", "none"}), sets=frozenset({"_address"})
        ),
        ActionSpec("end", ends=True),
    )
}


@dataclass(frozen=True)
class Condition:
    """`if:` of a branch: every key must hold. Keys: channel, language, or
    var.NAME; values: one value or a list of accepted values."""

    checks: tuple[tuple[str, frozenset[str]], ...]

    def holds(self, channel: str, language: str, variables: dict[str, Any]) -> bool:
        for key, accepted in self.checks:
            if key == "channel":
                value = channel
            elif key == "language":
                value = language
            else:
                value = variables.get(key[4:])
                value = "" if value is None else str(value)
            if value not in accepted:
                return False
        return True


@dataclass(frozen=True)
class Target:
    flow: str
    state: str
    bare: bool = field(default=False, compare=False)  # written as one name, not flow.state

    def __str__(self) -> str:
        return f"{self.flow}.{self.state}"


@dataclass(frozen=True)
class Branch:
    target: Target | None
    condition: Condition | None = None


@dataclass(frozen=True)
class ActionCall:
    name: str
    args: tuple[tuple[str, str], ...] = ()

    def arg(self, key: str, default: str | None = None) -> str | None:
        return dict(self.args).get(key, default)


@dataclass(frozen=True)
class Option:
    number: int
    label: str
    keywords: str | None  # comma-separated, translatable
    branches: tuple[Branch, ...]
    actions: tuple[ActionCall, ...]
    sets: tuple[tuple[str, str], ...] = ()  # variables the choice sets, e.g. need: shelter


@dataclass(frozen=True)
class Input:
    save_as: str | None
    branches: tuple[Branch, ...]
    text: bool
    location: bool


@dataclass
class State:
    flow: str
    name: str
    say: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    input: Input | None = None
    actions: tuple[ActionCall, ...] = ()
    on: dict[str, tuple[Branch, ...]] = field(default_factory=dict)
    next: tuple[Branch, ...] = ()
    languages: tuple[Branch, ...] = ()  # a generated menu of every shipped language
    reprompt: str | None = None
    final: bool = False

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.name}"

    @property
    def waits(self) -> bool:
        """True when the state waits for the person's next message."""
        return bool(self.options or self.input or self.languages) or (self.final and not self.next)


@dataclass
class Flow:
    name: str
    file: str
    start: str
    states: dict[str, State]
    machine: Any = None  # transitions.Machine, built by bot.conversation.engine


@dataclass(frozen=True)
class Settings:
    start: Target
    menu: Target
    language: Target
    human: Target
    idle_timeout_seconds: int
    emergency_number: str
    keywords: dict[str, str]  # kind -> comma-separated English source words
    queue_aging_minutes: float
    opening_hours: dict[str, Any]
    messages: dict[str, str]  # the engine's and runtime's own texts, translatable
    canned: dict[str, str] = field(default_factory=dict)  # counsellors' canned responses


@dataclass
class FlowSet:
    directory: Path
    settings: Settings
    flows: dict[str, Flow]
    version: str
    sources: dict[str, Source] = field(default_factory=dict)

    def state(self, flow: str, name: str) -> State | None:
        f = self.flows.get(flow)
        return f.states.get(name) if f else None

    def messages(self) -> list[tuple[str, Source, tuple]]:
        """Every translatable string with where it is: for the extractor and checks."""
        found: list[tuple[str, Source, tuple]] = []
        for source in self.sources.values():
            found.extend(_strings_of(source))
        return found


class FlowSetError(Exception):
    def __init__(self, issues: list[Issue]):
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


# --------------------------------------------------------------------------- loading


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
_SETTINGS_KEYS = {
    "start",
    "menu",
    "language",
    "human",
    "idle_timeout_minutes",
    "emergency_number",
    "keywords",
    "queue",
    "opening_hours",
    "messages",
    "canned",
    "description",
}
# Texts the runtime says outside any flow state; settings.yaml must give each.
SETTINGS_MESSAGES = {
    "reprompt": "an answer was not understood; the state's menu follows",
    "location_not_here": "a location was sent where none is asked for",
    "unsupported": "a sticker, photo, voice message or other non-text message arrived",
    "too_long": "a message longer than the channel allows arrived",
    "send_location": "label of the button that shares the location (Telegram)",
    "emergency": "a message matched a critical risk phrase (said before the handoff)",
    "queue_position": "she writes again while waiting for a counsellor",
    "blocked": "a sender blocked by a supervisor writes (a neutral answer)",
    # Pieces of the shelter search's answers (bot/shelter_flow.py): needed only
    # when a flow uses find_shelters or send_address.
    "shelter_near_place": "heading of the results near a typed place",
    "shelter_near_you": "heading of the results near a shared location",
    "shelter_result": "first line of one result: its number, name and distance",
    "shelter_result_national": "first line of one national helpline: its number and name",
    "shelter_distance": "a distance in kilometres",
    "shelter_phone": "a service's phone number",
    "shelter_languages": "the languages a service speaks",
    "shelter_kind_shelter": "what a shelter is called in a result",
    "shelter_kind_counselling": "what a counselling centre is called in a result",
    "shelter_kind_legal_aid": "what a legal aid service is called in a result",
    "shelter_kind_health": "what a health service is called in a result",
    "shelter_kind_helpline": "what a helpline is called in a result",
    "shelter_service_women_only": "a service for women only",
    "shelter_service_children_accepted": "a service that takes children too",
    "shelter_service_trafficking_specialist": "a service specialised in trafficking and exploitation",
    "shelter_service_open_24h": "a service open day and night",
    "shelter_service_wheelchair_access": "a service with wheelchair access",
    "shelter_example": "the results are example data, not real services",
    "shelter_example_short": "one result is example data (short mark)",
    "shelter_national": "heading of a country's helplines",
    "shelter_write_town": "after a country's helplines: how to find the nearest services",
    "shelter_nothing_near": "nothing of the kind she needs is within reach",
    "shelter_no_services": "the list has nothing at all for the country she named",
    "shelter_unavailable": "the search cannot be done right now",
    "shelter_address": "one address she asked to be sent",
}
# Placeholders a runtime message may use besides the builtins, filled in by the runtime.
MESSAGE_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "shelter_near_place": frozenset({"place"}),
    "shelter_result": frozenset({"number", "name", "distance"}),
    "shelter_result_national": frozenset({"number", "name"}),
    "shelter_distance": frozenset({"km"}),
    "shelter_phone": frozenset({"phone"}),
    "shelter_languages": frozenset({"languages"}),
    "shelter_national": frozenset({"country"}),
    "shelter_nothing_near": frozenset({"distance"}),
    "shelter_address": frozenset({"name", "address"}),
}
# Messages required only when a flow uses one of these actions.
ACTION_MESSAGES = {"shelter_": frozenset({"find_shelters", "send_address"})}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VAR = re.compile(r"^_?[a-z][a-z0-9_]*$")


def _strings_of(source: Source) -> list[tuple[str, Source, tuple]]:
    """Paths of the translatable strings of a flow or settings file."""
    data = source.data if isinstance(source.data, dict) else {}
    found: list[tuple[str, Source, tuple]] = []

    def add(value: Any, path: tuple) -> None:
        if isinstance(value, str) and value.strip():
            found.append((value.strip(), source, path))

    if source.file.endswith(SETTINGS_FILE):
        for kind, words in (data.get("keywords") or {}).items():
            add(words, ("keywords", kind))
        for key, text in (data.get("messages") or {}).items():
            add(text, ("messages", key))
        for key, text in (data.get("canned") or {}).items():
            add(text, ("canned", key))
        return found
    for name, state in (data.get("states") or {}).items():
        if not isinstance(state, dict):
            continue
        say = state.get("say")
        for i, text in enumerate(say if isinstance(say, list) else [say]):
            add(
                text,
                ("states", name, "say", i) if isinstance(say, list) else ("states", name, "say"),
            )
        add(state.get("reprompt"), ("states", name, "reprompt"))
        for i, option in enumerate(state.get("menu") or []):
            if isinstance(option, dict):
                add(option.get("label"), ("states", name, "menu", i, "label"))
                add(option.get("keywords"), ("states", name, "menu", i, "keywords"))
    return found


def _unknown_keys(
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
            issues.append(src.issue((*path, key, "<key>"), f"unknown key {key!r} in {what}{hint}"))
    return issues


def _placeholders(text: str) -> set[str]:
    try:
        return {
            name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(text)
            if name
        }
    except ValueError:
        return {"{"}


def split_words(words: str) -> list[str]:
    """ "EXIT, Leave" -> ["EXIT", "Leave"]: keyword lists are comma-separated."""
    return [w.strip() for w in re.split(r"[,،、，;]", words) if w.strip()]


class _Loader:
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
                src.issue(path, "a target must be a state name, a flow name or flow.state")
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
                        src.issue(p, "each branch needs `go:` (and optionally `if:`)")
                    )
                    continue
                self.issues.extend(_unknown_keys(src, item, {"if", "go"}, p, "a branch"))
                cond = (
                    self.parse_condition(src, item.get("if"), (*p, "if")) if "if" in item else None
                )
                branches.append(Branch(self.parse_target(src, item["go"], (*p, "go"), flow), cond))
            if branches and branches[-1].condition is not None:
                self.issues.append(
                    src.issue(
                        path,
                        "the last branch must have no `if:` so that some branch always applies",
                    )
                )
            return tuple(branches)
        return (Branch(self.parse_target(src, value, path, flow)),)

    def parse_condition(self, src: Source, value: Any, path: tuple) -> Condition | None:
        if not isinstance(value, dict) or not value:
            self.issues.append(src.issue(path, "`if:` takes a mapping such as {channel: sms}"))
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
                    src.issue(p, "`do:` takes an action name, or {action: NAME, ARG: value}")
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
                self.issues.append(src.issue(p, f"unknown action {name!r}{hint}"))
                continue
            for arg in args:
                if arg not in spec.args:
                    self.issues.append(
                        src.issue((*p, arg, "<key>"), f"action {name!r} takes no argument {arg!r}")
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

    def load_flow(self, path: Path) -> Flow | None:
        src = self.load_source(path)
        if src is None:
            return None
        data = src.data
        if not isinstance(data, dict):
            self.issues.append(src.issue((), "a flow file is a mapping with `flow:` and `states:`"))
            return None
        self.issues.extend(_unknown_keys(src, data, _FLOW_KEYS, (), "a flow"))
        name = data.get("flow")
        if not isinstance(name, str) or not _NAME.match(name):
            self.issues.append(
                src.issue(
                    ("flow",), "`flow:` must name the flow in lower case, e.g. `flow: rights`"
                )
            )
            return None
        states_data = data.get("states")
        if not isinstance(states_data, dict) or not states_data:
            self.issues.append(src.issue(("states",), f"flow {name!r} has no states"))
            return None
        states: dict[str, State] = {}
        for state_name, body in states_data.items():
            p = ("states", state_name)
            if not _NAME.match(state_name):
                self.issues.append(
                    src.issue(
                        (*p, "<key>"), f"state name {state_name!r}: use lower case, digits and _"
                    )
                )
            if not isinstance(body, dict):
                self.issues.append(
                    src.issue(p, f"state {state_name!r} must be a mapping (say:, menu:, ...)")
                )
                continue
            states[state_name] = self.load_state(src, name, state_name, body, p)
        start = data.get("start", next(iter(states_data)))
        if start not in states_data:
            self.issues.append(
                src.issue(("start",), f"start state {start!r} is not a state of flow {name!r}")
            )
        return Flow(name, src.file, start, states)

    def load_state(self, src: Source, flow: str, name: str, body: dict, p: tuple) -> State:
        self.issues.extend(_unknown_keys(src, body, _STATE_KEYS, p, f"state {name!r}"))
        state = State(flow, name)
        say = body.get("say")
        if say is not None:
            says = say if isinstance(say, list) else [say]
            if not all(isinstance(s, str) and s.strip() for s in says):
                self.issues.append(src.issue((*p, "say"), "`say:` takes a text or a list of texts"))
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
                    src.issue((*p, "on"), "`on:` maps each outcome of the action to a target")
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
                self.issues.append(src.issue((*p, "reprompt"), "`reprompt:` takes a text"))
            else:
                state.reprompt = body["reprompt"].strip()
        if "final" in body:
            if not isinstance(body["final"], bool):
                self.issues.append(src.issue((*p, "final"), "`final:` takes true or false"))
            state.final = body["final"] is True
        return state

    def load_menu(self, src: Source, flow: str, menu: Any, p: tuple) -> tuple[Option, ...]:
        if not isinstance(menu, list) or not menu:
            self.issues.append(
                src.issue(p, "menu without options: list at least one option with a label")
            )
            return ()
        options = []
        for i, item in enumerate(menu):
            op = (*p, i)
            if not isinstance(item, dict):
                self.issues.append(
                    src.issue(op, "a menu option is a mapping with `label:` and `go:` or `do:`")
                )
                continue
            self.issues.extend(_unknown_keys(src, item, _OPTION_KEYS, op, "a menu option"))
            label = item.get("label")
            if not isinstance(label, str) or not label.strip():
                self.issues.append(src.issue(op, "a menu option needs a `label:` text"))
                label = "?"
            keywords = item.get("keywords")
            if isinstance(keywords, list):
                keywords = ", ".join(str(k) for k in keywords)
            if keywords is not None and not isinstance(keywords, str):
                self.issues.append(
                    src.issue((*op, "keywords"), "`keywords:` takes words separated by commas")
                )
                keywords = None
            if "go" not in item and "do" not in item:
                self.issues.append(
                    src.issue(op, f"option {label!r} needs `go:` (where to) or `do:` (an action)")
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
                        )
                    )
            sets = item.get("set") or {}
            if not isinstance(sets, dict) or not all(
                isinstance(k, str) and _VAR.match(k) for k in sets
            ):
                self.issues.append(
                    src.issue(
                        (*op, "set"), "`set:` takes variable names and values, e.g. {need: shelter}"
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
                src.issue(p, "`input:` needs `go:` (and optionally save_as:, accepts:)")
            )
            return None
        self.issues.extend(_unknown_keys(src, spec, _INPUT_KEYS, p, "input"))
        save_as = spec.get("save_as")
        if save_as is not None and (not isinstance(save_as, str) or not _VAR.match(save_as)):
            self.issues.append(
                src.issue((*p, "save_as"), "`save_as:` takes a variable name such as _place")
            )
            save_as = None
        accepts = spec.get("accepts", ["text"])
        accepts = accepts if isinstance(accepts, list) else [accepts]
        for kind in accepts:
            if kind not in ("text", "location"):
                self.issues.append(
                    src.issue((*p, "accepts"), f"unknown input kind {kind!r}: use text or location")
                )
        branches = self.parse_branches(src, spec["go"], (*p, "go"), flow)
        return Input(save_as, branches, "text" in accepts, "location" in accepts)

    def load_settings(self, path: Path) -> Settings | None:
        src = self.load_source(path)
        if src is None:
            return None
        data = src.data
        if not isinstance(data, dict):
            self.issues.append(
                src.issue((), "settings.yaml is a mapping (start:, menu:, keywords:, ...)")
            )
            return None
        self.issues.extend(_unknown_keys(src, data, _SETTINGS_KEYS, (), "settings"))
        targets = {}
        for key in ("start", "menu", "language", "human"):
            if key not in data:
                self.issues.append(
                    src.issue((), f"settings.yaml needs `{key}:` (a flow name or flow.state)")
                )
                targets[key] = Target("?", "?")
            else:
                targets[key] = self.parse_target(src, data[key], (key,), "") or Target("?", "?")
        keywords = data.get("keywords")
        kw: dict[str, str] = {}
        if not isinstance(keywords, dict):
            self.issues.append(
                src.issue(
                    ("keywords",),
                    "settings.yaml needs `keywords:` for exit, human, language and menu",
                )
            )
        else:
            self.issues.extend(
                _unknown_keys(src, keywords, set(GLOBAL_KEYWORDS), ("keywords",), "keywords")
            )
            for kind in GLOBAL_KEYWORDS:
                words = keywords.get(kind)
                if isinstance(words, list):
                    words = ", ".join(str(w) for w in words)
                if not isinstance(words, str) or not split_words(words):
                    self.issues.append(
                        src.issue(("keywords", kind), f"keywords.{kind} needs at least one word")
                    )
                    continue
                kw[kind] = words
        idle = data.get("idle_timeout_minutes", 30)
        if not isinstance(idle, int | float) or isinstance(idle, bool) or idle <= 0:
            self.issues.append(
                src.issue(
                    ("idle_timeout_minutes",),
                    "idle_timeout_minutes takes a number of minutes above 0",
                )
            )
            idle = 30
        emergency = str(data.get("emergency_number", "112"))
        queue = data.get("queue") or {}
        aging = queue.get("aging_minutes", 5) if isinstance(queue, dict) else 5
        if not isinstance(aging, int | float) or isinstance(aging, bool) or aging <= 0:
            self.issues.append(
                src.issue(
                    ("queue", "aging_minutes"),
                    "queue.aging_minutes takes a number of minutes above 0",
                )
            )
            aging = 5
        hours = data.get("opening_hours") or {}
        if not isinstance(hours, dict):
            self.issues.append(
                src.issue(("opening_hours",), "opening_hours is a mapping (see flows/README.md)")
            )
            hours = {}
        messages_data = data.get("messages")
        messages: dict[str, str] = {}
        if not isinstance(messages_data, dict):
            self.issues.append(
                src.issue(
                    ("messages",),
                    f"settings.yaml needs `messages:` with {', '.join(SETTINGS_MESSAGES)}",
                )
            )
        else:
            self.issues.extend(
                _unknown_keys(src, messages_data, set(SETTINGS_MESSAGES), ("messages",), "messages")
            )
            for key, meaning in SETTINGS_MESSAGES.items():
                text = messages_data.get(key)
                if key.startswith(tuple(ACTION_MESSAGES)) and key not in messages_data:
                    continue  # required only with their actions: _Checker.check_action_messages
                if not isinstance(text, str) or not text.strip():
                    self.issues.append(
                        src.issue(
                            ("messages",),
                            f"messages.{key} is missing: the text said when {meaning}",
                        )
                    )
                else:
                    messages[key] = text.strip()
        canned = data.get("canned") or {}
        if not isinstance(canned, dict) or not all(
            isinstance(v, str) and v.strip() for v in canned.values()
        ):
            self.issues.append(
                src.issue(("canned",), "canned: maps a name to a text counsellors can send")
            )
            canned = {}
        return Settings(
            canned={k: v.strip() for k, v in canned.items()},
            start=targets["start"],
            menu=targets["menu"],
            language=targets["language"],
            human=targets["human"],
            idle_timeout_seconds=int(idle * 60),
            emergency_number=emergency,
            keywords=kw,
            queue_aging_minutes=float(aging),
            opening_hours=hours,
            messages=messages,
        )


# --------------------------------------------------------------------------- checks


def _resolve(flows: dict[str, Flow], target: Target) -> Target | None:
    """`go: x` names a state of the current flow first, then a flow (its start);
    `go: flow.state` names a state of another flow."""
    flow = flows.get(target.flow)
    if flow and target.state in flow.states:
        return Target(target.flow, target.state)
    if target.bare and target.state in flows:
        return Target(target.state, flows[target.state].start)
    return None


class _Checker:
    def __init__(self, loader: _Loader, flows: dict[str, Flow], settings: Settings | None):
        self.loader = loader
        self.flows = flows
        self.settings = settings
        self.issues = loader.issues

    def src(self, flow: Flow) -> Source:
        return self.loader.sources[flow.file]

    def resolve_all(self) -> None:
        """Replace every target by a resolved flow.state, reporting unknown ones."""
        for flow in self.flows.values():
            src = self.src(flow)
            for state in flow.states.values():
                p = ("states", state.name)
                state.next = self._fix(src, flow, state.next, (*p, "next"))
                state.languages = self._fix(src, flow, state.languages, (*p, "languages"))
                state.on = {k: self._fix(src, flow, v, (*p, "on", k)) for k, v in state.on.items()}
                if state.input:
                    state.input = replace(
                        state.input,
                        branches=self._fix(src, flow, state.input.branches, (*p, "input", "go")),
                    )
                state.options = tuple(
                    replace(
                        o,
                        branches=self._fix(src, flow, o.branches, (*p, "menu", o.number - 1, "go")),
                    )
                    for o in state.options
                )

    def _fix(
        self, src: Source, flow: Flow, branches: tuple[Branch, ...], path: tuple
    ) -> tuple[Branch, ...]:
        fixed = []
        for i, branch in enumerate(branches):
            if branch.target is None:
                continue
            resolved = _resolve(self.flows, branch.target)
            if resolved is None:
                where = (*path, i, "go") if len(branches) > 1 or (*path, 0) in src.marks else path
                name = (
                    branch.target.state if branch.target.flow == flow.name else str(branch.target)
                )
                self.issues.append(
                    src.issue(
                        where,
                        f"unknown target {name!r}: no such state in flow {flow.name!r} and no such flow",
                    )
                )
                continue
            fixed.append(Branch(resolved, branch.condition))
        return tuple(fixed)

    def resolve_settings(self) -> None:
        if not self.settings:
            return
        src = next(s for f, s in self.loader.sources.items() if f.endswith(SETTINGS_FILE))
        resolved = {}
        for key in ("start", "menu", "language", "human"):
            t = _resolve(self.flows, getattr(self.settings, key))
            if t is None:
                self.issues.append(
                    src.issue(
                        (key,),
                        f"{key}: {getattr(self.settings, key).state!r} is not a flow or flow.state of this flow set",
                    )
                )
                t = Target("?", "?")
            resolved[key] = t
        object.__setattr__(self, "settings", Settings(**{**self.settings.__dict__, **resolved}))

    def check_states(self) -> None:
        for flow in self.flows.values():
            src = self.src(flow)
            for state in flow.states.values():
                p = ("states", state.name)
                has_way_on = (
                    state.waits
                    or state.next
                    or any(ACTIONS[a.name].outcomes for a in state.actions if a.name in ACTIONS)
                )
                ends = any(ACTIONS[a.name].ends for a in state.actions if a.name in ACTIONS)
                if not has_way_on and not ends and not state.final:
                    self.issues.append(
                        src.issue(
                            (*p, "<key>"),
                            f"state {state.name!r} is a dead end: give it a menu, input, next, or `final: true`",
                        )
                    )
                if state.next and (state.options or state.input or state.languages):
                    self.issues.append(
                        src.issue(
                            (*p, "next"),
                            f"state {state.name!r} has `next:` and also waits for an answer: keep one",
                        )
                    )
                with_outcomes = [
                    a for a in state.actions if a.name in ACTIONS and ACTIONS[a.name].outcomes
                ]
                if with_outcomes:
                    spec = ACTIONS[with_outcomes[0].name]
                    for outcome in spec.outcomes - set(state.on):
                        self.issues.append(
                            src.issue(
                                (*p, "do"),
                                f"action {spec.name!r} can end in {outcome!r}: add `on: {{{outcome}: TARGET}}`",
                            )
                        )
                    if with_outcomes[-1] is not state.actions[-1] or len(with_outcomes) > 1:
                        self.issues.append(
                            src.issue(
                                (*p, "do"),
                                f"action {spec.name!r} has outcomes: it must be the last action of the state",
                            )
                        )
                for outcome in state.on:
                    if not with_outcomes or outcome not in ACTIONS[with_outcomes[0].name].outcomes:
                        self.issues.append(
                            src.issue(
                                (*p, "on", outcome, "<key>"),
                                f"no action of state {state.name!r} ends in {outcome!r}",
                            )
                        )
                self.check_keywords(src, state, p)

    def check_keywords(self, src: Source, state: State, p: tuple) -> None:
        from bot.text.normalise import fold

        seen: dict[str, int] = {}
        for option in state.options:
            words = [option.label, *(split_words(option.keywords) if option.keywords else [])]
            for j, word in enumerate(words):
                key = fold(word)
                path = (*p, "menu", option.number - 1, "label" if j == 0 else "keywords")
                if key in TWILIO_OPT_OUT:
                    self.issues.append(
                        src.issue(
                            path,
                            f"{word!r} is a Twilio opt-out word: an SMS with it blocks the number; choose another word",
                        )
                    )
                if key in seen and seen[key] != option.number:
                    self.issues.append(
                        src.issue(
                            path,
                            f"duplicate keyword {word!r} in state {state.name!r}: options {seen[key]} and {option.number} both use it",
                        )
                    )
                seen.setdefault(key, option.number)

    def check_reachable(self) -> None:
        if not self.settings:
            return
        roots = [
            self.settings.start,
            self.settings.menu,
            self.settings.language,
            self.settings.human,
        ]
        seen: set[tuple[str, str]] = set()
        stack = [(t.flow, t.state) for t in roots if t.flow in self.flows]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            state = self.flows[key[0]].states.get(key[1])
            if state is None:
                continue
            branches = [*state.next, *state.languages, *(b for bs in state.on.values() for b in bs)]
            branches += [b for o in state.options for b in o.branches]
            branches += list(state.input.branches) if state.input else []
            stack.extend((b.target.flow, b.target.state) for b in branches if b.target)
        for flow in self.flows.values():
            for state in flow.states.values():
                if (flow.name, state.name) not in seen:
                    self.issues.append(
                        self.src(flow).issue(
                            ("states", state.name, "<key>"),
                            f"state {state.name!r} of flow {flow.name!r} is unreachable: nothing goes to it",
                        )
                    )

    def check_placeholders(self) -> None:
        known = set(BUILTIN_PLACEHOLDERS)
        for flow in self.flows.values():
            for state in flow.states.values():
                if state.input and state.input.save_as:
                    known.add(state.input.save_as)
                for action in state.actions:
                    known |= ACTIONS[action.name].sets if action.name in ACTIONS else set()
                for option in state.options:
                    known |= {name for name, _ in option.sets}
        for text, src, path in self.loader_messages():
            extra = (
                MESSAGE_PLACEHOLDERS.get(path[1], frozenset())
                if path[0] == "messages"
                else frozenset()
            )
            for name in _placeholders(text):
                if name == "{":
                    self.issues.append(
                        src.issue(path, "unbalanced { or }: write {{ and }} for a literal brace")
                    )
                elif name not in known and name not in extra:
                    self.issues.append(
                        src.issue(
                            path,
                            f"unknown placeholder {{{name}}}; known: {', '.join(sorted(known))}",
                        )
                    )

    def check_action_messages(self) -> None:
        """Messages needed by the actions the flows use (the shelter search's)."""
        if not self.settings:
            return
        used = {a.name for f in self.flows.values() for st in f.states.values() for a in st.actions}
        src = next(s for f, s in self.loader.sources.items() if f.endswith(SETTINGS_FILE))
        for prefix, actions in ACTION_MESSAGES.items():
            if not used & actions:
                continue
            for key, meaning in SETTINGS_MESSAGES.items():
                if key.startswith(prefix) and key not in self.settings.messages:
                    self.issues.append(
                        src.issue(
                            ("messages",),
                            f"messages.{key} is missing: the text said when "
                            f"{meaning} (the flows use {', '.join(sorted(used & actions))})",
                        )
                    )

    def loader_messages(self):
        for src in self.loader.sources.values():
            yield from _strings_of(src)


def flow_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.glob("*.y*ml")
        if p.name != SETTINGS_FILE and p.suffix in (".yaml", ".yml")
    )


def load_flowset(directory: Path) -> tuple[FlowSet | None, list[Issue]]:
    """Load and check every flow of `directory`. Returns (flowset, issues); the
    flowset is None when any issue is an error."""
    directory = Path(directory)
    loader = _Loader(directory)
    if not directory.is_dir():
        return None, [Issue(str(directory), 1, 1, "not a directory of flows")]
    settings_path = directory / SETTINGS_FILE
    settings = None
    if settings_path.exists():
        settings = loader.load_settings(settings_path)
    else:
        loader.issues.append(
            Issue(
                loader.display(settings_path),
                1,
                1,
                "missing settings.yaml: it names the start flow and the global keywords",
            )
        )
    flows: dict[str, Flow] = {}
    for path in flow_files(directory):
        flow = loader.load_flow(path)
        if flow is None:
            continue
        if flow.name in flows:
            loader.issues.append(
                loader.sources[flow.file].issue(
                    ("flow",), f"flow {flow.name!r} is also defined in {flows[flow.name].file}"
                )
            )
            continue
        flows[flow.name] = flow
    if not flows and not any(i.severity == "error" for i in loader.issues):
        loader.issues.append(
            Issue(loader.display(directory), 1, 1, "no flow files (*.yaml) in this directory")
        )
    checker = _Checker(loader, flows, settings)
    unreadable = any(i.severity == "error" for i in loader.issues)
    checker.resolve_all()
    if (
        not unreadable
    ):  # a flow file that failed to load would make every reference to it look wrong
        checker.resolve_settings()
    checker.check_states()
    if not unreadable:
        checker.check_reachable()
    checker.check_placeholders()
    checker.check_action_messages()
    issues = sorted(set(loader.issues))
    if any(i.severity == "error" for i in issues) or checker.settings is None or unreadable:
        return None, issues
    digest = hashlib.sha256()
    for src in sorted(loader.sources.values(), key=lambda s: s.file):
        digest.update(src.file.encode() + b"\0" + "\n".join(src.lines).encode())
    flowset = FlowSet(directory, checker.settings, flows, digest.hexdigest()[:12], loader.sources)
    return flowset, issues
