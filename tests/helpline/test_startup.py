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


def test_an_unreachable_sentinel_group_is_one_short_sentence_naming_its_variables(tmp_path):
    result = run(
        tmp_path, REDIS_SENTINELS=f"127.0.0.1:{free_port()}", REDIS_SENTINEL_MASTER="mymaster"
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    sentence = said(result)
    assert "Check REDIS_SENTINELS and REDIS_SENTINEL_MASTER" in sentence
    assert "ConnectionPool" not in sentence and len(sentence) < 400, sentence


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


def test_json_logs_are_one_object_a_line_with_the_process_index(tmp_path):
    import json

    with socket.socket() as taken:  # a start that logs a few lines, then fails
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(
            tmp_path, HELPLINE_PORT=str(taken.getsockname()[1]), HELPLINE_LOG_FORMAT="json"
        )
    lines = [line for line in result.stderr.splitlines() if not line.startswith("helpline:")]
    assert lines
    for line in lines:
        record = json.loads(line)
        assert record["process"] == 0 and record["level"] in ("INFO", "WARNING")
        assert {"time", "logger", "message", "pid"} <= set(record)


def test_a_bad_log_format_is_a_configuration_error(tmp_path):
    result = run(tmp_path, HELPLINE_LOG_FORMAT="xml")
    assert result.returncode == 2 and "HELPLINE_LOG_FORMAT='xml' must be `text` or `json`" in (
        result.stderr
    )


async def test_requests_carry_an_id_that_log_lines_share(client):
    import json
    import logging

    from helpline.logs import REQUEST_ID, JsonLines

    echoed = await client.get("/healthz", headers={"X-Request-Id": "proxy-id-42"})
    assert echoed.headers["X-Request-Id"] == "proxy-id-42"
    made = await client.get("/healthz", headers={"X-Request-Id": "not a plain id!"})
    assert len(made.headers["X-Request-Id"]) == 16 and made.headers["X-Request-Id"].isalnum()
    token = REQUEST_ID.set("proxy-id-42")
    try:
        record = logging.LogRecord(
            "helpline.test", logging.INFO, __file__, 1, "hello %s", ("x",), None
        )
        line = json.loads(JsonLines(process_index=3).format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "proxy-id-42" and line["process"] == 3
    assert line["message"] == "hello x"
