"""Golden files for the scenarios: `helpline flows test --write` records, for
every case, each step's full replies and where the conversation is after it
(flows/tests/golden/<file>.txt); every later run compares with the record, so
a change to a flow or a translation shows as a diff an admin can review.

The format is plain text, one block per case:

    === 1. SMS welcome and the main menu
    --- 1. send: hello
    > the first reply
    | its second line
    @ welcome.safe_check (bot, en)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HEADER = (
    "# Recorded by `helpline flows test --write`: the full replies and the state after\n"
    "# each step of every scenario. Do not edit by hand: change the scenario or the flows,\n"
    "# run the tests, and record again when the difference is what you meant.\n"
)


def golden_path(scenario_file: Path) -> Path:
    return scenario_file.parent / "golden" / f"{scenario_file.stem}.txt"


def describe(step: dict) -> str:
    """A step as one line: what the person did."""
    parts = []
    if "wait" in step:
        parts.append(f"wait: {step['wait']} minutes")
    for key in ("send", "button", "location"):
        if key in step:
            value = step[key]
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


@dataclass
class Recording:
    """What one case did, step by step."""

    key: str  # "3. name": the case's place in its file and its name
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines.append(f"=== {self.key}")

    def step(self, number: int, step: dict, replies: list[str], where: str) -> None:
        self.lines.append(f"--- {number}. {describe(step)}")
        for reply in replies:
            first, *rest = reply.splitlines() or [""]
            self.lines.append(f"> {first}")
            self.lines.extend(f"| {line}" for line in rest)
        self.lines.append(f"@ {where}")

    def step_at(self, index: int) -> int:
        """The number of the step that line `index` belongs to (0: the case's header)."""
        return sum(1 for line in self.lines[: index + 1] if line.startswith("--- "))


def write(path: Path, recordings: list[Recording]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(line for recording in recordings for line in recording.lines)
    path.write_text(HEADER + body + "\n", encoding="utf-8")


def read(path: Path) -> dict[str, tuple[int, list[str]]]:
    """The recorded cases of a golden file: key -> (line number of its header, its lines)."""
    cases: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("=== "):
            current = [line]
            cases[line[4:]] = (number, current)
        elif current is not None:
            current.append(line)
    return cases


def first_difference(recorded: list[str], golden: list[str]) -> int | None:
    """The index of the first line where the two differ, or None when they are equal."""
    for index, (ours, theirs) in enumerate(zip(recorded, golden, strict=False)):
        if ours != theirs:
            return index
    return None if len(recorded) == len(golden) else min(len(recorded), len(golden))
