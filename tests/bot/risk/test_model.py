"""The statistical second opinion: what it computes, that the shipped model is
trained on the data in the repository, and what a person and a counsellor see
when only the model noticed a risk."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from bot.risk.detector import RiskDetector
from bot.risk.lexicons import Ages, Entry, Lexicon
from bot.risk.matcher import RiskMatcher
from bot.risk.model import (
    MODEL_FILE,
    VALIDATION,
    RiskModel,
    digest,
    features,
    training_messages,
    validation_messages,
)
from bot.testing.webchat import WebChat
from tests.conftest import FLOWS, ROOT
from tests.handoff.test_console_api import login

SHIPPED = FLOWS / "risk" / MODEL_FILE


def test_the_shipped_model_is_trained_on_the_labelled_messages_as_they_are():
    model = RiskModel.load(SHIPPED)
    assert model is not None
    assert model.trained_on == digest(ROOT / "tests" / "data" / "risk", VALIDATION), (
        "tests/data/risk or the validation set changed since flows/risk/model.json was trained: "
        "pip install -e '.[train]' && python -m bot.risk.model train"
    )
    assert 0.0 < model.offer <= model.queue < 1.0


def test_the_thresholds_sit_on_the_benign_tail_of_a_validation_set_never_trained_on():
    """Chosen on benchmarks/data/risk_heldout2 (retired from blind evaluation):
    a queue for at most 1.5% of its benign messages, an offer for at most 2%;
    its messages are left out of training where the tuning files copy them."""
    model = RiskModel.load(SHIPPED)
    validation = validation_messages(VALIDATION)
    benign = sorted(model.score(text) for text, risky, _ in validation if not risky)
    assert len(benign) >= 150
    for threshold, share in ((model.queue, 0.015), (model.offer, 0.02)):
        above = [s for s in benign if s >= threshold]
        assert len(above) <= share * len(benign)
        # ...and no higher than it needs to be: the next benign score is right under it
        assert threshold - max(s for s in benign if s < threshold) < 0.001
    texts = frozenset(text for text, _, _ in validation)
    labelled = ROOT / "tests" / "data" / "risk"
    assert any(text in texts for text, _ in training_messages(labelled))
    assert not any(text in texts for text, _ in training_messages(labelled, texts))


@pytest.mark.parametrize(
    "text",
    [
        "they took my pasport",
        "Mi-au luat pașaportul!!",
        "我的护照被拿走了",
        "hello how are you",
        "aaaaah help me now",
        "",
        "12 34",
    ],
)
def test_the_score_is_the_logistic_regression_of_the_features(text):
    """Word by word with a cache, the score equals the textbook formula."""
    model = RiskModel.load(SHIPPED)
    z = model.bias + sum(model.weights.get(g, 0.0) * v for g, v in features(text).items())
    expected = 1 / (1 + math.exp(-z)) if features(text) else 0.0
    assert model.score(text) == pytest.approx(expected, abs=1e-9)
    assert model.score(text) == pytest.approx(expected, abs=1e-9)  # from the cache


def made_up_model(queue: float) -> RiskModel:
    """A model that only knows that words starting with "qz" are a risk."""
    return RiskModel(weights={" qz": 10.0}, bias=-1.5, offer=0.5, queue=queue)


@pytest.mark.parametrize("text", ["3", "qzz", "qzz qzz", "12 qzz 34", "Milano"])
def test_menu_answers_and_messages_of_under_three_words_get_no_opinion(text):
    """A menu choice, a town, "yes": too few letters to say anything reliable."""
    assert made_up_model(0.9).score(text) == 0.0
    assert made_up_model(0.9).score(f"{text} is here right") > 0.0


def test_chinese_has_no_spaces_and_is_scored_from_four_characters():
    model = RiskModel(weights={" 护照": 10.0}, bias=-1.5, offer=0.5, queue=0.9)
    assert model.score("护照") == 0.0
    assert model.score("护照被拿走了") > 0.5


def test_a_chinese_clause_is_weighed_by_its_characters_not_learnt_whole():
    # a clause without spaces is seen once: as a feature it would only let the
    # model learn its training messages by heart
    found = features("老板把我的护照拿走了 help me please")
    assert " 护照" not in found and "护照" in "".join(found)
    assert not [name for name in found if name.startswith(("w:", "b:")) and "护" in name]
    assert "w:help" in found and "b:help me" in found


def test_a_model_hit_without_a_lexicon_hit_offers_and_when_confident_queues():
    nothing = RiskMatcher([])
    score = made_up_model(0.9).score("qzz is here")
    assert 0.5 < score < 0.9
    offer = RiskDetector(nothing, made_up_model(0.9)).match("qzz is here")
    assert (offer.severity, offer.concept, offer.why) == (
        "medium",
        "model",
        f"the model's score {score:.2f}",
    )
    queue = RiskDetector(nothing, made_up_model(0.55)).match("qzz is here")
    assert queue.severity == "high"
    assert RiskDetector(nothing, made_up_model(0.55)).match("hello there you") is None


def test_a_confident_model_queues_what_a_lexicon_only_offered():
    """ "afraid" alone offers a counsellor; the model, confident about the whole
    message, queues her, and the counsellor sees both reasons."""
    afraid = Entry("medium", "distress", "afraid", "en")
    lexicon = RiskMatcher([Lexicon("en", phrases=[afraid])])
    text = "qzz qzz afraid"
    score = made_up_model(0.55).score(text)
    assert score > 0.55
    found = RiskDetector(lexicon, made_up_model(0.55)).match(text)
    assert (found.severity, found.concept, found.why) == (
        "high",
        "model",
        f'the model\'s score {score:.2f}, with "afraid" (en)',
    )
    # Not confident: the lexicon's offer stands.
    found = RiskDetector(lexicon, made_up_model(0.999)).match(text)
    assert (found.severity, found.concept) == ("medium", "distress")
    # A lexicon hit that already queues is never second-guessed.
    hit = Entry("critical", "threat_to_kill", "kill me", "en")
    both = RiskMatcher([Lexicon("en", phrases=[afraid, hit])])
    found = RiskDetector(both, made_up_model(0.5)).match("qzz qzz kill me")
    assert (found.severity, found.concept, found.why) == (
        "critical",
        "threat_to_kill",
        '"kill me" (en)',
    )


@pytest.mark.parametrize(
    "text",
    ["qzz is here haha", "qzz is here 😂", "jaja qzz is here", "qzz is here ahah", "qzz тут ахах"],
)
def test_a_message_that_laughs_gets_no_opinion_from_the_model(text):
    model = RiskModel(weights={" qz": 20.0}, bias=-1.5, offer=0.5, queue=0.55)
    assert model.score(text) >= model.offer  # an opinion, were it not for the laughter
    assert RiskDetector(RiskMatcher([]), model).match(text) is None


async def test_the_counsellor_sees_that_the_model_queued_her_and_its_score(
    make_client,
    team,  # noqa: F811 (the fixture imported above)
    tmp_path,
):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    model = made_up_model(0.55)
    (flows / "risk" / MODEL_FILE).write_text(
        json.dumps({"weights": model.weights, "bias": model.bias, "offer": 0.5, "queue": 0.55})
    )
    client = await make_client(flows_dir=flows)
    await login(client, "ana")
    chat = WebChat(client)
    await chat.start()
    await chat.say("qzz is here")
    [entry] = await (await client.get("/console/api/queue")).json()
    assert (entry["priority"], entry["risk"]) == ("high", "model")
    body = await (await client.get(f"/console/api/conversations/{entry['id']}")).json()
    [said] = [m for m in body["messages"] if m["from"] == "user" and m["text"] == "qzz is here"]
    assert said["why"] == f"the model's score {model.score('qzz is here'):.2f}"


def test_a_childs_age_that_the_model_finds_at_risk_is_a_child_at_risk():
    """ "my son is 15" alone is a mother's question; with a message the model
    reads as a risk, a child at risk: queued at high, and the counsellor sees why."""
    ages = Ages(say=["is"], years=["years"], others=["my son"])
    afraid = Entry("medium", "distress", "afraid", "en")
    parents = RiskMatcher([Lexicon("en", phrases=[afraid], ages=ages)])
    detector = RiskDetector(parents, made_up_model(0.99))
    text = "my son is 15, qzz qzz"
    score = detector.model.score(text)
    assert detector.model.offer <= score < detector.model.queue
    found = detector.match(text)
    assert (found.severity, found.concept, found.why) == (
        "high",
        "minor",
        f"the model's score {score:.2f}, with \"15 (a child's age)\" (en)",
    )
    assert detector.match("my son is 15 and plays football") is None
