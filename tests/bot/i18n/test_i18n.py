"""Languages: the YAML extractor, catalog checks, negotiation, full coverage of
every state in every language, right-to-left text, locale formatting, SMS cost."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import pytest

from bot.channels.base import render_text
from bot.conversation.engine import Engine
from bot.conversation.model import Context, Conversation, Event
from bot.flows.load import load_flowset
from bot.i18n.catalogs import LRI, PDI, RLM, Catalogs
from bot.i18n.extract import extract_flows
from bot.text.segments import plan
from tests.conftest import FLOWS, LOCALES, ROOT, helpline

FIXTURE = b"""\
flow: demo
states:
  start:
    # translators: The first thing people read.
    say: Hello {exit_word}.
    menu:
      - label: First
        keywords: one, first
        go: start
    reprompt: Say again?
"""


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs(LOCALES)


@pytest.fixture(scope="module")
def engine(catalogs) -> Engine:
    flowset, issues = load_flowset(FLOWS)
    assert flowset is not None, issues
    return Engine(flowset, catalogs)


def test_extractor_finds_every_string_with_line_and_comment():
    found = list(extract_flows(io.BytesIO(FIXTURE), [], [], {}))
    assert sorted((line, text) for line, _, text, _ in found) == [
        (5, "Hello {exit_word}."),
        (7, "First"),
        (8, "one, first"),
        (10, "Say again?"),
    ]
    comments = {text: notes for _, _, text, notes in found}
    assert comments["Hello {exit_word}."] == ["The first thing people read."]
    assert "menu option" in comments["First"][0]


def test_pybabel_extract_uses_the_registered_extractor(tmp_path):
    (tmp_path / "babel.cfg").write_text("[helpline_flows: **.yaml]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(tmp_path / "babel.cfg"),
            "-o",
            str(tmp_path / "out.pot"),
            str(FLOWS / "welcome.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert 'msgid "Is it safe for you to talk now?"' in (tmp_path / "out.pot").read_text()


def run_check(locales) -> subprocess.CompletedProcess:
    return helpline(
        "locales",
        "check",
        env={
            "PATH": "/usr/bin:/bin",
            "HELPLINE_LOCALES_DIR": str(locales),
            "HELPLINE_FLOWS_DIR": str(FLOWS),
        },
    )


def break_catalog(tmp_path, language: str, msgid: str, change):
    """A copy of the catalogs where `language`'s translation of `msgid` is changed by `change`."""
    from babel.messages.pofile import read_po, write_po

    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    po = locales / language / "LC_MESSAGES" / "helpline.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    message = catalog.get(msgid)
    assert message is not None and message.string and not message.fuzzy
    message.string = change(message.string)
    with po.open("wb") as handle:
        write_po(handle, catalog)
    return locales


def test_locales_check_passes_on_the_shipped_catalogs():
    result = run_check(LOCALES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100%" in result.stdout


def test_locales_check_fails_on_a_missing_translation(tmp_path):
    locales = break_catalog(tmp_path, "de", "Choose your language.", lambda _: "")
    result = run_check(locales)
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("de "))
    assert row.split()[3] != "0"  # the "missing" column


WELCOME = (
    "Hello. This chat is confidential and kept {retention_days} days at most. To leave at once "
    "and erase it, press Quick exit or send {exit_word}."
)
COMPENSATION = (
    "You have the right to apply to the state compensation scheme for victims of violent crime "
    "of the country where you are (EU Directive 2011/36/EU, Art. 17). These schemes usually require that the "
    "crime was reported to the police. Legal advice can help you decide, free if you cannot pay "
    "(Art. 12(2))."
)


@pytest.mark.parametrize(
    "language, msgid, change, problem",
    [
        ("fr", WELCOME, lambda t: t.replace("{exit_word}", "{mot}"), "placeholders differ"),
        ("es", COMPENSATION, lambda t: t.replace("17", "71"), "numbers differ"),
        ("it", "EXIT", lambda t: "STOP, EXIT", "Twilio opt-out word"),
        ("de", "MENU", lambda t: "INFO, MENÜ", "'INFO' is a word the SMS provider answers"),
        ("ro", WELCOME, lambda t: t + " HELP", "'HELP' is a word the SMS provider answers"),
    ],
)
def test_locales_check_fails_on_a_broken_translation(tmp_path, language, msgid, change, problem):
    result = run_check(break_catalog(tmp_path, language, msgid, change))
    assert result.returncode == 1
    assert problem in result.stdout


def test_flows_check_refuses_a_catalog_that_would_lose_the_exit_word(tmp_path):
    locales = break_catalog(
        tmp_path, "fr", WELCOME, lambda t: t.replace("{exit_word}", "{exit_wrd}")
    )
    result = helpline(
        "flows",
        "check",
        env={"PATH": "/usr/bin:/bin", "HELPLINE_LOCALES_DIR": str(locales)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "placeholders differ" in line)
    file, number, _ = line.split(":", 2)
    assert file.endswith("fr/LC_MESSAGES/helpline.po") and int(number) > 1
    assert line.endswith("[placeholders-differ]")


def test_a_broken_catalog_at_reload_is_refused_and_the_last_good_one_serves(tmp_path):
    from bot.runtime.live import Flows

    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    flows = Flows(FLOWS, locales)
    before = flows.engine.render(WELCOME, Conversation("welcome", "hello", "fr"))
    assert "SORTIE" in before and flows.catalogs.problems == []
    broken = break_catalog(
        tmp_path / "b", "fr", WELCOME, lambda t: t.replace("{exit_word}", "{exit_wrd}")
    )
    shutil.copy(broken / "fr" / "LC_MESSAGES" / "helpline.po", locales / "fr" / "LC_MESSAGES")
    assert flows.reload_if_changed()  # the flows are fine: a new engine...
    after = flows.engine.render(WELCOME, Conversation("welcome", "hello", "fr"))
    assert after == before  # ...with the last good French catalog
    assert "fr" in flows.engine.translator.languages
    [problem] = flows.catalogs.problems
    assert problem.code == "placeholders-differ" and problem.file.endswith(
        "fr/LC_MESSAGES/helpline.po"
    )


async def test_healthz_shows_a_refused_catalog(make_client, tmp_path):
    locales = break_catalog(
        tmp_path, "fr", WELCOME, lambda t: t.replace("{exit_word}", "{exit_wrd}")
    )
    client = await make_client(locales_dir=locales)
    body = await (await client.get("/healthz")).json()
    assert body["status"] == "ok"
    [problem] = body["catalogs"]
    assert "fr/LC_MESSAGES/helpline.po" in problem and "[placeholders-differ]" in problem
    healthy = await (await make_client()).get("/healthz")
    assert (await healthy.json())["catalogs"] == "ok"


@pytest.mark.parametrize(
    "hint, phone, expected",
    [
        ("ro", None, "ro"),
        ("pt-BR", None, "en"),
        ("zh-Hans", None, "zh"),
        ("zh-hant-tw", None, "zh"),
        ("ru-UA", None, "ru"),
        ("uk", None, "uk"),
        ("de-AT", None, "de"),
        ("ar-MA", None, "ar"),
        (None, "+40712345678", "ro"),
        (None, "+359888123456", "bg"),
        (None, "+380501234567", "uk"),
        (None, "+4917612345678", "de"),
        (None, "+33612345678", "fr"),
        (None, "+212612345678", "ar"),
        (None, "+2348031234567", "en"),
        (None, "+355691234567", "sq"),
        (None, "+8613812345678", "zh"),
        (None, "+41791234567", "de"),
        (None, "not a number", "en"),
        (None, None, "en"),
    ],
)
def test_negotiation(catalogs, hint, phone, expected):
    assert catalogs.negotiate(hint, phone) == expected


def test_the_language_menu_lists_languages_by_their_own_names(engine, catalogs):
    result = engine.step(
        Conversation("main", "menu", "en", updated_at=1.0),
        Event("text", "LANGUAGE"),
        Context("web", 2.0),
    )
    names = [label for label, _ in result.replies[-1].options]
    assert names[0] == "English"
    for name in (
        "Română",
        "Български",
        "Українська",
        "Русский",
        "Español",
        "Français",
        "العربية",
        "中文",
        "Italiano",
        "Polski",
        "Magyar",
        "Shqip",
        "Deutsch",
    ):
        assert name in names, names
    conv = result.conversation
    for typed, code in (
        ("Românã", None),
        ("romana", "ro"),
        ("Ukrainian", "uk"),
        ("zh", "zh"),
        ("العربية", "ar"),
        ("3", names and catalogs.languages[2]),
    ):
        if code is None:
            continue
        chosen = engine.step(conv, Event("text", typed), Context("web", 3.0))
        assert chosen.conversation.language == code, typed


def test_every_state_in_every_language_has_no_english_fallback(engine, catalogs):
    missing = []
    texts = [msgid for msgid, _, _ in engine.flowset.messages()]
    for language in catalogs.languages:
        if language == "en":
            continue
        for msgid in texts:
            if not catalogs.has(language, msgid):
                missing.append(f"{language}: {msgid[:50]!r}")
    assert not missing, f"{len(missing)} untranslated texts:\n" + "\n".join(missing[:40])


def test_a_conversation_in_each_language_speaks_only_that_language(engine, catalogs):
    for language in catalogs.languages:
        if language == "en":
            continue
        start = engine.step(None, Event("text", "hi"), Context("sms", 1.0, language))
        text = " ".join(r.text for r in start.replies)
        assert "confidential" not in text and "Is it safe" not in text, (language, text)
        menu = engine.step(start.conversation, Event("text", "1"), Context("sms", 2.0))
        assert (menu.conversation.flow, menu.conversation.state) == ("main", "menu"), language


def test_arabic_reaches_sms_and_telegram_with_direction_marks(catalogs):
    text = catalogs.directional("أرسلي EXIT للخروج.\nEXIT: للخروج\n1 نعم", "ar")
    # a line starting with a Latin word gets a right-to-left mark; the others need none
    assert text.split("\n") == ["أرسلي EXIT للخروج.", f"{RLM}EXIT: للخروج", "1 نعم"]
    assert catalogs.directional("Send EXIT", "en") == "Send EXIT"
    # logical order: the characters themselves are untouched
    assert text.replace(RLM, "") == "أرسلي EXIT للخروج.\nEXIT: للخروج\n1 نعم"


def test_latin_runs_in_arabic_are_isolated_left_to_right(catalogs):
    text = catalogs.directional(
        "التوجيه 2004/81/EC والمادة Art. 11(3)، اتصلي على +40 21 123 4567 أو أرسلي EXIT أو 112.",
        "ar",
    )
    # runs the bidirectional algorithm would reorder ("EC/2004/81") are isolated...
    for run in ("2004/81/EC", "Art. 11(3)", "+40 21 123 4567"):
        assert f"{LRI}{run}{PDI}" in text, (run, text)
    # ...a single word or number is not (each mark costs a UCS-2 character)
    assert f"{LRI}EXIT" not in text and f"{LRI}112" not in text
    assert text.replace(LRI, "").replace(PDI, "") == (
        "التوجيه 2004/81/EC والمادة Art. 11(3)، اتصلي على +40 21 123 4567 أو أرسلي EXIT أو 112."
    )
    assert catalogs.directional("Directive 2004/81/EC", "ro") == "Directive 2004/81/EC"
    # a whole Arabic flow text that quotes the directive, in brackets of its own
    said = catalogs.directional(catalogs.text("ar", COMPENSATION), "ar")
    assert f"{LRI}2011/36/EU{PDI}" in said and f"{LRI}12(2){PDI})" in said
    assert f"17){PDI}" not in said  # a closing bracket of the Arabic text is not taken in


def test_arabic_conversation_on_the_web_is_shown_right_to_left():
    js = (ROOT / "bot" / "channels" / "static" / "chat.js").read_text()
    assert 'item.dir = "auto"' in js  # each message takes the direction of its own text


def test_locale_formatting(catalogs):
    assert catalogs.format_number(1.2, "de") == "1,2"
    assert catalogs.format_number(1.2, "en") == "1.2"
    assert catalogs.format_number(12.5, "fr") == "12,5"


def sms_of(engine, language: str) -> tuple[str, str]:
    welcome = engine.step(None, Event("text", "hi"), Context("sms", 1.0, language))
    text = "\n".join(render_text(r.text, r.options) for r in welcome.replies)
    menu = engine.step(welcome.conversation, Event("text", "1"), Context("sms", 2.0))
    return text, "\n".join(render_text(r.text, r.options) for r in menu.replies)


def test_welcome_and_main_menu_take_at_most_three_sms_segments(engine, catalogs):
    for language in catalogs.languages:
        welcome, menu = sms_of(engine, language)
        for name, text in (("welcome", welcome), ("menu", menu)):
            planned = plan(catalogs.directional(text, language))
            assert planned.segments <= 3, (language, name, planned.encoding, planned.segments)
    english, _ = sms_of(engine, "en")
    assert plan(english).segments == 1 and plan(english).encoding == "GSM-7"


def test_an_edited_catalog_is_live_after_the_reload(tmp_path):
    from bot.runtime.live import Flows

    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    flows = Flows(FLOWS, locales)
    assert flows.catalogs.text("de", "Choose your language.") == "Wähle deine Sprache."
    po = locales / "de" / "LC_MESSAGES" / "helpline.po"
    po.write_text(
        po.read_text().replace('msgstr "Wähle deine Sprache."', 'msgstr "Sprache wählen."')
    )
    assert flows.reload_if_changed()
    assert flows.catalogs.text("de", "Choose your language.") == "Sprache wählen."
    assert not flows.reload_if_changed()  # nothing changed since
