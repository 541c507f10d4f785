"""`helpline flows test`: the shipped scenarios pass, and a wrong one fails readably."""

from __future__ import annotations

import os
import shutil

from bot.testing.scenarios import run_scenarios
from helpline.services import scenario_risk, scenario_runtime
from tests.conftest import FLOWS, LOCALES, helpline

# the whole of `helpline flows test` takes about 20 s since the risk lexicons are read
# once per run (it took 150 to 165 s on CI's two cores when each scenario read them)
FLOWS_TEST_S = 300


async def test_shipped_scenarios_pass_and_cover_every_flow():
    report = await run_scenarios(FLOWS, LOCALES, scenario_runtime)
    assert report.ok, "\n".join(map(str, report.failures + report.issues))
    assert report.cases >= 10
    flows_visited = {state.split(".")[0] for state in report.visited}
    assert flows_visited >= {"welcome", "main", "leaving", "rights", "language", "counsellor"}


def test_a_failing_scenario_shows_a_diff_and_exits_1(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows, ignore=shutil.ignore_patterns("tests"))
    (flows / "tests").mkdir()
    (flows / "tests" / "wrong.yaml").write_text(
        "- name: expects the wrong welcome\n  channel: sms\n  steps:\n    - send: hi\n      expect: [Welcome to the party]\n"
    )
    result = helpline("flows", "test", str(flows), timeout=FLOWS_TEST_S)
    assert result.returncode == 1
    assert (
        "wrong.yaml:4: 'expects the wrong welcome', step 1: the replies do not contain 'Welcome to the party'"
        in result.stdout
    )
    assert "+This chat is confidential" in result.stdout  # the diff shows what was said


def test_golden_files_catch_a_changed_reply_until_recorded_again(tmp_path):
    """`--write` records every reply and state; a flow whose text changed then fails
    with a diff pointing at the golden file's line, until it is recorded again."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows, ignore=shutil.ignore_patterns("golden"))
    for scenarios in (flows / "tests").glob("*.yaml"):  # the welcome's scenarios are enough
        if scenarios.name != "welcome.yaml":
            scenarios.unlink()
    result = helpline("flows", "test", "--write", str(flows), timeout=FLOWS_TEST_S)
    assert result.returncode == 0, result.stdout + result.stderr
    record = flows / "tests" / "golden" / "welcome.txt"
    assert f"recorded {record}" in result.stdout
    assert "@ welcome.safe_check (bot, en)" in record.read_text()
    assert helpline("flows", "test", str(flows), timeout=FLOWS_TEST_S).returncode == 0

    welcome = flows / "welcome.yaml"
    old = "label: Not yet\n"  # a menu label no scenario expects
    assert old in welcome.read_text()
    welcome.write_text(welcome.read_text().replace(old, "label: Not yet, later\n"))
    result = helpline("flows", "test", str(flows), timeout=FLOWS_TEST_S)
    assert result.returncode == 1
    assert f"FAIL {record}:" in result.stdout
    assert "differ from the recorded ones" in result.stdout
    assert "-| 2 Not yet\n" in result.stdout
    assert "+| 2 Not yet, later\n" in result.stdout

    assert helpline("flows", "test", "--write", str(flows), timeout=FLOWS_TEST_S).returncode == 0
    assert helpline("flows", "test", str(flows), timeout=FLOWS_TEST_S).returncode == 0


def test_a_run_reads_the_risk_lexicons_once_and_again_after_an_edit(tmp_path):
    """Each scenario gets a fresh runtime, but reading the lexicons and the model
    costs seconds: one run reads them once, and again only when a file changed."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows, ignore=shutil.ignore_patterns("tests"))
    first = scenario_risk(flows)
    assert scenario_risk(flows) is first
    lexicon = flows / "risk" / "en.yaml"
    lexicon.write_text(
        lexicon.read_text().replace(
            "risks:\n", "risks:\n  - concept: distress\n    phrases: [blue zebra]\n", 1
        )
    )
    os.utime(lexicon, ns=(lexicon.stat().st_atime_ns, lexicon.stat().st_mtime_ns + 1_000_000_000))
    edited = scenario_risk(flows)
    assert edited is not first
    assert edited.match("i saw a blue zebra") is not None
    assert first.match("i saw a blue zebra") is None
