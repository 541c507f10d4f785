"""Both readers of every message: the lexicons first, then, when no lexicon
entry matched, the statistical model (bot/risk/model.py). A model hit offers a
counsellor (medium) and, when the model is confident, queues her at high."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.risk.lexicons import Match
from bot.risk.matcher import RiskMatcher, jesting, load_matcher
from bot.risk.model import MODEL_FILE, RiskModel

log = logging.getLogger("helpline.risk")

MODEL = "model"  # the concept of a match that only the model saw


class RiskDetector:
    def __init__(self, matcher: RiskMatcher | None, model: RiskModel | None):
        self.matcher = matcher
        self.model = model

    def match(self, text: str) -> Match | None:
        found = self.matcher.match(text) if self.matcher is not None else None
        if found is not None or self.model is None:
            return found
        return self.model_match(text)

    def model_match(self, text: str) -> Match | None:
        """The model's opinion, unless the message laughs ("you're killing me with
        your questions haha"): the model reads words, not tone, and what is meant
        laughing is the lexicons' to judge (they keep self-harm said laughing)."""
        if self.model is None or jesting(text):
            return None
        score = self.model.score(text)
        if score >= self.model.queue:
            return Match("high", MODEL, "", "", round(score, 2))
        if score >= self.model.offer:
            return Match("medium", MODEL, "", "", round(score, 2))
        return None


class LiveRisk(RiskDetector):
    """The detector over `directory` (flows/risk), built again by `reload` when
    the flows reload; an edit with errors keeps the previous lexicons."""

    def __init__(self, directory: Path):
        super().__init__(None, None)
        self.directory = directory
        self.reload()

    def reload(self) -> None:
        if not self.directory.is_dir():
            self.matcher = self.model = None
            return
        matcher, issues = load_matcher(self.directory)
        if matcher is None:
            log.error(
                "risk lexicons have errors; keeping the previous ones:\n%s",
                "\n".join(str(i) for i in issues if i.severity == "error"),
            )
        else:
            self.matcher = matcher
        try:
            self.model = RiskModel.load(self.directory / MODEL_FILE)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("risk model %s is unreadable (%s); keeping the previous one", MODEL_FILE, exc)
