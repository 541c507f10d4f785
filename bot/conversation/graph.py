"""Diagrams of a flow, drawn from its transitions Machine (what actually runs)."""

from __future__ import annotations

from bot.conversation.engine import Engine
from bot.flows.schema import Flow


def edges(flow: Flow) -> list[tuple[str, str, str]]:
    """(source, trigger, destination) for every transition of the flow's Machine,
    with triggers named as an admin reads them: "1 Leave safely", "input", "on found"."""
    labels = {}
    for state in flow.states.values():
        for option in state.options:
            labels[(state.name, f"opt{option.number}")] = f"{option.number} {option.label}"
    found = []
    for trigger, event in flow.machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                label = labels.get((source, trigger), trigger.replace("on:", "on "))
                if transition.conditions:
                    label += " (if)"
                found.append((source, label, transition.dest))
    return found


def _node(name: str) -> str:
    return name.replace("@", "to_").replace(".", "__")


def draw(flow: Flow, fmt: str = "mermaid") -> str:
    if flow.machine is None:
        raise ValueError("build an Engine first: the diagram is drawn from its Machine")
    rows = edges(flow)
    states = list(flow.states)
    external = sorted({dest for _, _, dest in rows if dest.startswith("@")})
    if fmt == "dot":
        lines = [
            f'digraph "{flow.name}" {{',
            "  rankdir=LR;",
            '  node [shape=box, style=rounded, fontname="sans-serif"];',
        ]
        lines.append(f'  "{flow.start}" [penwidth=2];')
        for name in external:
            lines.append(f'  "{name}" [label="{name[1:]}", style=dashed];')
        for name in states:
            if flow.states[name].final:
                lines.append(f'  "{name}" [peripheries=2];')
        for source, label, dest in rows:
            text = label.replace('"', "'")
            lines.append(f'  "{source}" -> "{dest}" [label="{text}"];')
        lines.append("}")
        return "\n".join(lines)
    lines = ["stateDiagram-v2", f"    [*] --> {_node(flow.start)}"]
    for name in external:
        lines.append(f'    state "{name[1:]}" as {_node(name)}')
    for source, label, dest in rows:
        text = label.replace(":", " ").replace('"', "'")
        lines.append(f"    {_node(source)} --> {_node(dest)}: {text}")
    for name in states:
        if flow.states[name].final:
            lines.append(f"    {_node(name)} --> [*]")
    return "\n".join(lines)


__all__ = ["draw", "edges", "Engine"]
