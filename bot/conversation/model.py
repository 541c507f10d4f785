"""What the engine works on: a conversation's state, the events that move it, the replies and effects of a step, and the context (channel, clock, language) the runtime passes in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.flows.schema import ActionCall

MODE_BOT = "bot"
MODE_QUEUED = "queued"  # waiting for or talking with a counsellor (the handoff record says which)
MODE_ENDED = "ended"
MAX_CHAIN = 25  # states entered in one step; a longer `next:` chain is a loop


@dataclass
class Conversation:
    """What the engine knows of a conversation. Variables whose name starts with
    `_` live for one step only and are never saved (a typed place, a location)."""

    flow: str
    state: str
    language: str
    variables: dict[str, Any] = field(default_factory=dict)
    mode: str = MODE_BOT
    updated_at: float = 0.0
    version: str = ""
    language_chosen: bool = False

    def to_dict(self) -> dict[str, Any]:
        """What Redis keeps; a field at its default is left out (from_dict puts
        it back): a conversation is stored for weeks, thousands at once."""
        data: dict[str, Any] = {
            "flow": self.flow,
            "state": self.state,
            "language": self.language,
            "vars": {k: v for k, v in self.variables.items() if not k.startswith("_")},
            "mode": self.mode,
            "updated_at": round(self.updated_at, 3),
            "version": self.version,
            "language_chosen": self.language_chosen,
        }
        defaults = {"vars": {}, "mode": MODE_BOT, "version": "", "language_chosen": False}
        return {k: v for k, v in data.items() if k not in defaults or v != defaults[k]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(
            flow=data["flow"],
            state=data["state"],
            language=data["language"],
            variables=dict(data.get("vars") or {}),
            mode=data.get("mode", MODE_BOT),
            updated_at=float(data.get("updated_at", 0)),
            version=data.get("version", ""),
            language_chosen=bool(data.get("language_chosen", False)),
        )


@dataclass(frozen=True)
class Event:
    """One thing the person did: `text`, `button` (a menu payload), `location`, or `start`."""

    kind: str
    text: str = ""
    payload: str = ""
    location: tuple[float, float] | None = None


class Reply(NamedTuple):
    """One message to the person; `options` are (label, payload) menu entries."""

    text: str
    options: tuple[tuple[str, str], ...] = ()
    request_location: bool = False


@dataclass(frozen=True)
class Reading:
    """What an event is to a conversation as it stands, before any step: the
    runtime records her message and routes it from this."""

    keyword: str | None = None  # a global keyword: exit, human, language or menu
    label: str | None = None  # the label of the button she tapped, in her language
    transient: bool = False  # it answers an input that is never stored (a `_` variable)


@dataclass(frozen=True)
class Context:
    """What the engine may read of the world: no clock of its own, no I/O."""

    channel: str
    now: float
    language: str = "en"  # for a new conversation: negotiated by the runtime
    language_guessed: bool = False  # ...from the phone's country or by default, not from her


@dataclass
class StepResult:
    conversation: Conversation
    effects: list[Reply | ActionCall] = field(default_factory=list)
    pending: ActionCall | None = None  # perform it, then call Engine.resume
    understood: bool = True

    @property
    def replies(self) -> list[Reply]:
        return [e for e in self.effects if isinstance(e, Reply)]

    @property
    def actions(self) -> list[ActionCall]:
        return [e for e in self.effects if isinstance(e, ActionCall)]


class Translator:
    """English source texts; bot.i18n.Catalogs replaces it with gettext catalogs."""

    languages: tuple[str, ...] = ("en",)

    def text(self, language: str, msgid: str) -> str:
        return msgid

    def language_name(self, language: str) -> str:
        return "English" if language == "en" else language

    def language_aliases(self, language: str) -> set[str]:
        return {language}
