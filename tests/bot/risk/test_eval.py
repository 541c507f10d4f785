"""`python -m bot.risk_eval`: what it counts, on a held-out set small enough
to count by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HELDOUT = """\
language: en
messages:
  - {text: "they are going to kill me tonight", concept: threat_to_kill, variant: plain}
  - {text: "blue moon over the garden", concept: threat_to_kill, variant: plain}
  - {text: "they took my passport", concept: documents_withheld, variant: misspelled}
  - {text: "tell my daughter I love her, I will not be here", concept: self_harm, variant: indirect}
  - {text: "thanks, see you", concept: none, variant: plain}
  - {text: "he will kill me", concept: none, variant: figurative}
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.risk_eval", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_headline_figures_count_what_a_person_would_get(tmp_path):
    (tmp_path / "en.yaml").write_text(HELDOUT)
    done = run("--heldout", str(tmp_path), "--no-model", "-v")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "recall_critical_high=0.667" in lines  # 2 of 3, indirect apart
    assert "false_positive_rate=0.500" in lines  # "he will kill me" labelled benign
    assert any(line.startswith("recall_indirect=") for line in lines)
    assert any("missed: en plain: 'blue moon over the garden'" in line for line in lines)
    assert any(line.startswith("en ") and "2/3" in line for line in lines)  # the language table
    assert any(
        line.startswith("misspelled ") and "1/1" in line for line in lines
    )  # the variant table


SETS = [
    "risk_heldout",
    "risk_heldout2",
    "risk_heldout3",
    "risk_heldout4",
    "risk_heldout5",
    "risk_heldout6",
    "risk_heldout7",
]


@pytest.mark.parametrize("name", SETS)
def test_the_shipped_heldout_set_is_large_enough_and_labelled_with_known_concepts(name):
    import yaml

    from bot.risk.lexicons import load_concepts

    concepts, _ = load_concepts(ROOT / "flows" / "risk")
    variants = {
        "plain",
        "misspelled",
        "no_diacritics",
        "transliterated",
        "repeated_letters",
        "mixed",
        "indirect",
        "figurative",
    }
    files = sorted((ROOT / "benchmarks" / "data" / name).glob("*.yaml"))
    if not files:
        pytest.skip(
            f"the blind held-out set (benchmarks/data/{name}/) is not written yet: "
            "issue 13 stays open until it is"
        )
    assert len(files) >= 15
    for path in files:
        messages = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
        assert len(messages) >= 40, path.name
        benign = [m for m in messages if m["concept"] == "none"]
        # hard negatives: a third in the first and third sets, 12 of 45 in the second
        assert len(benign) >= 0.25 * len(messages), path.name
        assert {m["concept"] for m in messages} <= set(concepts) | {"none"}, path.name
        assert {m["variant"] for m in messages} <= variants, path.name


@pytest.mark.parametrize("name", SETS)
def test_the_shipped_heldout_set_is_frozen(name):
    """Editing a held-out message to fit the detector would make its figures lies:
    SHA256SUMS was written when the set was committed, before any tuning."""
    import hashlib

    folder = ROOT / "benchmarks" / "data" / name
    sums = dict(reversed(line.split()) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {path.name for path in folder.glob("*.yaml")}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
