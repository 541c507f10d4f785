"""The matcher's reading of a message: stems and prefixes, words in another
order, ages, exclusions, concepts with one severity. Small lexicons written
here, so that each test shows the rule it checks."""

from __future__ import annotations

import pytest

from bot.risk.lexicons import Ages, Entry, Lexicon, coverage, load_lexicons
from bot.risk.matcher import RiskMatcher


def entry(concept: str, text: str, language: str, severity: str = "critical") -> Entry:
    return Entry(severity, concept, text, language)


def near(concept: str, words: list[str], language: str, severity: str = "critical"):
    return (entry(concept, " ~ ".join(words), language, severity), tuple(words))


@pytest.fixture(scope="module")
def matcher() -> RiskMatcher:
    en = Lexicon(
        "en",
        phrases=[entry("documents_withheld", "have my passport", "en", "high")],
        near=[near("threat_to_kill", ["kill", "me"], "en")],
        exclusions=["is killing me with", "grammar is killing me", "killing me softly"],
        near_exclusions=[("queue", "kill")],
        ages=Ages(say=["i am", "im", "she is"], years=["years", "yo"]),
    )
    pl = Lexicon("pl", near=[near("threat_to_kill", ["zabije", "mnie"], "pl")])
    hu = Lexicon("hu", near=[near("threat_to_kill", ["megöl", "engem"], "hu")])
    ru = Lexicon("ru", near=[near("confinement", ["запер*", "меня"], "ru", "high")])
    ar = Lexicon("ar", phrases=[entry("threat_to_kill", "يقتلني", "ar")])
    zh = Lexicon("zh", ages=Ages(years=["岁"]))
    return RiskMatcher([en, pl, hu, ru, ar, zh])


@pytest.mark.parametrize(
    "text",
    [
        "he will kill me",
        "they are going to kill me",
        "kill me he will",
        "he said he would KILLLL me",
        "they're gonna kill me tonight",
        "he kills me if I talk",
        "zabiją mnie",  # Polish: they will kill me
        "on mnie zabije",  # he will kill me, another order
        "megölnek engem",  # Hungarian: they will kill me
        "engem megöl a férjem",  # my husband will kill me
        "меня заперли в квартире",  # Russian: they locked me in the flat (prefix запер*)
        "menya zaperli",  # the same in Latin letters
        "سيقتلني",  # Arabic: he will kill me (stem)
        "they still have my passport",
        "the queue was long, and then he said he will kill me",  # the exclusion's words are far apart
    ],
)
def test_one_entry_covers_inflections_and_word_order(matcher, text):
    assert matcher.match(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "kill the spider on the wall and then call me",  # more than three words apart
        "this grammar is killing me",  # an exclusion
        "my boss is killing me with paperwork",
        "ząb mnie boli",  # Polish: my tooth hurts ("zab" is not a stem of zabić)
        "I have a passport now",
        "the queue at the town hall will kill me",  # a near exclusion: [queue, kill]
    ],
)
def test_benign_messages_are_not_read_as_risks(matcher, text):
    assert matcher.match(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        "I am 16",
        "im 15 and they make me work",
        "I am 16, please help",
        "she is 14 years old",
        "14yo",
        "我16岁",
    ],
)
def test_an_age_under_18_is_a_minor(matcher, text):
    found = matcher.match(text)
    assert found is not None and found.concept == "minor" and found.severity == "high", text


@pytest.mark.parametrize(
    "text",
    [
        "I am 14 weeks pregnant",
        "the shelter is 16 km away",
        "I am 16 km from the station",
        "I owe 15 euros",
        "I am 25",
        "she is 30 years old",
        "we were 12 hours on the bus",
        "我25岁",
    ],
)
def test_other_numbers_are_not_ages(matcher, text):
    assert matcher.match(text) is None, text


def test_a_match_says_why(matcher):
    found = matcher.match("they are going to kill me")
    assert found.concept == "threat_to_kill" and found.why == '"kill ~ me" (en)'


def write(directory, name, text):
    (directory / name).write_text(text, encoding="utf-8")


def test_severity_is_the_concepts_in_every_language(tmp_path):
    write(
        tmp_path,
        "concepts.yaml",
        "concepts:\n  debt_bondage: {severity: high}\n  self_harm: {severity: critical}\n",
    )
    write(
        tmp_path,
        "en.yaml",
        "language: en\nrisks:\n  - concept: debt_bondage\n    phrases: [i owe them money]\n",
    )
    write(
        tmp_path,
        "ro.yaml",
        "language: ro\nrisks:\n  - concept: debt_bondage\n    phrases: [le datorez bani]\n",
    )
    lexicons, issues = load_lexicons(tmp_path)
    assert {e.severity for lexicon in lexicons for e in lexicon.entries} == {"high"}
    # a concept a language lacks is a warning that points at the language
    missing = sorted(str(i) for i in issues)
    assert missing == [
        f"{tmp_path}/en.yaml:1: warning: concept self_harm (critical) has no words in en [concept-missing]",
        f"{tmp_path}/ro.yaml:1: warning: concept self_harm (critical) has no words in ro [concept-missing]",
    ]
    assert coverage(lexicons, {}) == []


def test_shipped_lexicons_cover_every_concept_in_every_language():
    from tests.conftest import FLOWS

    lexicons, issues = load_lexicons(FLOWS / "risk")
    assert [str(i) for i in issues] == []
    assert {lexicon.language for lexicon in lexicons} >= {
        "en",
        "pcm",
        "ro",
        "bg",
        "ru",
        "uk",
        "pl",
        "hu",
        "sq",
        "it",
        "es",
        "fr",
        "de",
        "ar",
        "zh",
    }


def test_a_typo_guard_never_switches_off_a_group_word_of_the_same_stem():
    """Spanish "pastilla" as a typo guard and "pastillas" in a group share a stem."""
    es = Lexicon(
        "es",
        near=[near("self_harm", ["pastillas", "todas"], "es")],
        exclusions=["pastilla"],
    )
    found = RiskMatcher([es]).match("me tome todas las pastillas")
    assert found is not None and found.concept == "self_harm"


def test_a_long_word_never_folds_to_a_common_short_one():
    """ "juju" must not become "u", the Russian preposition у."""
    pcm = Lexicon("pcm", phrases=[entry("threat_to_family", "juju", "pcm", "high")])
    matcher = RiskMatcher([pcm])
    assert matcher.match("dem swear me for juju") is not None
    assert matcher.match("у меня есть вопрос о документах") is None


def test_the_one_letter_pronoun_ya_is_not_the_latin_word_a():
    """Bulgarian "я" (her) folded like any word is "a", the Latin word of Albanian,
    Hungarian, Italian, Romanian and Spanish; as a whole word it keeps a skeleton
    of its own, which its Latin spellings "ya", "ja" share."""
    bg = Lexicon("bg", near=[near("violence", ["бие", "я"], "bg", "high")])
    ru = Lexicon("ru", phrases=[entry("distress", "я боюсь", "ru", "medium")])
    matcher = RiskMatcher([bg, ru])
    assert matcher.match("той я бие всеки ден") is not None  # he beats her every day
    assert matcher.match("ya boyus") is not None  # Russian in Latin letters
    assert matcher.match("a mund t'i bie ziles") is None  # Albanian: may I ring the bell?


def test_a_latin_word_of_three_consonants_is_arabizi_only_with_a_digit_or_among_arabizi():
    """ "enfin" (French: at last) has the consonants of يعنفني (he abuses me): read as
    Arabizi only when a digit says it is ("y3enfni"), or in a message written in
    Arabizi ("ya3ni huwa enfni")."""
    ar = Lexicon("ar", phrases=[entry("violence", "يعنفني", "ar", "high")])
    matcher = RiskMatcher([ar])
    assert matcher.match("mon patron m'a donné mon week end enfin") is None
    assert matcher.match("y3enfni kol nhar") is not None
    assert matcher.match("ya3ni huwa enfni kol nhar") is not None


def test_a_figurative_word_only_speaks_for_its_own_language():
    """English "movie" folds like Polish "mówi" (says): "he says he will kill me" is meant."""
    en = Lexicon("en", near=[near("threat_to_kill", ["kill", "me"], "en")], figurative=["movie"])
    pl = Lexicon("pl", near=[near("threat_to_kill", ["zabije", "mnie"], "pl")])
    matcher = RiskMatcher([en, pl])
    assert matcher.match("this movie will kill me") is None
    assert matcher.match("on mówi że mnie zabije") is not None


@pytest.fixture(scope="module")
def parents() -> RiskMatcher:
    en = Lexicon(
        "en",
        phrases=[entry("distress", "scared", "en", "medium")],
        ages=Ages(say=["i am", "is"], years=["years"], others=["my son", "my daughter"]),
    )
    zh = Lexicon("zh", ages=Ages(years=["岁"], others=["女儿"]))
    return RiskMatcher([en, zh])


@pytest.mark.parametrize("text", ["my son is 15 and plays football", "我女儿16岁 想学游泳"])
def test_a_childs_age_alone_is_no_risk(parents, text):
    assert parents.matches(text) == []
    assert [m.concept for m in parents.reading(text)[1]] == ["minor"]


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("my daughter is 14 and I am scared", "14 (a child's age)"),
        ("我女儿16岁 scared", "16岁"),
    ],
)
def test_a_childs_age_with_another_risk_is_a_child_at_risk(parents, text, age):
    found = parents.matches(text)
    assert [(m.severity, m.concept, m.phrase) for m in found] == [
        ("high", "minor", age),
        ("medium", "distress", "scared"),
    ]


def test_a_groups_prefix_sees_a_word_that_another_lexicon_holds_whole():
    """ "документы" is a key of its own (a Bulgarian phrase's word); the Russian
    group's "документ*" still finds it, in any order."""
    bg = Lexicon("bg", phrases=[entry("documents_withheld", "документы ми", "bg", "high")])
    ru = Lexicon("ru", near=[near("documents_withheld", ["забрали", "документ*"], "ru", "high")])
    matcher = RiskMatcher([bg, ru])
    assert matcher.canonical("документы") != matcher.canonical("документ")
    for text in ["забрали мои документы", "документы у меня забрали"]:
        assert [m.phrase for m in matcher.matches(text)] == ["забрали ~ документ*"], text
    assert matcher.matches("документы мои в порядке") == []


def test_a_benign_group_covers_both_readings_of_a_message_with_an_apostrophe():
    """Ukrainian "вб'є" (will kill) is read with and without its apostrophe; the
    queue that "kills" is a figure of speech in both readings."""
    uk = Lexicon(
        "uk",
        phrases=[entry("violence_now", "вб'є", "uk")],
        near_exclusions=[("черга", "вб'є")],
    )
    matcher = RiskMatcher([uk])
    assert matcher.matches("він мене вб'є") != []
    assert matcher.matches("черга в міграційній службі сьогодні мене просто вб'є") == []


def test_an_arabic_letter_stretched_three_times_is_read_once():
    ar = Lexicon("ar", phrases=[entry("distress", "الحقوني", "ar", "medium")])
    matcher = RiskMatcher([ar])
    assert [m.phrase for m in matcher.matches("الحقوووووني بسرعة")] == ["الحقوني"]
