"""The wrap-up form a counsellor fills in when closing a conversation, read from
`flows/wrapup.yaml` (admins edit it):

    outcomes:                      # what the console's Outcome list offers
      - Information given
      - Referred to a shelter or service
    fields:
      exploitation:                # the field's id: what the API and the statistics use
        label: Kind of exploitation
        choose: one                # one choice, or `many`
        required: true             # the API refuses a close without it
        choices:
          sexual: Sexual exploitation
          labour: Forced labour or services

Only choices, never free text: the notes field of the close dialog holds what
the counsellor wants to write, and the statistics count choices (never the notes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.flows.parse import FlowParser, unknown_keys
from bot.sources import Source

WRAPUP_FILE = "wrapup.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FIELD_KEYS = {"label", "choose", "required", "choices", "help"}
MAX_LABEL = 100


@dataclass(frozen=True)
class WrapupField:
    id: str
    label: str
    many: bool
    required: bool
    choices: tuple[tuple[str, str], ...]  # (id, label), in the file's order
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "choose": "many" if self.many else "one",
            "required": self.required,
            "help": self.help,
            "choices": [{"id": cid, "label": label} for cid, label in self.choices],
        }


@dataclass(frozen=True)
class WrapupForm:
    outcomes: tuple[str, ...] = ()
    fields: tuple[WrapupField, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"outcomes": list(self.outcomes), "fields": [f.to_json() for f in self.fields]}

    def check(self, given: Any) -> tuple[dict[str, Any], str | None]:
        """The wrap-up as the API received it -> (the record to keep, None), or
        ({}, the sentence that says what is wrong). Absent is an empty record."""
        if given is None:
            given = {}
        if not isinstance(given, dict):
            return {}, "`wrapup` must be a JSON object: {field: choice, ...}."
        known = {f.id: f for f in self.fields}
        unknown = [key for key in given if key not in known]
        if unknown:
            names = ", ".join(known) or "none"
            return {}, f"The wrap-up has no field {unknown[0]!r}; its fields are: {names}."
        record: dict[str, Any] = {}
        for spec in self.fields:
            value = given.get(spec.id)
            ids = {cid for cid, _ in spec.choices}
            if value in (None, "", []):
                continue
            if spec.many:
                if (
                    not isinstance(value, list)
                    or not all(isinstance(v, str) and v in ids for v in value)
                    or len(set(value)) != len(value)
                ):
                    return {}, (
                        f"`wrapup.{spec.id}` is a list of distinct choices among: "
                        f"{', '.join(ids_in_order(spec))}."
                    )
                record[spec.id] = [cid for cid, _ in spec.choices if cid in value]
            else:
                if not isinstance(value, str) or value not in ids:
                    return {}, (
                        f"`wrapup.{spec.id}` is one choice among: {', '.join(ids_in_order(spec))}."
                    )
                record[spec.id] = value
        missing = [f for f in self.fields if f.required and f.id not in record]
        if missing:
            names = "; ".join(f"{f.label} (`{f.id}`)" for f in missing)
            return {}, f"The wrap-up is not complete: fill in {names}."
        return record, None

    def outcome_group(self, outcome: str) -> str:
        """The outcome as the statistics count it: one of the listed outcomes, else
        "other" (a typed outcome is free text: it never reaches the statistics)."""
        return outcome if outcome in self.outcomes else "other"


def ids_in_order(spec: WrapupField) -> list[str]:
    return [cid for cid, _ in spec.choices]


def load_wrapup(parser: FlowParser, path: Path) -> WrapupForm:
    """The form in `path` (problems go to `parser.issues`, as `file:line:col`)."""
    loaded = parser.load_mapping(path, "wrapup.yaml is a mapping with `outcomes:` and `fields:`")
    if loaded is None:
        return WrapupForm()
    src, data = loaded
    parser.issues.extend(unknown_keys(src, data, {"outcomes", "fields"}, (), "wrapup.yaml"))
    outcomes = _outcomes(parser, src, data.get("outcomes"))
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        parser.issues.append(
            src.issue(("fields",), "`fields:` maps each field's id to its label and choices")
        )
        return WrapupForm(outcomes)
    read = [f for key, spec in fields.items() if (f := _field(parser, src, key, spec))]
    return WrapupForm(outcomes, tuple(read))


def _outcomes(parser: FlowParser, src: Source, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v.strip() and len(v) <= MAX_LABEL for v in value
    ):
        parser.issues.append(
            src.issue(
                ("outcomes",),
                f"`outcomes:` is a list of texts of at most {MAX_LABEL} characters",
                code="schema",
            )
        )
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value))


def _field(parser: FlowParser, src: Source, key: Any, spec: Any) -> WrapupField | None:
    path = ("fields", key)

    def problem(message: str, *where: str) -> None:
        parser.issues.append(src.issue((*path, *where), message, code="schema"))

    if not isinstance(key, str) or not _ID.match(key):
        problem("a field's id is lower case letters, digits and _, e.g. `needs`", "<key>")
        return None
    if not isinstance(spec, dict):
        problem(f"field {key!r} is a mapping with label:, choose:, choices:")
        return None
    parser.issues.extend(unknown_keys(src, spec, _FIELD_KEYS, path, f"field {key!r}"))
    label = spec.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        problem(f"field {key!r} needs a `label:` of at most {MAX_LABEL} characters", "label")
        return None
    choose = spec.get("choose", "one")
    if choose not in ("one", "many"):
        problem("`choose:` is `one` or `many`", "choose")
        return None
    required = spec.get("required", False)
    if not isinstance(required, bool):
        problem("`required:` is true or false", "required")
        return None
    choices = spec.get("choices")
    if not isinstance(choices, dict) or not choices:
        problem(f"field {key!r} needs `choices:`, each `id: Label`", "choices")
        return None
    read: list[tuple[str, str]] = []
    for cid, clabel in choices.items():
        if not isinstance(cid, str) or not _ID.match(cid):
            problem("a choice's id is lower case letters, digits and _", "choices", cid, "<key>")
            return None
        if not isinstance(clabel, str) or not clabel.strip() or len(clabel) > MAX_LABEL:
            problem(f"choice {cid!r} needs a label of at most {MAX_LABEL} characters", "choices")
            return None
        read.append((cid, clabel.strip()))
    help_text = spec.get("help", "")
    return WrapupField(
        key,
        label.strip(),
        choose == "many",
        required,
        tuple(read),
        help_text if isinstance(help_text, str) else "",
    )
