"""Checks of a whole flow set: targets resolve, states are reachable, messages
have their placeholders and translations of what the runtime says."""

from __future__ import annotations

from dataclasses import replace

from bot.flows.parse import FlowParser
from bot.flows.schema import (
    ACTION_MESSAGES,
    ACTIONS,
    BUILTIN_PLACEHOLDERS,
    MESSAGE_PLACEHOLDERS,
    PROVIDER_WORDS,
    SETTINGS_FILE,
    SETTINGS_MESSAGES,
    TWILIO_OPT_OUT,
    Branch,
    Flow,
    FlowSettings,
    State,
    Target,
    placeholders,
    provider_words_asked,
    split_words,
    strings_of,
)
from bot.sources import Source
from bot.text.normalise import fold


def _resolve(flows: dict[str, Flow], target: Target) -> Target | None:
    """`go: x` names a state of the current flow first, then a flow (its start);
    `go: flow.state` names a state of another flow."""
    flow = flows.get(target.flow)
    if flow and target.state in flow.states:
        return Target(target.flow, target.state)
    if target.bare and target.state in flows:
        return Target(target.state, flows[target.state].start)
    return None


class FlowChecker:
    def __init__(self, loader: FlowParser, flows: dict[str, Flow], settings: FlowSettings | None):
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
                        code="unknown-target",
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
        for key in ("start", "menu", "language", "human", "offer"):
            t = _resolve(self.flows, getattr(self.settings, key))
            if t is None:
                self.issues.append(
                    src.issue(
                        (key,),
                        f"{key}: {getattr(self.settings, key).state!r} is not a flow or flow.state of this flow set",
                        code="unknown-target",
                    )
                )
                t = Target("?", "?")
            resolved[key] = t
        object.__setattr__(self, "settings", FlowSettings(**{**self.settings.__dict__, **resolved}))

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
                            code="dead-end",
                        )
                    )
                if state.next and (state.options or state.input or state.languages):
                    self.issues.append(
                        src.issue(
                            (*p, "next"),
                            f"state {state.name!r} has `next:` and also waits for an answer: keep one",
                            code="next-and-wait",
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
                                code="unhandled-outcome",
                            )
                        )
                    if with_outcomes[-1] is not state.actions[-1] or len(with_outcomes) > 1:
                        self.issues.append(
                            src.issue(
                                (*p, "do"),
                                f"action {spec.name!r} has outcomes: it must be the last action of the state",
                                code="outcome-not-last",
                            )
                        )
                for outcome in state.on:
                    if not with_outcomes or outcome not in ACTIONS[with_outcomes[0].name].outcomes:
                        self.issues.append(
                            src.issue(
                                (*p, "on", outcome, "<key>"),
                                f"no action of state {state.name!r} ends in {outcome!r}",
                                code="unknown-outcome",
                            )
                        )
                self.check_keywords(src, state, p)

    def check_keywords(self, src: Source, state: State, p: tuple) -> None:
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
                            code="provider-word",
                        )
                    )
                if key in seen and seen[key] != option.number:
                    self.issues.append(
                        src.issue(
                            path,
                            f"duplicate keyword {word!r} in state {state.name!r}: options {seen[key]} and {option.number} both use it",
                            code="duplicate-keyword",
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
            self.settings.offer,
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
                            code="unreachable-state",
                        )
                    )

    def check_provider_words(self) -> None:
        """The bot never asks her to send a word the SMS provider answers itself:
        not as the word shown for a global keyword, not in any text."""
        for text, src, path in self.loader_messages():
            if path[0] == "keywords":
                shown = split_words(text)[0] if split_words(text) else ""
                if fold(shown) in PROVIDER_WORDS:
                    self.issues.append(
                        src.issue(
                            path,
                            f"{shown!r} is shown to people as the {path[1]} keyword, but the SMS "
                            "provider answers it itself (opt-out, opt-in or help): put another word first",
                            code="provider-word",
                        )
                    )
                continue
            for word in provider_words_asked(text):
                self.issues.append(
                    src.issue(
                        path,
                        f"{word!r} is a word the SMS provider answers itself (opt-out, opt-in or "
                        "help): never ask people to send it",
                        code="provider-word",
                    )
                )

    def checkplaceholders(self) -> None:
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
            for name in placeholders(text):
                if name == "{":
                    self.issues.append(
                        src.issue(
                            path,
                            "unbalanced { or }: write {{ and }} for a literal brace",
                            code="bad-placeholder",
                        )
                    )
                elif name not in known and name not in extra:
                    self.issues.append(
                        src.issue(
                            path,
                            f"unknown placeholder {{{name}}}; known: {', '.join(sorted(known))}",
                            code="unknown-placeholder",
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
                            code="missing-message",
                        )
                    )

    def loader_messages(self):
        for src in self.loader.sources.values():
            yield from strings_of(src)
