"""The conversation engine: pure, no Redis, no HTTP.

A conversation's state and one event go in; the new state and the effects come
out: replies to say, and actions for the runtime (safe exit, handoff, shelter
search...). An action with outcomes pauses the step; the runtime performs it and
calls `resume` with the outcome. The runtime (bot/runtime/) loads and saves
the state around each call.

One `transitions.Machine` per flow is built when the flow set loads and shared
by every conversation: before each trigger the flow's single model object is set
to the conversation's state, and read back after. Building a Machine per
conversation would cost a millisecond and ~150 KB each (benchmarks/engine.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from transitions import Machine
from transitions.core import EventData

from bot.conversation.matching import OptionNames
from bot.conversation.model import (
    MAX_CHAIN,
    MODE_BOT,
    MODE_ENDED,
    Context,
    Conversation,
    Event,
    Reading,
    Reply,
    StepResult,
    Translator,
)
from bot.conversation.texts import Texts
from bot.flows.schema import (
    ACTIONS,
    ActionCall,
    Branch,
    Flow,
    FlowSet,
    State,
    Target,
    split_words,
)
from bot.text.normalise import as_number, fold

# transitions logs every trigger at DEBUG; formatting those costs more than the step.
logging.getLogger("transitions").setLevel(logging.WARNING)


class _Cursor:
    """The single model object of a flow's Machine."""

    state: str


class Engine:
    """Runs a loaded FlowSet. Build one per (flow set, catalogs); keep it while
    they do not change."""

    def __init__(
        self, flowset: FlowSet, translator: Translator | None = None, retention_days: int = 30
    ):
        self.flowset = flowset
        self.settings = flowset.settings
        self.translator = translator or Translator()
        self.texts = Texts(self.settings, self.translator, retention_days)
        self._cursors: dict[str, _Cursor] = {}
        for flow in flowset.flows.values():
            self._build_machine(flow)
        self._keyword_index = self._build_keyword_index()
        self._options_named = OptionNames(self.translator)
        self._language_index: dict[str, str] = {}
        self._menus: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        for code in self.translator.languages:
            for alias in self.translator.language_aliases(code) | {
                self.translator.language_name(code)
            }:
                self._language_index[fold(alias)] = code

    # ------------------------------------------------------------------ build

    @staticmethod
    def trigger_names(state: State) -> list[tuple[str, tuple[Branch, ...]]]:
        names = [(f"opt{o.number}", o.branches) for o in state.options if o.branches]
        if state.input:
            names.append(("input", state.input.branches))
        if state.next:
            names.append(("next", state.next))
        if state.languages:
            names.append(("lang", state.languages))
        names.extend((f"on:{outcome}", branches) for outcome, branches in state.on.items())
        return names

    def machine_spec(self, flow: Flow) -> dict[str, Any]:
        """The states and transitions of `flow`'s Machine: every trigger of every
        state, branches in order (the first whose `if:` holds wins); targets in other
        flows are states named "@flow.state"."""

        def name_of(target: Target) -> str:
            return target.state if target.flow == flow.name else f"@{target}"

        transitions: list[dict[str, Any]] = []
        external: set[str] = set()
        for state in flow.states.values():
            for trigger, branches in self.trigger_names(state):
                for branch in branches:
                    # A loaded flow set has no branch without a target: FlowChecker
                    # drops those, with an error that keeps the flow set from loading.
                    assert branch.target is not None
                    dest = name_of(branch.target)
                    if dest.startswith("@"):
                        external.add(dest)
                    spec: dict[str, Any] = {"trigger": trigger, "source": state.name, "dest": dest}
                    if branch.condition is not None:
                        spec["conditions"] = [_condition(branch.condition)]
                    transitions.append(spec)
        return {
            "states": [*flow.states, *sorted(external)],
            "transitions": transitions,
            "initial": flow.start,
            "auto_transitions": False,
            "send_event": True,
        }

    def _build_machine(self, flow: Flow) -> None:
        cursor = _Cursor()
        flow.machine = Machine(model=cursor, **self.machine_spec(flow))
        self._cursors[flow.name] = cursor

    def _build_keyword_index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for kind, words in self.settings.keywords.items():
            for language in self.translator.languages:
                for word in split_words(self.translator.text(language, words)):
                    index.setdefault(fold(word), kind)
        return index

    # ------------------------------------------------------------------ API

    def global_keyword(self, text: str) -> str | None:
        """'exit', 'human', 'language' or 'menu' when the whole message is one of
        their words in any shipped language, else None."""
        if not text or len(text) > 40:
            return None
        return self._keyword_index.get(fold(text))

    def keyword(self, kind: str, language: str) -> str:
        """The first word of a global keyword, in `language`: shown to the person."""
        return self.texts.keyword(kind, language)

    def new_conversation(self, ctx: Context, language: str | None = None) -> Conversation:
        """A conversation at the start; `language_guessed` (a variable flows may
        test) says her language was guessed, not given by her app or her words."""
        start = self.settings.start
        conv = Conversation(
            start.flow, start.state, language or ctx.language, version=self.flowset.version
        )
        if ctx.language_guessed and language is None:
            conv.variables["language_guessed"] = "yes"
        return conv

    def read(self, conv: Conversation | None, event: Event) -> Reading:
        """What `event` is to `conv` (None for a first contact) before any step:
        the global keyword it is, the label of the button it taps, whether it
        answers an input that is never stored."""
        if event.kind == "text":
            keyword = self.global_keyword(event.text)
            if keyword is not None or conv is None:
                return Reading(keyword=keyword)
            state = self.flowset.state(conv.flow, conv.state)
            save_as = state.input.save_as if state and state.input else None
            return Reading(transient=bool(save_as and save_as.startswith("_")))
        if event.kind == "button":
            return Reading(label=self._button_label(event.payload, conv))
        return Reading()

    def _button_label(self, payload: str, conv: Conversation | None) -> str | None:
        key, _, choice = payload.rpartition("#")
        flow, _, state_name = key.partition(".")
        state = self.flowset.state(flow, state_name)
        if state is None:
            return None
        if choice.startswith("lang:"):
            return self.translator.language_name(choice[5:])
        if choice.isdigit() and 1 <= int(choice) <= len(state.options):
            label = state.options[int(choice) - 1].label
            return self.translator.text(conv.language if conv else "en", label)
        return None

    def step(self, conv: Conversation | None, event: Event, ctx: Context) -> StepResult:
        """Advance `conv` (None for a first contact) by one event."""
        keyword = self.global_keyword(event.text) if event.kind == "text" else None
        if keyword == "exit":
            conv = conv or self.new_conversation(ctx)
            return StepResult(conv, [ActionCall("safe_exit")])
        fresh = (
            conv is None
            or conv.mode == MODE_ENDED
            or event.kind == "start"  # Telegram's /start, a new web page: the welcome again
            or ctx.now - conv.updated_at > self.settings.idle_timeout_seconds
        )
        if fresh:
            chosen = conv is not None and conv.language_chosen
            conv = self.new_conversation(
                ctx, conv.language if conv is not None and chosen else None
            )
            conv.language_chosen = chosen
            result = StepResult(conv)
            self._enter(conv, self.settings.start, ctx, result, 0)
            if keyword == "human" and result.pending is None:
                # She asked for a person in her very first message: the welcome still
                # says it is confidential and how to leave, then the handoff begins.
                result.effects = [
                    Reply(e.text) if isinstance(e, Reply) else e for e in result.effects
                ]
                self._enter(conv, self.settings.human, ctx, result, 0)
            return self._finish(result, ctx)
        assert conv is not None  # a first contact (None) is `fresh`, handled above
        conv = Conversation(
            conv.flow,
            conv.state,
            conv.language,
            dict(conv.variables),
            conv.mode,
            conv.updated_at,
            self.flowset.version,
            conv.language_chosen,
        )
        result = StepResult(conv)
        if keyword in ("human", "menu", "language"):
            target = getattr(self.settings, keyword)
            self._enter(conv, target, ctx, result, 0)
            return self._finish(result, ctx)
        state = self.flowset.state(conv.flow, conv.state)
        if state is None:  # the flows changed under this conversation
            self._enter(conv, self.settings.menu, ctx, result, 0)
            return self._finish(result, ctx)
        if event.kind == "button" and "#" in event.payload:
            key, _, _ = event.payload.rpartition("#")
            flow_name, _, state_name = key.partition(".")
            tapped = self.flowset.state(flow_name, state_name)
            if tapped is not None and tapped is not state:  # a button of an earlier message
                conv.flow, conv.state, state = flow_name, state_name, tapped
        if state.final and not (state.options or state.input or state.languages):
            self._enter(conv, self.settings.menu, ctx, result, 0)
            return self._finish(result, ctx)
        choice = self._match(state, conv, event)
        if choice is None:
            result.understood = False
            self._reprompt(state, conv, ctx, result, event)
            return self._finish(result, ctx)
        trigger, option = choice
        if option is not None:
            conv.variables.update(option.sets)
            for action in option.actions:
                self._act(action, conv, ctx, result)
        if trigger:
            self._fire(conv, trigger, ctx, result, 0)
        elif option is not None and not result.pending:
            self._show_menu(state, conv, ctx, result)
        return self._finish(result, ctx)

    def resume(
        self,
        conv: Conversation,
        outcome: str,
        ctx: Context,
        variables: dict[str, Any] | None = None,
    ) -> StepResult:
        """Continue after the pending action of the current state ended in `outcome`."""
        conv = replace(conv, variables={**conv.variables, **(variables or {})})
        result = StepResult(conv)
        state = self.flowset.state(conv.flow, conv.state)
        if state is None or outcome not in state.on:
            self._enter(conv, self.settings.menu, ctx, result, 0)
        else:
            self._fire(conv, f"on:{outcome}", ctx, result, 0)
        return self._finish(result, ctx)

    def enter(self, conv: Conversation, target: Target, ctx: Context) -> StepResult:
        """Put `conv` in `target` and say what that state says (e.g. the main menu
        after a counsellor returns the person to the bot)."""
        conv = replace(conv, variables=dict(conv.variables), mode=MODE_BOT)
        result = StepResult(conv)
        self._enter(conv, target, ctx, result, 0)
        return self._finish(result, ctx)

    def render(self, msgid: str, conv: Conversation, extra: dict[str, Any] | None = None) -> str:
        """Translate `msgid` into the conversation's language and fill its placeholders."""
        return self.texts.render(conv.language, msgid, {**conv.variables, **(extra or {})})

    def render_in(self, language: str, msgid: str) -> str:
        """`msgid` in `language`, with the built-in placeholders only (texts said
        outside any conversation, such as the web chat page's)."""
        return self.texts.render(language, msgid, {})

    # ------------------------------------------------------------------ internals

    def _finish(self, result: StepResult, ctx: Context) -> StepResult:
        result.conversation.updated_at = ctx.now
        return result

    def _fire(
        self, conv: Conversation, trigger: str, ctx: Context, result: StepResult, depth: int
    ) -> None:
        """Take `trigger` from the conversation's state through its flow's Machine:
        the first of the Machine's transitions for (trigger, state) whose
        conditions hold. This is what Event.trigger does; the flows register no
        callbacks, so the Machine's transition table is read directly, which
        keeps a step at a few microseconds instead of ~15 (benchmarks/engine.py)."""
        machine = self.flowset.flows[conv.flow].machine
        dest = None
        for transition in machine.events[trigger].transitions[conv.state]:
            if transition.conditions:
                data = EventData(
                    machine.get_state(conv.state),
                    machine.events[trigger],
                    machine,
                    self._cursors[conv.flow],
                    (),
                    {"conv": conv, "ctx": ctx},
                )
                if not all(c.check(data) for c in transition.conditions):
                    continue
            dest = transition.dest
            break
        if dest is None:
            raise RuntimeError(f"no transition of {conv.flow}.{conv.state} on {trigger} applies")
        if dest.startswith("@"):
            target_flow, _, target_state = dest[1:].partition(".")
            target = Target(target_flow, target_state)
        else:
            target = Target(conv.flow, dest)
        self._enter(conv, target, ctx, result, depth + 1)

    def _enter(
        self, conv: Conversation, target: Target, ctx: Context, result: StepResult, depth: int
    ) -> None:
        if depth > MAX_CHAIN:
            raise RuntimeError(
                f"more than {MAX_CHAIN} states in one step: a `next:` loop at {target}"
            )
        state = self.flowset.state(target.flow, target.state)
        conv.flow, conv.state = target.flow, target.state
        # Every target entered is a resolved one (the settings' targets, the Machine's
        # destinations), checked by FlowChecker when the flow set loaded.
        assert state is not None
        for text in state.say:
            result.effects.append(Reply(self.render(text, conv)))
        for action in state.actions:
            self._act(action, conv, ctx, result)
            spec = ACTIONS[action.name]
            if spec.ends:
                return
            if spec.outcomes:
                result.pending = action
                return
        if state.next:
            self._fire(conv, "next", ctx, result, depth)
        else:
            self._show_menu(state, conv, ctx, result)

    def _act(
        self, action: ActionCall, conv: Conversation, ctx: Context, result: StepResult
    ) -> None:
        """The engine's own actions change the conversation; the rest go to the runtime."""
        if action.name == "set_language":
            code = action.arg("language")
            if code in self.translator.languages:
                conv.language, conv.language_chosen = code, True
            return
        if action.name == "end":
            conv.mode = MODE_ENDED
        result.effects.append(action)

    def _options(self, state: State, conv: Conversation) -> tuple[tuple[str, str], ...]:
        cached = self._menus.get((state.key, conv.language))
        if cached is not None:
            return cached
        if state.languages:
            options = tuple(
                (self.translator.language_name(code), f"{state.key}#lang:{code}")
                for code in self.translator.languages
            )
            self.texts.public.update(label for label, _ in options)
        else:
            options = tuple(
                (self.render(o.label, conv), f"{state.key}#{o.number}") for o in state.options
            )
        if not any("{" in self.translator.text(conv.language, o.label) for o in state.options):
            self._menus[(state.key, conv.language)] = (
                options  # labels without variables: the same for everyone
            )
        return options

    def _show_menu(
        self, state: State, conv: Conversation, ctx: Context, result: StepResult
    ) -> None:
        options = self._options(state, conv)
        wants_location = bool(state.input and state.input.location)
        if not options and not wants_location:
            return
        last = result.effects[-1] if result.effects else None
        if isinstance(last, Reply) and not last.options:
            result.effects[-1] = Reply(last.text, options, wants_location)
        else:
            result.effects.append(Reply("", options, wants_location))

    def _reprompt(
        self, state: State, conv: Conversation, ctx: Context, result: StepResult, event: Event
    ) -> None:
        msgid = state.reprompt or self.settings_message("reprompt")
        if event.kind == "location":
            msgid = self.settings_message("location_not_here")
        result.effects.append(Reply(self.render(msgid, conv)))
        self._show_menu(state, conv, ctx, result)

    def settings_message(self, key: str) -> str:
        return self.flowset.settings.messages[key]

    def _match(
        self, state: State, conv: Conversation, event: Event
    ) -> tuple[str | None, Any] | None:
        """Which trigger the event fires in `state`: (trigger, option) or None."""
        if event.kind == "button":
            _, _, choice = event.payload.rpartition("#")
            if choice.startswith("lang:") and state.languages:
                return self._choose_language(choice[5:], conv)
            number = as_number(choice)
            return self._option(state, number)
        if event.kind == "location":
            if state.input and state.input.location:
                conv.variables["_location"] = event.location
                return "input", None
            return None
        text = event.text
        number = as_number(text)
        if number is not None:
            if state.languages and 1 <= number <= len(self.translator.languages):
                return self._choose_language(self.translator.languages[number - 1], conv)
            if state.options:
                found = self._option(state, number)
                if found is not None or not (state.input and state.input.text):
                    return found  # a number the menu lacks is free text where text is taken
        folded = fold(text)
        if state.languages and folded in self._language_index:
            return self._choose_language(self._language_index[folded], conv)
        if state.options:
            number = self._options_named.number(state, conv.language, folded)
            if number is not None:
                return self._option(state, number)
        if state.input and state.input.text and text.strip():
            if state.input.save_as:
                conv.variables[state.input.save_as] = text.strip()[:200]
            return "input", None
        return None

    def _option(self, state: State, number: int | None) -> tuple[str | None, Any] | None:
        if number is None or not 1 <= number <= len(state.options):
            return None
        option = state.options[number - 1]
        return (f"opt{number}" if option.branches else None), option

    def _choose_language(self, code: str, conv: Conversation) -> tuple[str, None] | None:
        if code not in self.translator.languages:
            return None
        conv.language, conv.language_chosen = code, True
        return "lang", None


def _condition(condition) -> Any:
    def check(event_data) -> bool:
        conv: Conversation = event_data.kwargs["conv"]
        ctx: Context = event_data.kwargs["ctx"]
        return condition.holds(ctx.channel, conv.language, conv.variables)

    return check
