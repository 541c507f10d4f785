"""The second, statistical opinion: a character n-gram logistic regression
that reads every message for what no lexicon foresees.

Trained with scikit-learn on the labelled messages of `tests/data/risk/` (the
lexicons' tuning set) and `tests/data/risk/model/` (messages written for the model
alone, mostly indirect phrasing that no word list catches), and shipped as
`flows/risk/model.json`: the n-gram weights and the two thresholds. Scoring is
plain Python (a dictionary lookup per n-gram, ~10 µs a message), so the running
helpline needs neither scikit-learn nor numpy.

    python -m bot.risk.model train [FLOWS_RISK_DIR] [LABELLED_DIR] [VALIDATION_DIR]

The thresholds are chosen on a validation set that the model never trains on
(`benchmarks/data/risk_heldout2/`, a held-out set retired from blind
evaluation: its messages are left out of training even where the lexicons'
tuning files copy them): `queue` lets through 1.5% of its benign messages,
`offer` 2%. Cross-validated thresholds on the training messages were far too
cautious: those benign messages were written as look-alikes of the risky ones,
so a threshold above their tail queued only a third of the indirect messages
that people wrote elsewhere. The blind held-out set (`risk_heldout7`) measures
the result; nothing is chosen on it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from bot.risk.normalise import _CJK, _LONG_REPEATS

MODEL_FILE = "model.json"
# Words of letters only: digits are ages, prices and menu choices, which the
# lexicons read (bot/risk/matcher.py); the model has no opinion on them.
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# A message of fewer words than this (a menu answer, a town, "yes") gets no
# opinion: a few n-grams say nothing reliable.
MIN_WORDS = 3
NGRAMS = (2, 3, 4)
# Thresholds, as the share of the validation set's benign messages under them: an
# offer for 2% of them, a queue for 1.5% (the lexicons' false alarms come on top,
# and the whole must stay under 3%).
OFFER_QUANTILE, QUEUE_QUANTILE = 0.98, 0.985
VALIDATION = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "risk_heldout2"
WORD, PAIR = "w:", "b:"  # feature names of a whole word and of two neighbouring words


def fold_word(raw: str) -> str:
    """Case, accents and letters repeated three times or more folded away."""
    if raw.isascii():
        word = raw.lower()
    else:
        word = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", raw).casefold())
        word = "".join([c for c in word if not unicodedata.combining(c)])
    return _LONG_REPEATS.sub(r"\1", word) if len(word) > 2 else word


def word_grams(raw: str) -> list[str]:
    """A word's character n-grams, padded with a space so that its start and end count."""
    padded = f" {fold_word(raw)} "
    size = len(padded)
    return [padded[i : i + n] for n in NGRAMS for i in range(size - n + 1)]


def features(text: str) -> dict[str, float]:
    """What the model weighs: each character n-gram's count over the square root
    of the message's number of n-grams (so a message's score adds up word by word),
    plus each whole word ("w:") and each pair of neighbouring words ("b:") once per
    time it occurs: the n-grams carry spelling and inflection, the words and pairs
    the phrasing ("dont come", "anymore tomorrow") that indirect messages share."""
    words = _WORD.findall(text)
    grams = [g for raw in words for g in word_grams(raw)]
    scale = 1.0 / math.sqrt(len(grams)) if grams else 0.0
    counts: dict[str, float] = {}
    for gram in grams:
        counts[gram] = counts.get(gram, 0.0) + scale
    # Chinese has no spaces: its "word" is a clause, seen once, that would only
    # let the model learn its training messages by heart; its n-grams carry it.
    folded = [fold_word(raw) for raw in words if not _CJK.search(raw)]
    for name in [WORD + w for w in folded] + [PAIR + f"{a} {b}" for a, b in pairwise(folded)]:
        counts[name] = counts.get(name, 0.0) + 1.0
    return counts


@dataclass
class RiskModel:
    weights: dict[str, float]
    bias: float
    offer: float  # a probability from which she is offered a counsellor
    queue: float  # from which she is queued at high
    trained_on: str = ""  # digest of the training messages

    def __post_init__(self) -> None:
        # Per word: the sum of its n-grams' weights, their number, its folded form and
        # the word's own weight, so that a message costs a lookup per word once its
        # words have been seen (Zipf: most have).
        self._words: dict[str, tuple[float, int, str, float]] = {}
        # Pairs of words by their first word: no string is built to look one up.
        self._pairs: dict[str, dict[str, float]] = {}
        for name, weight in self.weights.items():
            if name.startswith(PAIR):
                first, _, second = name[len(PAIR) :].partition(" ")
                self._pairs.setdefault(first, {})[second] = weight

    def score(self, text: str) -> float:
        """The probability that `text` is a risk."""
        words = _WORD.findall(text)
        # Chinese has no spaces between words: one "word" is a whole clause.
        if len(words) < MIN_WORDS and not (_CJK.search(text) and sum(map(len, words)) >= 4):
            return 0.0
        total, count, whole = 0.0, 0, 0.0
        cache, weights, pairs = self._words, self.weights, self._pairs
        following: dict[str, float] | None = None  # pairs starting with the previous word
        for raw in words:
            found = cache.get(raw)
            if found is None:
                grams = word_grams(raw)
                folded = fold_word(raw)
                found = (
                    sum(filter(None, map(weights.get, grams))),
                    len(grams),
                    folded,
                    weights.get(WORD + folded, 0.0),
                )
                if len(cache) < 200_000:
                    cache[raw] = found
            total += found[0]
            count += found[1]
            whole += found[3]
            if following:
                whole += following.get(found[2], 0.0)
            following = pairs.get(found[2])
        if not count:
            return 0.0
        return 1.0 / (1.0 + math.exp(-(self.bias + total / math.sqrt(count) + whole)))

    @classmethod
    def load(cls, path: Path) -> RiskModel | None:
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            weights=data["weights"],
            bias=data["bias"],
            offer=data["offer"],
            queue=data["queue"],
            trained_on=data.get("trained_on", ""),
        )


def labelled_files(labelled_dir: Path) -> list[Path]:
    """The lexicons' labelled files, then the model's own (model/), in a stable order."""
    labelled_dir = Path(labelled_dir)
    return sorted(labelled_dir.glob("*.yaml")) + sorted(labelled_dir.glob("model/*.yaml"))


def training_messages(labelled_dir: Path, leave_out: frozenset[str] = frozenset()):
    """(text, 1 if risky) from every labelled file, in a stable order, but for
    the texts of `leave_out` (the validation set's)."""
    import yaml

    found: list[tuple[str, int]] = []
    for path in labelled_files(labelled_dir):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += [(item["text"], 1) for item in data.get("risky", [])]
        found += [(text, 0) for text in data.get("benign", [])]
    return [(text, label) for text, label in found if text not in leave_out]


def validation_messages(validation_dir: Path) -> list[tuple[str, int, str]]:
    """(text, 1 if risky, variant) of a held-out set's files."""
    import yaml

    found: list[tuple[str, int, str]] = []
    for path in sorted(Path(validation_dir).glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
            found.append((item["text"], int(item["concept"] != "none"), item.get("variant", "")))
    return found


def digest(labelled_dir: Path, validation_dir: Path | None = None) -> str:
    """What the model was trained and calibrated on: a hash of the labelled files
    (and of the validation set's)."""
    h = hashlib.sha256()
    for path in labelled_files(labelled_dir):
        h.update(path.relative_to(labelled_dir).as_posix().encode() + b"\0" + path.read_bytes())
    if validation_dir is not None:
        for path in sorted(Path(validation_dir).glob("*.yaml")):
            h.update(b"validation/" + path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def train(labelled_dir: Path, validation_dir: Path = VALIDATION) -> dict:
    """Fit the model on the labelled messages, choose its thresholds on the
    validation set's benign messages."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    validation = validation_messages(validation_dir)
    messages = training_messages(labelled_dir, frozenset(text for text, _, _ in validation))
    labels = [label for _, label in messages]
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([features(text) for text, _ in messages])
    model = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
    model.fit(x, labels)
    names = vectorizer.get_feature_names_out()
    weights = {
        str(name): round(float(w), 4)
        for name, w in zip(names, model.coef_[0], strict=True)
        if abs(w) >= 0.02
    }
    # The shipped model scores as it will run: with the rounded, pruned weights.
    shipped = RiskModel(weights, round(float(model.intercept_[0]), 4), 0.0, 0.0)
    scored = [(shipped.score(text), label, variant) for text, label, variant in validation]
    benign = sorted(p for p, label, _ in scored if label == 0)
    offer = _quantile(benign, OFFER_QUANTILE)
    queue = max(_quantile(benign, QUEUE_QUANTILE), offer)
    indirect = [p for p, label, variant in scored if label == 1 and variant == "indirect"]
    risky = [p for p, label, variant in scored if label == 1 and variant != "indirect"]
    print(
        f"{len(messages)} messages ({sum(labels)} risky); {len(weights)} n-grams kept; "
        f"on the validation set ({validation_dir.name}, {len(validation)} messages): "
        f"offer at {offer:.3f}, queue at {queue:.3f} queues "
        f"{sum(p >= queue for p in risky) / len(risky):.1%} of the risky and "
        f"{sum(p >= queue for p in indirect) / max(1, len(indirect)):.1%} of the indirect ones, "
        f"{sum(p >= queue for p in benign)} of {len(benign)} benign"
    )
    return {
        "about": "Character n-gram logistic regression; see bot/risk/model.py. Generated: do not edit.",
        "trained_on": digest(labelled_dir, validation_dir),
        "bias": shipped.bias,
        "offer": math.ceil(offer * 10_000) / 10_000,  # never rounded under a benign score
        "queue": math.ceil(queue * 10_000) / 10_000,
        "weights": dict(sorted(weights.items())),
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.5
    index = min(len(values) - 1, math.ceil(q * len(values)) - 1)
    return float(values[max(0, index)]) + 1e-6


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "train":
        print(
            "usage: python -m bot.risk.model train [FLOWS_RISK_DIR] [LABELLED_DIR] [VALIDATION_DIR]"
        )
        return 2
    out_dir = Path(argv[1]) if len(argv) > 1 else Path("flows/risk")
    labelled = Path(argv[2]) if len(argv) > 2 else Path("tests/data/risk")
    validation = Path(argv[3]) if len(argv) > 3 else VALIDATION
    data = train(labelled, validation)
    (out_dir / MODEL_FILE).write_text(
        json.dumps(data, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {out_dir / MODEL_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
