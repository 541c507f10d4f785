"""CLI commands beside their modules: locales, shelters, counsellor."""

from __future__ import annotations


def add_commands(sub) -> None:
    pass
