"""The pure engine on the shipped flows: no Redis, no HTTP, a fixed clock."""

from __future__ import annotations

from collections import deque

import pytest

from bot.channels import REGISTRY
from bot.conversation.engine import Engine
from bot.conversation.model import MODE_ENDED, Context, Conversation, Event
from bot.flows.load import load_flowset
from bot.flows.schema import ACTIONS
from bot.i18n.catalogs import Catalogs
from tests.conftest import FLOWS, LOCALES

NOW = 1_767_225_600.0


@pytest.fixture(scope="module")
def engine() -> Engine:
    flowset, issues = load_flowset(FLOWS)
    assert flowset is not None, issues
    return Engine(flowset, Catalogs(LOCALES))


def at(
    engine: Engine, flow: str, state: str, channel: str = "web", language: str = "en"
) -> Conversation:
    return Conversation(flow, state, language, updated_at=NOW, version=engine.flowset.version)


def moves(engine: Engine, conv: Conversation, channel: str) -> list:
    """Every result one event can lead to from `conv` (options, inputs, outcomes)."""
    ctx = Context(channel, NOW + 1)
    state = engine.flowset.state(conv.flow, conv.state)
    events = [Event("text", str(o.number)) for o in state.options]
    if state.languages:
        events += [Event("text", "1"), Event("text", str(len(engine.translator.languages)))]
    if state.input:
        events.append(Event("text", "Bologna"))
        if state.input.location:
            events.append(Event("location", location=(44.49, 11.34)))
    results = [engine.step(conv, event, ctx) for event in events]
    expanded = []
    for result in results:
        if result.pending is not None:
            for outcome in ACTIONS[result.pending.name].outcomes:
                expanded.append(engine.resume(result.conversation, outcome, ctx, {}))
        else:
            expanded.append(result)
    return expanded


def test_every_state_is_reached_and_none_is_a_dead_end(engine):
    reached: set[tuple[str, str]] = set()
    for channel in REGISTRY:  # some states serve one channel only
        start = engine.step(None, Event("text", "hello"), Context(channel, NOW))
        # A medium risk match enters the `offer` target from any state.
        offer = engine.enter(start.conversation, engine.settings.offer, Context(channel, NOW))
        # A message saying she is under 18 sets `minor` and queues her.
        child = engine.step(None, Event("text", "hello"), Context(channel, NOW)).conversation
        child.variables["minor"] = "yes"
        asked = engine.enter(child, engine.settings.human, Context(channel, NOW))
        minor = engine.resume(asked.conversation, "queued", Context(channel, NOW), {})
        roots = [start.conversation, offer.conversation, minor.conversation]
        seen = {(c.flow, c.state) for c in roots}
        queue = deque(roots)
        while queue:
            conv = queue.popleft()
            for result in moves(engine, conv, channel):
                key = (result.conversation.flow, result.conversation.state)
                assert result.replies or result.actions or result.pending, f"{key}: nothing said"
                if key not in seen:
                    seen.add(key)
                    queue.append(result.conversation)
        reached |= seen
    every = {(f.name, s) for f in engine.flowset.flows.values() for s in f.states}
    # States passed through on the way (next:, an action with outcomes) are
    # entered but never rest.
    passing = {
        (f.name, s.name)
        for f in engine.flowset.flows.values()
        for s in f.states.values()
        if s.next or any(ACTIONS[a.name].outcomes for a in s.actions)
    }
    missing = every - reached - passing
    assert not missing, missing


def test_first_contact_is_discreet_and_names_the_exit_word(engine):
    for channel in ("web", "sms", "telegram"):
        result = engine.step(None, Event("text", "hi"), Context(channel, NOW))
        text = " ".join(r.text for r in result.replies).lower()
        assert "exit" in text and "confidential" in text and "safe for you to talk" in text
        for word in ("traffick", "abuse", "shelter", "police", "violence"):
            assert word not in text, (channel, word)
    sms = engine.step(None, Event("text", "hi"), Context("sms", NOW))
    assert "delete these texts" in sms.replies[0].text  # an SMS cannot be erased by us


@pytest.mark.parametrize(
    "keyword, where",
    [
        ("MENU", ("main", "menu")),
        ("language", ("language", "choose")),
        ("Counsellor", ("counsellor", "ask")),
    ],
)
def test_global_keywords_work_in_every_state(engine, keyword, where):
    for flow in engine.flowset.flows.values():
        for name in flow.states:
            result = engine.step(
                at(engine, flow.name, name), Event("text", keyword), Context("web", NOW + 1)
            )
            assert (result.conversation.flow, result.conversation.state) == where, (flow.name, name)


def test_exit_in_every_state_is_a_safe_exit_with_nothing_said(engine):
    for flow in engine.flowset.flows.values():
        for name in flow.states:
            result = engine.step(
                at(engine, flow.name, name), Event("text", " exit "), Context("sms", NOW + 1)
            )
            assert [a.name for a in result.actions] == ["safe_exit"] and result.replies == []


def test_unknown_input_gets_a_reprompt_with_the_menu_again(engine):
    result = engine.step(
        at(engine, "main", "menu"), Event("text", "banana"), Context("web", NOW + 1)
    )
    assert not result.understood
    assert result.replies[0].text.startswith("Sorry, I did not understand")
    assert [label for label, _ in result.replies[-1].options][:2] == ["Leave safely", "Your rights"]
    assert (result.conversation.flow, result.conversation.state) == ("main", "menu")


def test_answers_by_number_label_keyword_and_button(engine):
    ctx = Context("web", NOW + 1)
    for event in (
        Event("text", "2"),
        Event("text", "２."),
        Event("text", "your RIGHTS"),
        Event("text", "I need a lawyer"),
        Event("button", payload="main.menu#2"),
    ):
        result = engine.step(at(engine, "main", "menu"), event, ctx)
        assert (result.conversation.flow, result.conversation.state) == ("rights", "start"), event


def test_a_button_of_an_older_message_still_works(engine):
    result = engine.step(
        at(engine, "rights", "start"),
        Event("button", payload="welcome.safe_check#1"),
        Context("web", NOW + 1),
    )
    assert (result.conversation.flow, result.conversation.state) == ("main", "menu")


def test_idle_conversation_starts_over_at_the_welcome(engine):
    idle = engine.settings.idle_timeout_seconds
    conv = at(engine, "rights", "start")
    result = engine.step(conv, Event("text", "1"), Context("web", NOW + idle + 1))
    assert (result.conversation.flow, result.conversation.state) == ("welcome", "safe_check")
    result = engine.step(conv, Event("text", "1"), Context("web", NOW + idle - 1))
    assert (result.conversation.flow, result.conversation.state) == ("rights", "no_police")


def test_channel_conditions_choose_the_branch(engine):
    for channel, expected in (
        ("sms", "hide_sms"),
        ("telegram", "hide_telegram"),
        ("web", "hide_web"),
    ):
        result = engine.step(
            at(engine, "leaving", "start"), Event("text", "2"), Context(channel, NOW + 1)
        )
        assert result.conversation.state == expected


def test_language_choice_is_remembered_and_survives_idle(engine):
    if len(engine.translator.languages) < 2:
        pytest.skip("no translations shipped yet")
    result = engine.step(
        at(engine, "language", "choose"), Event("text", "2"), Context("web", NOW + 1)
    )
    conv = result.conversation
    assert conv.language == engine.translator.languages[1] and conv.language_chosen
    later = engine.step(conv, Event("text", "hi"), Context("web", NOW + 10 * 86400))
    assert later.conversation.language == conv.language


def test_end_and_restart(engine):
    conv = at(engine, "main", "menu")
    conv.mode = MODE_ENDED
    result = engine.step(conv, Event("text", "hello"), Context("web", NOW + 1))
    assert result.conversation.state == "safe_check"


def test_transient_variables_are_never_saved(engine):
    result = engine.step(
        at(engine, "shelters", "where_text"), Event("text", "Bologna"), Context("web", NOW + 1)
    )
    assert result.pending is not None and result.conversation.variables["_place"] == "Bologna"
    assert "_place" not in result.conversation.to_dict().get("vars", {})
    assert "Bologna" not in str(result.conversation.to_dict())


def test_one_machine_per_flow_shared_by_conversations(engine):
    machines = {id(flow.machine) for flow in engine.flowset.flows.values()}
    assert len(machines) == len(engine.flowset.flows)
    a = engine.step(at(engine, "main", "menu"), Event("text", "1"), Context("web", NOW + 1))
    b = engine.step(at(engine, "main", "menu"), Event("text", "2"), Context("web", NOW + 1))
    assert (a.conversation.flow, b.conversation.flow) == ("leaving", "rights")
    assert {id(flow.machine) for flow in engine.flowset.flows.values()} == machines


@pytest.mark.parametrize(
    "answer, where",
    [
        ("I can't talk", "not_safe"),
        ("no, not ok", "not_safe"),
        ("not now", "not_safe"),
        ("it is not safe", "not_safe"),
        ("cannot", "not_safe"),
        ("ok", "menu"),
        ("yes I can talk", "menu"),
        ("I am safe", "menu"),
        ("banana", "not_safe"),  # not understood: not safe now
    ],
)
def test_a_refusal_is_never_taken_for_yes(engine, answer, where):
    result = engine.step(
        at(engine, "welcome", "safe_check"), Event("text", answer), Context("sms", NOW + 1)
    )
    assert result.conversation.state == where


@pytest.mark.parametrize(
    "answer, where",
    [
        ("not yet", "not_safe"),
        ("yes but not now", "not_safe"),
        ("no, not now", "not_safe"),
        ("ok", "menu"),
    ],
)
def test_the_follow_up_question_also_keeps_a_refusal(engine, answer, where):
    result = engine.step(
        at(engine, "welcome", "not_safe"), Event("text", answer), Context("sms", NOW + 1)
    )
    assert result.conversation.state == where, answer


def test_a_refusal_in_bulgarian_stays_a_refusal(engine):
    if "bg" not in engine.translator.languages:
        pytest.skip("no Bulgarian catalog")
    conv = at(engine, "welcome", "safe_check", language="bg")
    result = engine.step(conv, Event("text", "Не, не мога да говоря"), Context("sms", NOW + 1))
    assert result.conversation.state == "not_safe"


def test_asking_for_a_person_in_the_first_message_hands_off_after_the_welcome(engine):
    result = engine.step(None, Event("text", "counsellor"), Context("sms", NOW))
    assert "confidential" in result.replies[0].text and not any(r.options for r in result.replies)
    assert result.pending is not None and result.pending.name == "handoff"


def test_reading_a_message_before_the_step(engine):
    """What the runtime records and routes by: the global keyword a message is,
    a tapped button's label, an answer that is never stored."""
    from bot.conversation.model import Reading

    assert engine.read(None, Event("text", "EXIT")) == Reading(keyword="exit")
    assert engine.read(None, Event("text", "hello")) == Reading()
    menu = at(engine, "main", "menu")
    payload = next(
        p
        for _, p in engine.step(menu, Event("text", "MENU"), Context("web", NOW + 1))
        .replies[-1]
        .options
    )
    assert engine.read(menu, Event("button", payload=payload)).label
    assert engine.read(menu, Event("button", payload="nowhere.none#1")).label is None


def test_a_translation_with_a_broken_placeholder_falls_back_to_the_source(engine):
    """`{exit_wrd}` in a translation would make the welcome say "send ." with no
    exit word: the source text is said instead."""

    class Broken(Catalogs):
        def text(self, language: str, msgid: str) -> str:
            found = super().text(language, msgid)
            return found.replace("{exit_word}", "{exit_wrd}") if language == "fr" else found

    broken = Engine(engine.flowset, Broken(LOCALES))
    result = broken.step(None, Event("text", "bonjour"), Context("web", NOW, "fr"))
    # the English source, with the French exit word in its place
    assert result.replies[0].text == (
        "Hello. This chat is confidential and kept 30 days at most. To leave at once and "
        "erase it, press Quick exit or send SORTIE."
    )
    assert result.replies[-1].text == engine.render(
        "Is it safe for you to talk now?", result.conversation
    )  # the other texts are still French
    assert "safe" not in result.replies[-1].text


def test_in_every_language_an_answer_not_understood_at_the_safety_question_is_not_now(engine):
    """A repeated question while someone watches her phone is dangerous."""
    for language in engine.translator.languages:
        conv = at(engine, "welcome", "safe_check", language=language)
        for answer in ("xqzv", "7", "🙂 ?"):
            result = engine.step(conv, Event("text", answer), Context("sms", NOW + 1))
            assert result.conversation.state == "not_safe", (language, answer)
            said = " ".join(r.text for r in result.replies)
            assert (
                engine.render(
                    "OK. Write again when it is safe. To end this chat now, send {exit_word}.",
                    result.conversation,
                )
                in said
            ), language


def test_in_every_language_the_main_menu_answers_to_its_topic_words(engine):
    """Each option's keywords, as translated, lead to that option in every
    language; and the English words keep working everywhere."""
    from bot.flows.schema import split_words
    from bot.text.normalise import fold

    menu = engine.flowset.state("main", "menu")
    for language in engine.translator.languages:
        for option in menu.options:
            if not option.keywords:
                continue
            words = split_words(engine.translator.text(language, option.keywords))
            words += split_words(option.keywords)
            for word in words:
                conv = at(engine, "main", "menu", language=language)
                result = engine.step(conv, Event("text", word), Context("web", NOW + 1))
                target = option.branches[0].target
                assert result.conversation.flow == target.flow, (language, word, fold(word))


@pytest.mark.parametrize(
    "text, flow",
    [
        ("我需要律师", "rights"),  # "I need a lawyer": no spaces between words
        ("他们拿走了我的护照", "rights"),  # "they took my passport": 走 in 拿走 is not "leave"
        ("今晚我在哪里睡觉", "shelters"),  # "where do I sleep tonight"
        ("我想离开", "leaving"),  # "I want to leave"
    ],
)
def test_chinese_topic_words_count_inside_a_sentence(engine, text, flow):
    result = engine.step(
        at(engine, "main", "menu", language="zh"), Event("text", text), Context("web", NOW + 1)
    )
    assert result.conversation.flow == flow


def test_a_chinese_refusal_is_not_taken_for_its_keyword(engine):
    conv = at(engine, "welcome", "safe_check", language="zh")
    result = engine.step(conv, Event("text", "不安全"), Context("web", NOW + 1))  # "not safe"
    assert result.conversation.state == "not_safe"


CONTENT_PARTS = [
    "rights.no_police",
    "rights.identification",
    "rights.forms",
    "rights.not_punished",
    "rights.reflection",
    "rights.residence",
    "rights.asylum",
    "rights.minors",
    "rights.debt",
    "rights.juju",
    "rights.lawyer",
    "rights.compensation",
    "health.after_assault",
    "health.tests",
    "health.pregnancy",
    "leaving.hide_{channel}",
    "leaving.location",
    "privacy.erase_{channel}",
]


@pytest.mark.parametrize("channel", ["sms", "telegram", "web"])
def test_every_content_part_is_at_most_three_taps_from_the_main_menu(engine, channel):
    taps: dict[str, int] = {}
    level = [at(engine, "main", "menu")]
    for depth in (1, 2, 3):
        following = []
        for conv in level:
            state = engine.flowset.state(conv.flow, conv.state)
            for option in state.options:
                result = engine.step(
                    conv, Event("text", str(option.number)), Context(channel, NOW + 1)
                )
                key = f"{result.conversation.flow}.{result.conversation.state}"
                if key not in taps:
                    taps[key] = depth
                    following.append(result.conversation)
        level = following
    parts = [part.format(channel=channel) for part in CONTENT_PARTS]
    assert [part for part in parts if part not in taps] == []
