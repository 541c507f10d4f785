"""The deployment files: docker-compose.yml against the Compose specification, and
what an operator needs from it and from the Dockerfile (tests/helpline/test_package.py
starts the wheel the image installs)."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
# Set by the image or compose itself, or only for the test suite.
NOT_FOR_OPERATORS = {"HELPLINE_HOST", "HELPLINE_PORT", "HELPLINE_DATA_DIR", "REDIS_URL"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_the_compose_file_follows_the_compose_specification():
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_passes_every_variable_of_the_readme_through():
    table = re.findall(r"^\| (.+?) \|", (ROOT / "README.md").read_text(), re.MULTILINE)
    documented = {name for cell in table for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    assert "TWILIO_API_BASE_URL" in documented  # the table was read
    passed = set(compose()["services"]["helpline"]["environment"])
    assert documented - NOT_FOR_OPERATORS - passed == set()


def test_images_are_pinned_and_services_have_health_and_shutdown_timings():
    services = compose()["services"]
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+-\w+", services["redis"]["image"])
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[1]
    assert re.fullmatch(r"python:3\.1[12]\.\d+-slim-\w+", base)
    for name, service in services.items():
        assert {"interval", "timeout", "retries", "start_period"} <= set(service["healthcheck"]), (
            name
        )
        assert service["stop_grace_period"], name


def test_redis_refuses_writes_when_full_rather_than_evicting_conversations():
    command = compose()["services"]["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--maxmemory") + 1]
    assert command[command.index("--appendonly") + 1] == "yes"


def test_the_shelter_file_is_mounted_where_the_variable_can_point():
    helpline = compose()["services"]["helpline"]
    assert any(volume.endswith(":/app/shelters:ro") for volume in helpline["volumes"])
    assert (ROOT / "shelters").is_dir()


def test_the_image_copies_every_package_it_installs():
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*?)\]", pyproject)[1]
    names = {name.strip('" *') for name in packages.split(",")}
    copied = set(re.findall(r"^COPY (\w+) ", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert names == {"bot", "handoff", "helpline"}
    assert names <= copied


def test_local_secrets_and_environments_are_never_committed():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored and ".venv/" in ignored
