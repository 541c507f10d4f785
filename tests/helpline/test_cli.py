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


def test_chat_refuses_a_language_it_does_not_ship(tmp_path):
    result = run(["chat", "--lang", "xx"], tmp_path, "hi\n")
    assert result.returncode == 2
    assert "no language 'xx'" in result.stderr and "ro" in result.stderr
    assert "Talking to the flows" not in result.stdout  # nothing started


def test_counsellor_add_reads_the_password_from_stdin(tmp_path):
    added = run(
        ["counsellor", "add", "maria", "--role", "supervisor"], tmp_path, "a long enough password\n"
    )
    assert added.returncode == 0 and "added supervisor maria" in added.stdout
    # A new password alone never changes the role (it once demoted the only supervisor).
    again = run(["counsellor", "add", "maria"], tmp_path, "another long password\n")
    assert again.returncode == 0 and "updated supervisor maria" in again.stdout
    short = run(["counsellor", "add", "ion"], tmp_path, "short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad = run(["counsellor", "add", "Not A Name"], tmp_path, "a long enough password\n")
    assert bad.returncode == 1 and "username" in bad.stderr


async def test_counsellor_accounts_from_the_command_line(tmp_path, redis_url, redis):
    from bot.store.limits import Limits
    from handoff.counsellors import Counsellors
    from handoff.sessions import ACCOUNT_TRIES

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return helpline(
            "counsellor",
            *args,
            env={"PATH": "/usr/bin:/bin", "REDIS_URL": redis_url, "HOME": str(tmp_path)},
            stdin=stdin,
        )

    counsellors = Counsellors(redis)
    assert cli("add", "sue", "--role", "supervisor", stdin="first password 1\n").returncode == 0
    assert cli("add", "ana", stdin="first password 2\n").stdout == "added counsellor ana\n"
    session = await counsellors.open_session("ana", "counsellor")

    def rows() -> dict[str, list[str]]:
        lines = cli("list").stdout.splitlines()
        assert lines[0].split() == ["USER", "ROLE", "STATUS", "ONLINE", "THROTTLED"]
        return {line.split()[0]: line.split()[1:] for line in lines[1:]}

    assert rows() == {
        "ana": ["counsellor", "enabled", "yes", "-"],
        "sue": ["supervisor", "enabled", "no", "-"],
    }

    # passwd: the new password works, the old one not, and her open session ends
    assert cli("passwd", "ana", stdin="second password\n").returncode == 0
    assert await counsellors.verify("ana", "second password") == "counsellor"
    assert await counsellors.verify("ana", "first password 2") is None
    assert await counsellors.get_session(session.id) is None
    missing = cli("passwd", "nobody", stdin="second password\n")
    assert missing.returncode == 1 and "no account 'nobody'" in missing.stderr

    # disable: sign-in refused even with the right password; enable: allowed again
    session = await counsellors.open_session("ana", "counsellor")
    assert cli("disable", "ana").stdout == "disabled ana\n"
    assert await counsellors.verify("ana", "second password") is None
    assert await counsellors.get_session(session.id) is None
    assert rows()["ana"] == ["counsellor", "disabled", "no", "-"]
    assert cli("enable", "ana").returncode == 0
    assert await counsellors.verify("ana", "second password") == "counsellor"

    # the last enabled supervisor can be neither disabled nor demoted
    last = cli("disable", "sue")
    assert last.returncode == 1 and "only enabled supervisor" in last.stderr
    demote = cli("add", "sue", "--role", "counsellor", stdin="third password\n")
    assert demote.returncode == 1 and "only enabled supervisor" in demote.stderr
    assert (await counsellors.account("sue")).role == "supervisor"
    assert await counsellors.verify("sue", "first password 1") == "supervisor"  # nothing changed

    # unlock: the throttled sign-ins of every client on that account are forgotten
    limits = Limits(redis)
    for client in ("c1", "c2"):
        for _ in range(ACCOUNT_TRIES.most):
            assert await limits.take((ACCOUNT_TRIES, f"ana:{client}")) == 0
    assert await limits.take((ACCOUNT_TRIES, "ana:c1")) > 0
    assert rows()["ana"] == ["counsellor", "enabled", "no", "2", "client(s)"]
    unlocked = cli("unlock", "ana")
    assert unlocked.stdout == "unlocked ana (failed sign-ins from 2 client(s) forgotten)\n"
    assert await limits.take((ACCOUNT_TRIES, "ana:c1")) == 0
