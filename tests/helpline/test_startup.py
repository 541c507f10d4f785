"""`helpline run` that cannot start says why in one sentence, exit code 2, no
traceback and no secret; the first admin's password only once it listens."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import FLOWS, LOCALES, free_port, helpline


def run(tmp_path, **env: str):
    return helpline(
        "run",
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "HELPLINE_FLOWS_DIR": str(FLOWS),
            "HELPLINE_LOCALES_DIR": str(LOCALES),
            "HELPLINE_DATA_DIR": str(tmp_path / "data"),
            **env,
        },
        timeout=60,
    )


def said(result) -> str:
    """What the operator is told: the lines of the `helpline:` sentence."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("helpline:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_dead_redis_url_is_one_sentence_without_its_password(tmp_path):
    result = run(tmp_path, REDIS_URL=f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr + result.stdout
    sentence = said(result)
    assert "cannot use Redis at redis://:***@127.0.0.1" in sentence
    assert "Check REDIS_URL" in sentence


def test_a_port_in_use_is_told_apart_and_no_password_is_shown(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, HELPLINE_PORT=str(port))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the port is in use" in said(result)
    assert "password" not in result.stdout + result.stderr
    # and no account was made whose password nobody saw
    listed = helpline(
        "counsellor",
        "list",
        env={"PATH": "/usr/bin:/bin", "HELPLINE_DATA_DIR": str(tmp_path / "data")},
    )
    assert "no accounts yet" in listed.stdout


def test_an_address_not_of_this_machine_is_told_apart(tmp_path):
    result = run(tmp_path, HELPLINE_HOST="192.0.2.1", HELPLINE_PORT=str(free_port()))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "192.0.2.1 is not an address of this machine" in said(result)


def test_a_data_dir_that_cannot_be_written_is_one_sentence(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    # a folder inside a file: no user, root included, can create it
    result = run(tmp_path, HELPLINE_DATA_DIR=str(blocked / "data"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot write to HELPLINE_DATA_DIR=" in said(result)


@pytest.mark.parametrize("port", ["80"])
def test_a_privileged_port_is_told_apart_when_not_root(tmp_path, port):
    import os

    if os.geteuid() == 0:
        pytest.skip("root may listen on port 80: nothing to refuse")
    result = run(tmp_path, HELPLINE_PORT=port)
    assert result.returncode == 2 and "permission denied" in said(result)


@pytest.mark.parametrize(
    "command",
    [["chat"], ["counsellor", "add", "maria"], ["counsellor", "list"], ["deadletters", "list"]],
)
def test_every_command_says_a_dead_redis_in_one_sentence(tmp_path, command):
    result = helpline(
        *command,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "HELPLINE_FLOWS_DIR": str(FLOWS),
            "HELPLINE_LOCALES_DIR": str(LOCALES),
            "REDIS_URL": f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0",
        },
        stdin="a long enough password\n",
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot use Redis at redis://:***@127.0.0.1" in said(result)
    assert "s3cret-pw" not in result.stderr + result.stdout
