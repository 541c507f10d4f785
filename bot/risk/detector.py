"""Both readers of every message: the lexicons first, then, unless a lexicon
entry already queues her (high or critical), the statistical model
(bot/risk/model.py). A model hit offers a counsellor (medium) and, when the
model is confident, queues her at high, also over a lexicon's mere offer
("they showed me photos of my kids and said they would hurt them, I am so
afraid": "afraid" alone offers; the whole message queues)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from bot.risk.lexicons import MINOR, SEVERITY_RANK, Match
from bot.risk.matcher import RiskMatcher, jesting, load_matcher
from bot.risk.model import MODEL_FILE, RiskModel

log = logging.getLogger("helpline.risk")

MODEL = "model"  # the concept of a match that the model saw (alone, or queued)
QUEUE = "high"  # the severity of a confident model


class RiskDetector:
    def __init__(self, matcher: RiskMatcher | None, model: RiskModel | None):
        self.matcher = matcher
        self.model = model

    def match(self, text: str) -> Match | None:
        """The most severe risk in `text`, marked `minor` when the message also
        says the person at risk is under 18 (the flows offer a child's rights,
        and the counsellor is told)."""
        found, kin = self.matcher.reading(text) if self.matcher is not None else ([], [])
        match = self._most_severe(text, found, kin)
        if match is not None and not match.about_a_minor and any(m.concept == MINOR for m in found):
            return replace(match, minor=True)
        return match

    def _most_severe(self, text: str, found: list[Match], kin: list[Match]) -> Match | None:
        lexicon = found[0] if found else None
        if self.model is None or (
            lexicon and SEVERITY_RANK[lexicon.severity] <= SEVERITY_RANK[QUEUE]
        ):
            return lexicon
        opinion = self.model_match(text)
        if opinion is None:
            return lexicon
        if kin:
            # "my daughter is 14, a man from the internet took her": the model sees a
            # risk, and the message gives a child's age: a child at risk.
            return Match(kin[0].severity, MINOR, kin[0].phrase, kin[0].language, opinion.score)
        if lexicon is None:
            return opinion
        if opinion.severity == QUEUE:
            # The counsellor sees both: the words the lexicon found, the model's score.
            return Match(QUEUE, MODEL, lexicon.phrase, lexicon.language, opinion.score)
        return lexicon

    def model_match(self, text: str) -> Match | None:
        """The model's opinion, unless the message laughs ("you're killing me with
        your questions haha"): the model reads words, not tone, and what is meant
        laughing is the lexicons' to judge (they keep self-harm said laughing)."""
        if self.model is None or jesting(text):
            return None
        score = self.model.score(text)
        if score >= self.model.queue:
            return Match(QUEUE, MODEL, "", "", round(score, 2))
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
