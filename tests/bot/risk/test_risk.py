"""Risk detection: the matcher's robustness, the lexicons' quality on our
labelled messages, and what a person experiences when a risk phrase arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.risk.evaluate import evaluate
from bot.risk.lexicons import Entry, Lexicon
from bot.risk.matcher import RiskMatcher, load_matcher
from bot.testing.webchat import WebChat
from tests.conftest import FLOWS, ROOT

LABELLED = ROOT / "tests" / "data" / "risk"


@pytest.fixture(scope="module")
def matcher() -> RiskMatcher:
    found, issues = load_matcher(FLOWS / "risk")
    assert found is not None, issues
    return found


def small() -> RiskMatcher:
    en = Lexicon(
        "en",
        phrases=[
            Entry("critical", "threat_to_kill", "he will kill me", "en"),
            Entry("high", "documents_withheld", "took my passport", "en"),
        ],
        combinations=[
            (Entry("critical", "self_harm", "pills + tonight", "en"), ("pills", "tonight"))
        ],
        exclusions=["this heat is killing me", "kill time"],
    )
    ru = Lexicon("ru", phrases=[Entry("high", "documents_withheld", "забрали паспорт", "ru")])
    ar = Lexicon("ar", phrases=[Entry("high", "confinement", "حبسني", "ar")])
    zh = Lexicon(
        "zh",
        phrases=[Entry("high", "documents_withheld", "护照被拿走", "zh")],
        exclusions=["护照被拿走了吗"],
    )
    return RiskMatcher([en, ru, ar, zh])


@pytest.mark.parametrize(
    "text",
    [
        "He will kill me",  # case
        "HE WILL KILLLLL ME!!!",  # repeated letters
        "he w1ll k1ll m3",  # leetspeak
        "he will kil me",  # a missing letter
        "they tookk my pasport",  # one typo in each of two words
        "they took my passprot",  # swapped letters
        "забрали паспорт",  # Cyrillic
        "zabrali pasport",  # Cyrillic typed in Latin letters
        "Zabrali passport!!",
        "7absni",  # Arabizi for حبسني
        "حَبَسَني",  # with diacritics
        "我的护照被拿走",  # Chinese, inside a sentence
        "I have 30 pills for tonight",  # a combination: method and time, anywhere
        "tonight... 30pills",
    ],
)
def test_variants_are_caught(text):
    assert small().match(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "this heat is killing me",
        "I need to kill time",
        "I took my pills this morning",
        "tonight I sleep",
        "my passport photo",
        "护照被拿走了吗",
        "he is going to call me",
    ],
)
def test_benign_uses_are_not(text):
    assert small().match(text) is None, text


def test_arabic_qaf_written_as_the_glottal_stop_it_is_said_as():
    # Levantine and Egyptian say ق as a glottal stop and text it so
    ar = Lexicon("ar", phrases=[Entry("critical", "threat_to_kill", "رح يقتلني", "ar")])
    matcher = RiskMatcher([ar])
    assert matcher.match("رح يأتلني") is not None
    assert matcher.match("رح يئتلني الليلة") is not None
    assert matcher.match("رح ياكلني") is None  # another word, not a qaf heard


def test_arabic_present_marked_with_b_as_levantine_and_egyptian_speak_it():
    ar = Lexicon("ar", phrases=[Entry("high", "violence", "يضربني", "ar")])
    matcher = RiskMatcher([ar])
    assert matcher.match("هو بيضربني كل يوم") is not None
    assert matcher.match("بيتي بعيد") is None  # "my house": no verb behind the ب


def test_the_most_severe_match_wins():
    found = small().matches("they took my passport and he will kill me")
    assert [m.severity for m in found] == ["critical", "high"]


def test_recall_and_false_positives_per_language(matcher):
    scores = evaluate(matcher, LABELLED)
    assert scores, "no labelled messages"
    for score in scores:
        assert score.risky >= 20 and score.benign >= 20, score.language
        assert score.urgent_recall >= 0.95, (score.language, score.urgent_recall, score.misses)
        assert score.false_positive_rate <= 0.05, (score.language, score.false_alarms)


async def test_a_risk_phrase_in_any_state_reaches_the_queue_with_its_priority(make_client, redis):
    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    await chat.say("1")
    await chat.say("2")  # deep in the rights menu
    text = await chat.say("he is going to kill me tonight")
    assert "call 112" in text  # a critical match gives the emergency number at once
    entries = [await redis.hgetall(k) for k in await redis.keys("hl:c:*:handoff")]
    assert len(entries) == 1
    assert entries[0][b"severity"] == b"critical" and entries[0][b"category"] == b"threat_to_kill"
    # Unclaimed, the menus keep working for her; she stays in line
    assert "How can I help" in await chat.say("MENU")
    assert await redis.zcard("hl:queue:waiting") == 1


async def test_a_first_message_with_a_risk_still_gets_the_discreet_welcome(make_client, redis):
    client = await make_client()
    chat = WebChat(client)
    await chat.send("they took my passport")
    text = "\n".join(await chat.replies())
    assert "confidential" in text and "EXIT" in text
    for _ in range(50):
        if await redis.keys("hl:c:*:handoff"):
            break
        await asyncio.sleep(0.05)
    [key] = await redis.keys("hl:c:*:handoff")
    assert (await redis.hget(key, "severity")) == b"high"


def test_lexicons_reload_with_the_flows(tmp_path):
    import shutil

    from bot.runtime.live import Flows

    flows_dir = tmp_path / "flows"
    shutil.copytree(FLOWS, flows_dir)
    assert Path(flows_dir / "risk" / "en.yaml").exists()
    Flows(flows_dir, ROOT / "locales")  # loads with the lexicons in place


# What the frontline review of issue 13 found missing or wrongly flagged.
@pytest.mark.parametrize(
    "text, concept",
    [
        ("they have my passport", "documents_withheld"),
        ("I owe them money", "debt_bondage"),
        ("they said they will hurt my family back home", "threat_to_family"),
        ("I can't leave", "confinement"),
        ("they won't let me go", "confinement"),
        ("he just pushed me down the stairs", None),
        ("I am 16", "minor"),
        ("J'ai 16 ans", "minor"),
        ("Tengo 16 años", "minor"),
        ("Ho 16 anni", "minor"),
        ("Ich bin 16", "minor"),
        ("Jam 16 vjeç", "minor"),
        ("عمري 16 سنة", "minor"),
        ("我16岁", "minor"),
        ("mi hanno chiusa in casa e non posso uscire", "confinement"),
        ("Er hat mich gerade die Treppe runtergestoßen", None),
    ],
)
def test_what_the_frontline_review_missed_is_caught(matcher, text, concept):
    found = matcher.match(text)
    assert found is not None and found.severity in ("critical", "high"), (text, found)
    if concept:
        assert concept in {m.concept for m in matcher.matches(text)}, (text, matcher.matches(text))


@pytest.mark.parametrize(
    "text",
    [
        "I am 14 weeks pregnant",
        "the shelter is 16 km away",
        "the app forced me to update",
        "this grammar is killing me",
        "the queue at the town hall will kill me",
        "I'm dying of laughter",
        "you are killing me with your questions",
        "I still owe nothing to anybody",
        "it costs 15 euros",
    ],
)
def test_what_the_frontline_review_flagged_wrongly_is_not(matcher, text):
    assert matcher.match(text) is None, (text, matcher.match(text))


# Figures of speech and somebody else's age: the rules found on the model's
# training messages (tests/data/risk/model/), never on the held-out set.
@pytest.mark.parametrize(
    "text",
    [
        "my boss will kill me if im late again haha",
        "mi jefa me mata si llego tarde otra vez 😂",
        "начальник меня убьет если я опять опоздаю хахах",
        "ce partiel de maths va me tuer",
        "examenul asta ma omoara, mai am trei capitole",
        "ta sesja mnie zabije, jutro mam trzy egzaminy",
        "ez a hőség megöl, 38 fok van a lakásban",
        "my son is 15 and wants to play football",
        "ma fille a 16 ans, elle peut travailler l'été ?",
        "dъщеря ми е на 12, къде мога да я запиша на плуване".replace("d", "д"),
        "我儿子15岁了 想学游泳",
        "I have 15 years of experience as a cook, can I work here?",
        "i worked there for 12 years",
        "mam 16 lat doświadczenia jako pielęgniarka",
        # a typo read on top of a transliteration: "asyl" is not Russian "насил"
        "ich schulde niemandem was, ich will nur wissen wie das mit dem asyl geht",
        # "强jian" (rape, pinyin typed for a character) needs its "jian"
        "这个app非要我强制更新 更新完打不开了",
        # a span of time in the language of the years word ("anni" folds like Romanian "ani")
        "vivo in italia da 12 anni, posso chiedere la cittadinanza?",
        "il y a 15 ans je suis arrivée en France",
    ],
)
def test_figures_of_speech_and_a_childs_age_are_not_risks(matcher, text):
    assert matcher.match(text) is None, (text, matcher.matches(text))


@pytest.mark.parametrize(
    "text, concept",
    [
        ("he will kill me after the exam", "violence_now|threat_to_kill"),
        ("my father will kill me if he finds out", "violence_now|threat_to_kill"),
        ("i want to die lol", "self_harm"),  # laughing can hide a real wish
        ("my sister is 15 and she is here with me", "minor"),
        ("I am 15", "minor"),
        ("i am 15 years old", "minor"),
        ("mam 16 lat", "minor"),
        ("mne ochen ploho, krov ne ostanavlivaetsya", "medical_emergency"),
        ("他强jian了我", "rape"),
        ("عمري ١٦ سنة", "minor"),  # Arabic-Indic digits are numbers too
        ("da 15 ani si ma tin inchisa", "minor|confinement"),
        ("j'ai 15 ans il y a des hommes qui viennent", "minor"),
    ],
)
def test_what_looks_like_a_figure_but_can_be_meant_still_matches(matcher, text, concept):
    assert {m.concept for m in matcher.matches(text)} & set(concept.split("|")), (
        text,
        matcher.matches(text),
    )


@pytest.fixture(scope="module")
def detector():
    from bot.risk.detector import LiveRisk

    return LiveRisk(FLOWS / "risk")


@pytest.mark.parametrize(
    "text, concept, why",
    [
        # An age with a more severe or an equal risk: that one leads, and the
        # counsellor is told the person is under 18 as well.
        ("he will kill me, I am 14", "threat_to_kill", '"kill ~ me" (en); also under 18'),
        ("I am 15 and he hits me every day", "violence", '"he hits me" (en); also under 18'),
        ("I am 16", "minor", '"16 (an age)" (pcm)'),  # pcm says "I am" as en does
        ("he hits me", "violence", '"he hits me" (en)'),
    ],
)
def test_an_age_under_18_is_never_hidden_by_another_risk(detector, text, concept, why):
    match = detector.match(text)
    assert (match.concept, match.why) == (concept, why)
    assert match.about_a_minor == ("18" in why or concept == "minor")


@pytest.mark.parametrize(
    "text",
    [
        "мама меня убьет если я опять опоздаю на автобус",  # ru: mum will kill me if I'm late
        "мама ще ме убие ако пак закъснея",  # bg
        "my sister go kill me if i no call am today",  # pcm
        "mia sorella mi ammazza se scopre che ho mangiato la torta",  # it
        "mi mamá me mata si llego tarde otra vez",  # es
    ],
)
def test_a_mother_or_sister_who_will_kill_her_if_she_is_late_is_a_figure_of_speech(matcher, text):
    assert matcher.match(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "брат меня убьет если узнает",  # ru: my brother will kill me if he finds out
        "баща ми ще ме убие ако разбере",  # bg: my father
        "my papa go kill me if e hear",  # pcm
        "mio fratello mi ammazza se lo scopre",  # it
        "mi hermano me mata si se entera",  # es: "hermano", never silenced by "hermana"
        "мама меня убьет, он сказал, если я уйду",  # ru: not the figure word for word: a threat
    ],
)
def test_a_father_or_brother_who_will_kill_her_is_a_threat(matcher, text):
    found = matcher.match(text)
    assert found is not None and found.severity == "critical", text
