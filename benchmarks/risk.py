"""Messages per second of risk detection as the helpline runs it (every
lexicon, then the statistical model on what the lexicons let through), side by
side in one run with the naive approach: one big regular expression, an
alternation of every phrase, searched in the lower-cased text (which, unlike the
matcher, tolerates no typo, inflection, word order, transliteration or
leetspeak, and has no model).

    python benchmarks/risk.py
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

import re
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.risk.detector import LiveRisk  # noqa: E402


def messages() -> list[str]:
    found = []
    for path in sorted((ROOT / "tests" / "data" / "risk").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += [item["text"] for item in data.get("risky", [])] + list(data.get("benign", []))
    return found


def rate(match, texts: list[str], seconds: float = 2.0) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            match(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> None:
    detector = LiveRisk(ROOT / "flows" / "risk")
    matcher = detector.matcher
    assert matcher is not None and detector.model is not None, "lexicons or model missing"
    texts = messages()
    phrases = [e.text for lexicon in matcher.lexicons for e in lexicon.phrases]
    parts = [p for lexicon in matcher.lexicons for _, combo in lexicon.combinations for p in combo]
    pattern = re.compile(
        "|".join(sorted({re.escape(p.lower()) for p in phrases + parts}, key=len, reverse=True))
    )

    def naive(text: str):
        return pattern.search(text.lower())

    for text in texts:  # warm both up once (the matcher's word cache fills as real traffic would)
        detector.match(text)
        naive(text)
    # Best of three rounds each, alternating, so that a busy moment of the machine
    # does not favour one side.
    ours = theirs = 0.0
    for _ in range(3):
        ours = max(ours, rate(detector.match, texts, 1.0))
        theirs = max(theirs, rate(naive, texts, 1.0))
    cold = matcher.__class__(matcher.lexicons)
    start = time.perf_counter()
    for text in texts:
        cold.match(text) or detector.model_match(text)
    first_seen = len(texts) / (time.perf_counter() - start)
    print(
        f"{len(matcher.lexicons)} lexicons, {len(phrases)} phrases, {len(parts)} combination parts; "
        f"{len(texts)} labelled messages cycled"
    )
    print(f"{'lexicons and model':42}{ours:>10.0f} messages/s")
    print(f"{'the same, every word seen for the first time':42}{first_seen:>10.0f} messages/s")
    print(f"{'naive regex alternation':42}{theirs:>10.0f} messages/s")
    print(f"risk_speedup_vs_naive={ours / theirs:.1f}")
    print(f"risk_messages_per_s={ours:.0f}")
    print(f"risk_cold_messages_per_s={first_seen:.0f}")


if __name__ == "__main__":
    main()
