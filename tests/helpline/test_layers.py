"""The layers written down in pyproject.toml ([tool.importlinter]) hold: the
composition root (helpline) is the only package that sees both bot and handoff,
bot's concerns only point down, and the conversation engine does no I/O."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint) if lint.exists() else "lint-imports", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_types_check():
    """mypy, non-strict ([tool.mypy] in pyproject.toml), finds no error."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_engine_reads_no_clock_and_no_files():
    """What an import contract cannot see: the engine gets the time from its
    Context and reads no files."""
    for path in (ROOT / "bot" / "conversation").glob("*.py"):
        source = path.read_text()
        for forbidden in ("open(", "import socket", "time.time", "import time", "datetime.now"):
            assert forbidden not in source, f"{path.name}: {forbidden}"
