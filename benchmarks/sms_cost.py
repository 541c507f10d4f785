"""SMS cost per language: segments of the welcome and of the main menu, as sent
(after direction marks for right-to-left languages and GSM-7 plain-typography),
which must stay at 3 or fewer; then the segments of each content part (a
right, a health or safety text, the privacy notice) with its menu, which
cost what they cost and are printed so that a long translation shows.

    python benchmarks/sms_cost.py
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.base import render_text  # noqa: E402
from bot.conversation.engine import Engine  # noqa: E402
from bot.conversation.model import Context, Conversation, Event  # noqa: E402
from bot.flows.load import load_flowset  # noqa: E402
from bot.flows.schema import Target  # noqa: E402
from bot.i18n.catalogs import Catalogs  # noqa: E402
from bot.text.segments import plan  # noqa: E402


def main() -> None:
    flowset, issues = load_flowset(ROOT / "flows")
    assert flowset is not None, issues
    catalogs = Catalogs(ROOT / "locales")
    engine = Engine(flowset, catalogs)
    print(f"{'language':10}{'welcome':>22}{'main menu':>22}")
    worst = 0
    for language in catalogs.languages:
        welcome = engine.step(None, Event("text", "hi"), Context("sms", 1.0, language))
        menu = engine.step(welcome.conversation, Event("text", "1"), Context("sms", 2.0))
        cells = []
        for result in (welcome, menu):
            text = catalogs.directional(
                "\n".join(render_text(r.text, r.options) for r in result.replies), language
            )
            planned = plan(text)
            worst = max(worst, planned.segments)
            cells.append(f"{planned.segments} x {planned.encoding} ({len(text)} ch)")
        print(f"{language:10}{cells[0]:>22}{cells[1]:>22}")
    parts = content_parts(engine, catalogs)
    print(f"max_segments_welcome_or_menu={worst}")
    print(f"max_segments_content_part={max(max(row.values()) for row in parts.values())}")


# The parts of the flows that state a right or a fact (issue 16's table).
PARTS = [
    "rights.no_police",
    "rights.identification",
    "rights.forms",
    "rights.not_punished",
    "rights.reflection",
    "rights.residence",
    "rights.asylum",
    "rights.minors",
    "rights.debt",
    "rights.juju",
    "rights.lawyer",
    "rights.compensation",
    "health.after_assault",
    "health.tests",
    "health.pregnancy",
    "leaving.hide_sms",
    "leaving.location",
    "privacy.start",
]


def content_parts(engine: Engine, catalogs: Catalogs) -> dict[str, dict[str, int]]:
    """Segments of each part as one SMS reply (its text and its menu), per language."""
    languages = catalogs.languages
    print()
    print(f"{'part':24}" + "".join(f"{language:>4}" for language in languages))
    table: dict[str, dict[str, int]] = {}
    for part in PARTS:
        row = {}
        for language in languages:
            conv = Conversation("main", "menu", language)
            result = engine.enter(conv, Target(*part.split(".")), Context("sms", 1.0, language))
            text = catalogs.directional(
                "\n".join(render_text(r.text, r.options) for r in result.replies), language
            )
            row[language] = plan(text).segments
        table[part] = row
        print(f"{part:24}" + "".join(f"{row[language]:>4}" for language in languages))
    return table


if __name__ == "__main__":
    main()
