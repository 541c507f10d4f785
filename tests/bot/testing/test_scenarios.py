"""`helpline flows test`: the shipped scenarios pass, and a wrong one fails readably."""

from __future__ import annotations

import shutil

from bot.testing.scenarios import run_scenarios
from helpline.services import scenario_runtime
from tests.conftest import FLOWS, LOCALES, helpline


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
    result = helpline("flows", "test", str(flows))
    assert result.returncode == 1
    assert (
        "wrong.yaml:4: 'expects the wrong welcome', step 1: the replies do not contain 'Welcome to the party'"
        in result.stdout
    )
    assert "+Hello. This chat is confidential." in result.stdout  # the diff shows what was said
