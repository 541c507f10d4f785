"""Quality of the risk lexicons on labelled messages (tests/data/risk/*.yaml).

    python -m bot.risk.evaluate [LEXICON_DIR] [LABELLED_DIR]

A labelled file:

    language: ro
    risky:                      # each must be caught at its severity or a more urgent one
      - {text: "mi-a luat pasaportul", severity: high}
    benign:                     # none of these may match
      - "mi-e dor de casa"

Recall counts a risky message as caught when the matcher returns a severity at
least as urgent as its label; the false-positive rate is the share of benign
messages that match anything.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.risk.lexicons import SEVERITY_RANK
from bot.risk.matcher import RiskMatcher, load_matcher


@dataclass
class LanguageScore:
    language: str
    risky: int = 0
    caught: int = 0
    urgent: int = 0  # labelled critical or high
    urgent_caught: int = 0
    benign: int = 0
    false_positives: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.risky if self.risky else 1.0

    @property
    def urgent_recall(self) -> float:
        return self.urgent_caught / self.urgent if self.urgent else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.benign if self.benign else 0.0


def evaluate(matcher: RiskMatcher, labelled_dir: Path) -> list[LanguageScore]:
    scores = []
    for path in sorted(Path(labelled_dir).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        score = LanguageScore(data["language"])
        for item in data.get("risky", []):
            text, severity = item["text"], item["severity"]
            found = matcher.match(text)
            ok = found is not None and SEVERITY_RANK[found.severity] <= SEVERITY_RANK[severity]
            score.risky += 1
            score.caught += ok
            if severity in ("critical", "high"):
                score.urgent += 1
                score.urgent_caught += ok
            if not ok:
                score.misses.append(
                    f"{text!r} ({severity}; got {found.severity if found else 'nothing'})"
                )
        for text in data.get("benign", []):
            found = matcher.match(text)
            score.benign += 1
            if found is not None:
                score.false_positives += 1
                score.false_alarms.append(f"{text!r} (matched {found.phrase!r}, {found.language})")
        scores.append(score)
    return scores


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    lexicon_dir = Path(argv[0]) if argv else Path("flows/risk")
    labelled_dir = Path(argv[1]) if len(argv) > 1 else Path("tests/data/risk")
    matcher, issues = load_matcher(lexicon_dir)
    for issue in issues:
        print(issue)
    if matcher is None:
        return 1
    scores = evaluate(matcher, labelled_dir)
    print(
        f"{'lang':6}{'risky':>7}{'recall':>9}{'crit+high recall':>18}{'benign':>8}{'false pos':>11}"
    )
    for s in scores:
        print(
            f"{s.language:6}{s.risky:>7}{s.recall:>9.1%}{s.urgent_recall:>18.1%}{s.benign:>8}{s.false_positive_rate:>11.1%}"
        )
    for s in scores:
        if verbose or s.urgent_recall < 0.95 or s.false_positive_rate > 0.05:
            for miss in s.misses:
                print(f"  {s.language} missed: {miss}")
            for alarm in s.false_alarms:
                print(f"  {s.language} false alarm: {alarm}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
