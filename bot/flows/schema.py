"""The schema of a flow set: what an admin's YAML becomes, and the engine runs.

A flow set is a directory: `settings.yaml` (start flow, global keywords, idle
timeout, queue and hours) and one file per flow. flows/README.md documents the
schema for admins; `bot.flows.load.load_flowset` reads and checks it.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sources import Issue, Source

SETTINGS_FILE = "settings.yaml"
DATA_SUBDIRS = ("risk", "tests")

# Words Twilio's default opt-out handling answers itself on long codes, with an
# English auto-reply, and then blocks the number: a flow must never ask a person
# to send them. CONTENT.md: "The exit word is EXIT, never STOP".
TWILIO_OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
# ...and these it answers with an English auto-reply (opt-in, help) unless
# Advanced Opt-Out is configured: a flow never asks her to send any of them.
PROVIDER_WORDS = TWILIO_OPT_OUT | {"start", "yes", "unstop", "help", "info"}
_CAPITALS = re.compile(r"\b[A-Z]{2,}\b")


def provider_words_asked(text: str) -> list[str]:
    """Provider words a text asks her to send: written in capitals, as the flows
    name every word to send ("send EXIT")."""
    return [word for word in _CAPITALS.findall(text) if word.lower() in PROVIDER_WORDS]


GLOBAL_KEYWORDS = ("exit", "human", "language", "menu")
# Placeholders every message may use; actions and inputs add their own variables.
BUILTIN_PLACEHOLDERS = {
    "exit_word",
    "human_word",
    "language_word",
    "menu_word",
    "emergency_number",
    "retention_days",  # HELPLINE_RETENTION_DAYS: how long a conversation is kept
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
            sets=frozenset({"queue_position", "opening_hours", "usual_wait"}),
        ),
        # She no longer wants to wait for a counsellor (before one has her).
        ActionSpec("withdraw"),
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
                found = variables.get(key[4:])
                value = "" if found is None else str(found)
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
class FlowSettings:
    start: Target
    menu: Target
    language: Target
    human: Target
    offer: Target  # where a medium risk match goes: she is offered a counsellor
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
    settings: FlowSettings
    flows: dict[str, Flow]
    version: str
    sources: dict[str, Source] = field(default_factory=dict)
    wrapup: Any = None  # bot.flows.wrapup.WrapupForm: the console's close form (wrapup.yaml)

    def state(self, flow: str, name: str) -> State | None:
        f = self.flows.get(flow)
        return f.states.get(name) if f else None

    def messages(self) -> list[tuple[str, Source, tuple]]:
        """Every translatable string with where it is: for the extractor and checks."""
        found: list[tuple[str, Source, tuple]] = []
        for source in self.sources.values():
            found.extend(strings_of(source))
        return found


class FlowSetError(Exception):
    def __init__(self, issues: list[Issue]):
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


SETTINGS_MESSAGES = {
    "reprompt": "an answer was not understood; the state's menu follows",
    "location_not_here": "a location was sent where none is asked for",
    "unsupported": "a sticker, photo, voice message or other non-text message arrived",
    "too_long": "a message longer than the channel allows arrived",
    "send_location": "label of the button that shares the location (Telegram)",
    "emergency": "a message matched a critical risk phrase (said before the handoff)",
    "risk_queued": "a critical or high risk phrase put her in the queue (said before the handoff)",
    "usual_wait": "how long an answer usually takes, from the recent waits (given to the handoff's texts as {usual_wait})",
    "blocked": "a sender blocked by a supervisor writes (a neutral answer)",
    # The web chat page's own words, in her language (the page follows the conversation's).
    "web_title": "the web chat page's title and heading (discreet: someone may see the screen)",
    "web_quick_exit": "the web chat's Quick exit button",
    "web_quick_exit_hint": "what the Quick exit button does (its tooltip)",
    "web_conversation": "the name screen readers give the list of messages",
    "web_your_message": "the name screen readers give the box she types in",
    "web_placeholder": "the grey hint inside the empty box she types in",
    "web_send": "the web chat's Send button",
    "web_not_sent": "a message of hers could not be sent (network or server trouble)",
    "web_footer": "the note at the bottom of the web chat page (empty: no footer)",
    # Pieces of the shelter search's answers (bot/shelters/actions.py): needed only
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
    "shelter_location_kept": "after a search from a shared location: the pin stays in her chat",
}
# Messages an organisation may leave empty ("") to show nothing.
OPTIONAL_MESSAGES = frozenset({"web_footer"})
# Placeholders a runtime message may use besides the builtins, filled in by the runtime.
MESSAGE_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "usual_wait": frozenset({"minutes"}),
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


def strings_of(source: Source) -> list[tuple[str, Source, tuple]]:
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


def placeholders(text: str) -> set[str]:
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
