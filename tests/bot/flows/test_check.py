"""`helpline flows check`: each kind of mistake, reported with its file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows.load import load_flowset
from helpline.cli.flows import check_all
from tests.conftest import FLOWS, helpline

SETTINGS = """\
start: main
menu: main
language: main
human: main
offer: main
keywords: {exit: EXIT, human: HUMAN, language: LANGUAGE, menu: MENU}
messages:
  reprompt: Sorry?
  location_not_here: No location here.
  unsupported: Text only.
  too_long: Too long.
  send_location: Send location
  emergency: Call {emergency_number}.
  risk_queued: A counsellor will write.
  usual_wait: Within {minutes} minutes.
  blocked: Thanks.
  web_title: Chat
  web_quick_exit: Exit
  web_quick_exit_hint: Leave now.
  web_conversation: Conversation
  web_your_message: Your message
  web_placeholder: Write
  web_send: Send
  web_not_sent: Not sent.
  web_footer: Kept {retention_days} days.
"""

GOOD = """\
flow: main
states:
  menu:
    say: Hello. Send {exit_word} to leave.
    menu:
      - label: Info
        keywords: info, about
        go: info
      - label: Again
        go: menu
  info:
    say: Some information.
    next: menu
"""


def flowset(
    tmp_path: Path, main: str, settings: str = SETTINGS, extra: dict[str, str] | None = None
) -> Path:
    (tmp_path / "settings.yaml").write_text(settings)
    (tmp_path / "main.yaml").write_text(main)
    for name, text in (extra or {}).items():
        (tmp_path / name).write_text(text)
    return tmp_path


def issues(directory: Path) -> list[str]:
    return [str(i) for i in check_all(directory)]


def test_the_good_fixture_and_the_shipped_flows_are_clean(tmp_path):
    assert issues(flowset(tmp_path, GOOD)) == []
    assert issues(FLOWS) == []


@pytest.mark.parametrize(
    "name, broken, expected, code",
    [
        (
            "yaml syntax",
            GOOD.replace("say: Some information.", "say: [unclosed"),
            "main.yaml:13:9: YAML syntax",
            "yaml-syntax",
        ),
        (
            "unknown target state",
            GOOD.replace("go: info", "go: nowhere"),
            "main.yaml:8:13: unknown target 'nowhere'",
            "unknown-target",
        ),
        (
            "unknown target flow",
            GOOD.replace("go: info", "go: other.start"),
            "main.yaml:8:13: unknown target 'other.start'",
            "unknown-target",
        ),
        (
            "unreachable state",
            GOOD + "  lost:\n    say: Nobody comes here.\n    next: menu\n",
            "main.yaml:14:3: state 'lost' of flow 'main' is unreachable",
            "unreachable-state",
        ),
        (
            "unknown action",
            GOOD.replace("    next: menu", "    do: launch_rocket\n    next: menu"),
            "main.yaml:13:9: unknown action 'launch_rocket'",
            "unknown-action",
        ),
        (
            "duplicate keyword",
            GOOD.replace("        go: menu", "        keywords: about\n        go: menu"),
            "main.yaml:10:19: duplicate keyword 'about' in state 'menu'",
            "duplicate-keyword",
        ),
        (
            "menu without options",
            GOOD.replace(
                "    menu:\n      - label: Info", "    menu: []\n    x_menu:\n      - label: Info"
            ),
            "main.yaml:5:11: menu without options",
            "schema",
        ),
        (
            "missing start state",
            "start: begin\n" + GOOD,
            "main.yaml:1:8: start state 'begin' is not a state of flow 'main'",
            "unknown-start",
        ),
        (
            "unknown key with a hint",
            GOOD.replace("    say: Some", "    sya: Some"),
            "main.yaml:12:5: unknown key 'sya' in state 'info' (did you mean 'say'?)",
            "unknown-key",
        ),
        (
            "unknown placeholder",
            GOOD.replace("{exit_word}", "{exitword}"),
            "main.yaml:4:10: unknown placeholder {exitword}",
            "unknown-placeholder",
        ),
        (
            "twilio opt-out word",
            GOOD.replace("keywords: info, about", "keywords: info, stop"),
            "main.yaml:7:19: 'stop' is a Twilio opt-out word",
            "provider-word",
        ),
        (
            "a text asks for a word the SMS provider answers itself",
            GOOD.replace("Send {exit_word} to leave.", "Send {exit_word} to leave, HELP for help."),
            "main.yaml:4:10: 'HELP' is a word the SMS provider answers itself",
            "provider-word",
        ),
        (
            "dead end",
            GOOD.replace("    next: menu", ""),
            "main.yaml:11:3: state 'info' is a dead end",
            "dead-end",
        ),
    ],
)
def test_each_mistake_has_its_line_and_code(tmp_path, name, broken, expected, code):
    found = issues(flowset(tmp_path, broken))
    assert any(expected in line and line.endswith(f"[{code}]") for line in found), (name, found)
    flows, _ = load_flowset(tmp_path)
    assert flows is None  # a flow set with errors is never used


def test_settings_mistakes(tmp_path):
    found = issues(flowset(tmp_path, GOOD, SETTINGS.replace("start: main", "start: welcome")))
    assert any("settings.yaml:1:8: start: 'welcome' is not a flow" in line for line in found), found
    found = issues(flowset(tmp_path, GOOD, SETTINGS.replace("  blocked: Thanks.\n", "")))
    assert any("messages.blocked is missing" in line for line in found), found
    shown = SETTINGS.replace("human: HUMAN", "human: HELP, HUMAN")
    found = issues(flowset(tmp_path, GOOD, shown))
    assert any(
        "settings.yaml:6:" in line and "'HELP' is shown to people as the human keyword" in line
        for line in found
    ), found
    assert not any("'HUMAN'" in line for line in issues(flowset(tmp_path, GOOD)))


def test_lexicon_mistakes_are_checked_too(tmp_path):
    directory = flowset(tmp_path, GOOD)
    (directory / "risk").mkdir()
    (directory / "risk" / "concepts.yaml").write_text(
        "concepts:\n  threat_to_kill: {severity: critical}\n  self_harm: {severity: urgent}\n"
    )
    (directory / "risk" / "en.yaml").write_text(
        "language: en\nrisks:\n  - concept: violence\n    phrases: [kill me]\n"
        "  - concept: threat_to_kill\n    severity: high\n    near: [[kill, me]]\n"
    )
    found = issues(directory)
    assert any(
        "risk/concepts.yaml:3:25: concept self_harm: severity must be" in line for line in found
    ), found
    assert any("risk/en.yaml:3:14: unknown concept 'violence'" in line for line in found), found
    assert any("risk/en.yaml:6:5: severity: is gone" in line for line in found), found


def test_cli_exit_codes_and_format(tmp_path):
    good = helpline("flows", "check", str(FLOWS))
    assert good.returncode == 0, good.stdout + good.stderr
    bad_dir = flowset(tmp_path, GOOD.replace("go: info", "go: nowhere"))
    bad = helpline("flows", "check", str(bad_dir))
    assert bad.returncode == 1
    line = bad.stdout.strip().splitlines()[0]
    file, lineno, col, message = line.split(":", 3)
    assert (
        file.endswith("main.yaml") and lineno == "8" and col == "13" and "unknown target" in message
    )


def test_run_refuses_invalid_flows(tmp_path):
    bad_dir = flowset(
        tmp_path / "flows" if (tmp_path / "flows").mkdir() is None else tmp_path,
        GOOD.replace("go: info", "go: nowhere"),
    )
    result = helpline(
        "run",
        env={
            "PATH": "/usr/bin:/bin",
            "HELPLINE_FLOWS_DIR": str(bad_dir),
            "HELPLINE_DATA_DIR": str(tmp_path / "data"),
        },
    )
    assert result.returncode == 1
    assert "unknown target 'nowhere'" in result.stderr and "Traceback" not in result.stderr


def test_graph_in_mermaid_and_dot():
    mermaid = helpline("flows", "graph", "welcome")
    assert mermaid.returncode == 0
    assert (
        mermaid.stdout.startswith("stateDiagram-v2")
        and "safe_check --> to_main__menu: 1 Yes, I can talk" in mermaid.stdout
    )
    dot = helpline("flows", "graph", "welcome", "--format", "dot")
    assert (
        dot.stdout.startswith('digraph "welcome"')
        and '"hello" -> "hello_sms" [label="next (if)"]' in dot.stdout
    )
    unknown = helpline("flows", "graph", "nope")
    assert unknown.returncode == 1 and "no flow 'nope'" in unknown.stderr


def test_a_broken_edit_is_refused_and_the_last_good_flows_keep_running(tmp_path, caplog):
    import shutil

    from bot.runtime.live import Flows
    from tests.conftest import LOCALES

    flows_dir = tmp_path / "flows"
    shutil.copytree(FLOWS, flows_dir)
    flows = Flows(flows_dir, LOCALES)
    before = flows.engine
    main = flows_dir / "main.yaml"
    main.write_text(main.read_text().replace("go: rights", "go: nowhere"))
    assert not flows.reload_if_changed()
    assert flows.engine is before
    assert "main.yaml" in caplog.text and "unknown target 'nowhere'" in caplog.text
    main.write_text(
        main.read_text()
        .replace("go: nowhere", "go: rights")
        .replace("How can I help you?", "How can I help?")
    )
    assert flows.reload_if_changed()
    assert flows.engine is not before
