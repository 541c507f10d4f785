"""The statistical second opinion: what it computes, that the shipped model is
trained on the data in the repository, and what a person and a counsellor see
when only the model noticed a risk."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from bot.risk.detector import RiskDetector
from bot.risk.matcher import RiskMatcher
from bot.risk.model import MODEL_FILE, RiskModel, digest, features
from bot.testing.webchat import WebChat
from tests.conftest import FLOWS, ROOT
from tests.handoff.test_console_api import login, team  # noqa: F401 (a fixture)

SHIPPED = FLOWS / "risk" / MODEL_FILE


def test_the_shipped_model_is_trained_on_the_labelled_messages_as_they_are():
    model = RiskModel.load(SHIPPED)
    assert model is not None
    assert model.trained_on == digest(ROOT / "tests" / "data" / "risk"), (
        "tests/data/risk changed since flows/risk/model.json was trained: "
        "pip install -e '.[train]' && python -m bot.risk.model train"
    )
    assert 0.0 < model.offer <= model.queue < 1.0


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


@pytest.mark.parametrize("text", ["qzz is here haha", "qzz is here 😂", "jaja qzz is here"])
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
