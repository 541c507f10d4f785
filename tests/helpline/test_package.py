"""What a deployment runs: the wheel, installed non-editable, started from another folder.

The Docker image is `pip install .` plus the flows and locales beside it; this test
builds the same wheel, installs it into a fresh virtual environment (its dependencies
come from this interpreter's site-packages, the project itself only from the wheel),
copies flows/ and locales/ into an empty folder as the Dockerfile does, and runs
`helpline run` there: a web chat conversation must get its welcome, which needs the
Lua scripts, the static files and the catalogs that the wheel must carry.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import FLOWS, LOCALES, ROOT, free_port, wait_healthy


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv whose `helpline` comes from the wheel, not from the source tree."""
    where = tmp_path_factory.mktemp("wheel")
    source = where / "source"  # build from a copy: no build/ or egg-info in the checkout
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".helpline", "__pycache__", "*.egg-info", "build", "tests", "benchmarks"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]
        + ["-w", str(where / "dist"), str(source)],
        check=True,
    )
    wheel = next((where / "dist").glob("helpline-*.whl"))
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--force-reinstall", str(wheel)],
        check=True,
    )
    return venv


def test_the_installed_packages_come_from_the_wheel(installed, tmp_path):
    probe = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import bot, handoff, helpline\n"
            "print(bot.__file__, handoff.__file__, helpline.__file__)",
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=True,
    )
    for path in probe.stdout.split():
        assert Path(path).is_relative_to(installed), path


async def test_helpline_run_from_the_wheel_serves_a_conversation(installed, tmp_path):
    shutil.copytree(FLOWS, tmp_path / "flows")
    shutil.copytree(LOCALES, tmp_path / "locales", ignore=shutil.ignore_patterns("*.mo"))
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HELPLINE_", "REDIS_", "TELEGRAM_", "TWILIO_")) and k != "PYTHONPATH"
    }
    env["HELPLINE_PORT"] = str(port)
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        [str(installed / "bin" / "helpline"), "run"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(port, process, timeout=60, log=tmp_path / "run.log")
            deadline = time.monotonic() + 60

            for page in ("/", "/console"):
                async with http.get(base + page) as response:
                    assert response.status == 200, page

            session = "wheel-test-session-0001"
            async with http.post(
                f"{base}/chat/api/messages", json={"session": session, "text": "hello"}
            ) as response:
                assert response.status == 200
            replies: list[dict] = []
            while not replies and time.monotonic() < deadline:
                async with http.get(
                    f"{base}/chat/api/messages", params={"session": session}
                ) as response:
                    assert response.status == 200
                    replies = (await response.json())["messages"]
            assert replies, "no reply to the first message"

            # malformed HTTP is a 400 and one log line, never a traceback or the address
            for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nX-Bad: a\x00b\r\n\r\n"):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(raw)
                assert (await reader.readline()).startswith(b"HTTP/1.0 400")
                writer.close()

            # the first admin's password, shown once the server listens, opens the console
            said = (tmp_path / "run.log").read_text()
            assert said.index("helpline: serving on") < said.index("first supervisor account")
            password = re.search(r"user `admin`, password `([^`]+)`", said).group(1)
            async with http.post(
                f"{base}/console/api/login", json={"username": "admin", "password": password}
            ) as response:
                assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == 0, (tmp_path / "run.log").read_text()
    said = (tmp_path / "run.log").read_text()
    assert "Traceback" not in said and "127.0.0.1" not in said.replace(f"127.0.0.1:{port}", "")
    assert "refused a malformed HTTP request (400, " in said
