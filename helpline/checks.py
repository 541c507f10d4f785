"""`helpline flows check`: every admin-edited file of a flow directory."""

from __future__ import annotations

from pathlib import Path

from bot.flows.loader import load_flowset
from bot.sources import Issue


def check_all(directory: Path) -> list[Issue]:
    """Issues of the flows, and of the risk lexicons in DIR/risk when present."""
    _, issues = load_flowset(directory)
    risk_dir = Path(directory) / "risk"
    if risk_dir.is_dir():
        from bot.risk.matcher import load_lexicons

        _, lexicon_issues = load_lexicons(risk_dir)
        issues = [*issues, *lexicon_issues]
    return sorted(set(issues))
