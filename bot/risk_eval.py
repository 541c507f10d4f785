"""Blind evaluation of risk detection on the held-out sets.

    python -m bot.risk_eval [-v] [--heldout DIR]... [--flows DIR]

Each held-out set (benchmarks/data/risk_heldout*/, one file per language) was
written by people who had not seen the lexicons or the model, and frozen
before any tuning. The headline figures are those of the newest set, the one
blind when it was measured: by default `risk_heldout7`, written on 2026-12-06
by people who saw nothing of the project, frozen before it was first measured,
and measured only in aggregate: on that session's start, on its end, and once
for an experiment that was then rejected; its misses have not been read, so
the next round of tuning (on the misses of the older sets) can still be
measured blind on it. The older sets are printed after
it, but they are no longer blind: the lexicons and the model were tuned on the
misses of `risk_heldout6`, `5`, `4`, `3` and `2`, and `risk_heldout2` is the
model's validation set (its thresholds are chosen on it); `risk_heldout`'s
misses were read while tuning earlier. Each message has a concept
(`none` for the benign ones, a third of the set: figurative speech and everyday
uses of risk words) and a variant (plain, misspelled, no_diacritics,
transliterated, repeated_letters, mixed, indirect, figurative).

A risky message counts as caught when both readers together (lexicons, then
the model) give it its concept's severity or a more urgent one; a critical one
queued at high counts as caught (she reaches a counsellor at once), and is
also counted apart (`critical_as_critical`). The false-positive rate is the
share of benign messages that get anything, a mere offer included.

Prints per language and per variant, then the headline figures:
recall_critical_high (indirect excluded), recall_indirect, false_positive_rate.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.risk.detector import MODEL, LiveRisk
from bot.risk.lexicons import SEVERITY_RANK, load_concepts

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
HELDOUT = DATA / "risk_heldout7"  # the blind one: the headline
SEEN = [
    DATA / "risk_heldout6",
    DATA / "risk_heldout5",
    DATA / "risk_heldout4",
    DATA / "risk_heldout3",
    DATA / "risk_heldout2",
    DATA / "risk_heldout",
]  # tuned or calibrated on: printed after
INDIRECT = "indirect"


@dataclass
class Tally:
    urgent: int = 0  # critical or high, not indirect
    urgent_caught: int = 0
    by_model: int = 0  # of those, caught only thanks to the model
    critical: int = 0
    critical_caught: int = 0
    medium: int = 0
    medium_caught: int = 0
    indirect: int = 0
    indirect_caught: int = 0
    benign: int = 0
    false_positives: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)


def caught(label: str, got: str | None) -> bool:
    if got is None:
        return False
    return SEVERITY_RANK[got] <= SEVERITY_RANK[label] or (label == "critical" and got == "high")


def evaluate(detector: LiveRisk, heldout: Path, severities: dict[str, str]):
    by_language: dict[str, Tally] = defaultdict(Tally)
    by_variant: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for path in sorted(Path(heldout).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = data["language"]
        for item in data["messages"]:
            text, concept, variant = item["text"], item["concept"], item.get("variant", "plain")
            found = detector.match(text)
            got = found.severity if found else None
            gloss = f" [{item['en']}]" if item.get("en") else ""
            for tally in (by_language[language], by_variant[variant], total):
                if concept == "none":
                    tally.benign += 1
                    if found is not None:
                        tally.false_positives += 1
                        tally.false_alarms.append(
                            f"{language}: {text!r}{gloss} -> {found.concept} {found.why}"
                        )
                    continue
                label = severities[concept]
                ok = caught(label, got)
                if variant == INDIRECT:
                    tally.indirect += 1
                    tally.indirect_caught += ok
                elif label in ("critical", "high"):
                    tally.urgent += 1
                    tally.urgent_caught += ok
                    tally.by_model += ok and found is not None and found.concept == MODEL
                    if label == "critical":
                        tally.critical += 1
                        tally.critical_caught += got == "critical"
                else:
                    tally.medium += 1
                    tally.medium_caught += ok
                if not ok:
                    tally.misses.append(
                        f"{language} {variant}: {text!r}{gloss} ({concept}, {label}; got {got or 'nothing'})"
                    )
    return dict(sorted(by_language.items())), dict(sorted(by_variant.items())), total


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b}" if b else "-"


def _share(a: int, b: int) -> float:
    return a / b if b else 0.0


def report(rows: dict[str, Tally], title: str) -> None:
    print(
        f"{title:18}{'crit+high':>11}{'indirect':>10}{'medium':>9}{'false pos':>11}{'by model':>10}"
    )
    for name, t in rows.items():
        print(
            f"{name:18}{_ratio(t.urgent_caught, t.urgent):>11}{_ratio(t.indirect_caught, t.indirect):>10}"
            f"{_ratio(t.medium_caught, t.medium):>9}{_ratio(t.false_positives, t.benign):>11}{t.by_model:>10}"
        )
    print()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.risk_eval", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every miss and false alarm"
    )
    parser.add_argument(
        "--heldout",
        type=Path,
        action="append",
        help="a held-out set (repeatable; the first gives the headline figures; "
        f"default: {HELDOUT.name}, then {', '.join(path.name for path in SEEN)})",
    )
    parser.add_argument(
        "--flows", type=Path, default=ROOT / "flows", help="the flows folder (its risk/)"
    )
    parser.add_argument("--no-model", action="store_true", help="the lexicons alone")
    args = parser.parse_args(argv)
    detector = LiveRisk(args.flows / "risk")
    if detector.matcher is None:
        print("the lexicons have errors: run `helpline flows check`", file=sys.stderr)
        return 1
    if args.no_model:
        detector.model = None
    concepts, _ = load_concepts(args.flows / "risk")
    severities = {name: c.severity for name, c in concepts.items()}
    sets = args.heldout or [HELDOUT, *SEEN]
    totals = []
    for heldout in sets:
        print(f"== {heldout.name}" + (" (headline)" if heldout == sets[0] else ""))
        by_language, by_variant, total = evaluate(detector, heldout, severities)
        report(by_language, "language")
        report(by_variant, "variant")
        if args.verbose:
            for line in total.misses:
                print("missed:", line)
            for line in total.false_alarms:
                print("false alarm:", line)
            print()
        totals.append(total)
    for heldout, other in zip(sets[1:], totals[1:], strict=True):
        print(
            f"also on {heldout.name}: recall_critical_high "
            f"{_share(other.urgent_caught, other.urgent):.3f}, recall_indirect "
            f"{_share(other.indirect_caught, other.indirect):.3f}, false_positive_rate "
            f"{_share(other.false_positives, other.benign):.3f}"
        )
    total = totals[0]
    print(f"messages={total.urgent + total.indirect + total.medium + total.benign}")
    print(f"recall_critical_high={_share(total.urgent_caught, total.urgent):.3f}")
    print(f"critical_as_critical={_share(total.critical_caught, total.critical):.3f}")
    print(f"recall_medium={_share(total.medium_caught, total.medium):.3f}")
    print(f"recall_indirect={_share(total.indirect_caught, total.indirect):.3f}")
    print(f"false_positive_rate={_share(total.false_positives, total.benign):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
