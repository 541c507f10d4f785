"""How well the first message tells her language (bot/i18n/detect.py), on a
held-out set of first messages written without seeing the detector or its
threshold (benchmarks/data/first_messages.yaml): how often it answers, how often
its answer is right, and what happens otherwise (the phone's country, a guess
that the first SMS says how to change). Also the time per message and the
memory of the model, against the process before loading it.

    python benchmarks/language.py
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

import collections  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.i18n.catalogs import Catalogs  # noqa: E402
from bot.i18n.detect import CONFIDENT  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    data = yaml.safe_load((ROOT / "benchmarks" / "data" / "first_messages.yaml").read_text())
    messages = data["messages"]
    catalogs = Catalogs(ROOT / "locales")
    before = rss_mb()
    catalogs.language_of("warm up: load the model")
    model_mb = rss_mb() - before

    answered = right = 0
    by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])  # n, answered, right
    by_language: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    wrong: list[str] = []
    start = time.perf_counter()
    for message in messages:
        found = catalogs.language_of(message["text"])
        for table, key in ((by_kind, message["kind"]), (by_language, message["language"])):
            table[key][0] += 1
            table[key][1] += found is not None
            table[key][2] += found == message["language"]
        if found is not None:
            answered += 1
            right += found == message["language"]
            if found != message["language"]:
                wrong.append(f"  {message['language']} read as {found}: {message['text'][:70]!r}")
    per_message_ms = (time.perf_counter() - start) / len(messages) * 1000

    print(
        f"{len(messages)} held-out first messages, threshold {CONFIDENT} (fixed before measuring)"
    )
    print(f"{'':16}{'messages':>9}{'answered':>10}{'right':>7}")
    for name, table in (("kind", by_kind), ("language", by_language)):
        for key, (n, a, r) in sorted(table.items()):
            print(f"{name + ' ' + key:16}{n:>9}{a:>10}{r:>7}")
    if wrong:
        print("wrong answers (her welcome in another language; she can send LANGUAGE):")
        print("\n".join(wrong))
    n = len(messages)
    print(f"answered_share={answered / n:.3f}")
    print(f"precision_when_answered={right / answered if answered else 0:.3f}")
    print(f"wrong_language_share={(answered - right) / n:.3f}")
    print(f"ms_per_message={per_message_ms:.3f}")
    print(f"model_memory_mb={model_mb:.0f}")


if __name__ == "__main__":
    main()
