"""The terminal chat and the counsellor command, as an admin uses them."""

from __future__ import annotations

import subprocess

from tests.conftest import FLOWS, LOCALES, helpline


def run(args: list[str], tmp_path, stdin: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HELPLINE_DATA_DIR": str(tmp_path / "data"),
        "HELPLINE_FLOWS_DIR": str(FLOWS),
        "HELPLINE_LOCALES_DIR": str(LOCALES),
        "HOME": str(tmp_path),
    }
    return helpline(*args, env=env, stdin=stdin)


def test_chat_in_the_terminal_as_sms(tmp_path):
    result = run(["chat", "--channel", "sms"], tmp_path, "1\n2\nEXIT\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Send EXIT to end it, then delete these texts" in out  # the SMS welcome
    assert "1 Yes, I can talk" in out and "How can I help you?" in out
    assert "you have rights" in out
    assert not (tmp_path / "data" / "redis.sock").exists()  # the embedded Redis stopped with it


def test_chat_in_another_language_with_buttons(tmp_path):
    result = run(["chat", "--channel", "telegram", "--lang", "ro"], tmp_path, "1\n")
    assert result.returncode == 0, result.stderr
    assert "confidențial" in result.stdout and "[1]" in result.stdout


def test_counsellor_add_reads_the_password_from_stdin(tmp_path):
    added = run(
        ["counsellor", "add", "maria", "--role", "supervisor"], tmp_path, "a long enough password\n"
    )
    assert added.returncode == 0 and "added supervisor maria" in added.stdout
    again = run(["counsellor", "add", "maria"], tmp_path, "another long password\n")
    assert again.returncode == 0 and "updated counsellor maria" in again.stdout
    short = run(["counsellor", "add", "ion"], tmp_path, "short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad = run(["counsellor", "add", "Not A Name"], tmp_path, "a long enough password\n")
    assert bad.returncode == 1 and "username" in bad.stderr
