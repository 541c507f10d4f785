"""What every command shares: exit codes, settings and flows loaded or a clear
sentence and an exit code, logging, and Redis for the commands that write to it."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from bot.channels import REGISTRY
from bot.config import ConfigError, Settings, load_settings
from bot.runtime.live import Flows, FlowsInvalid

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def settings_or_exit() -> Settings:
    try:
        return load_settings(channels=REGISTRY.values())
    except ConfigError as exc:
        print("helpline: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiohttp.access", "httpx", "telegram", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def flows_or_exit(settings: Settings):
    try:
        return Flows(settings.flows_dir, settings.locales_dir, settings.retention_days)
    except FlowsInvalid as exc:
        print(
            f"helpline: the flows in {settings.flows_dir} have errors; fix them and start again:",
            file=sys.stderr,
        )
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None


def flows_dir(arg: str | None) -> Path:
    """The flows directory a command works on: its argument, else HELPLINE_FLOWS_DIR."""
    return Path(arg or os.environ.get("HELPLINE_FLOWS_DIR") or "flows")


def locales_dir() -> Path:
    return Path(os.environ.get("HELPLINE_LOCALES_DIR") or "locales")
