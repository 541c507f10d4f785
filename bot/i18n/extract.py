"""A babel extractor for flow YAML (registered as `helpline_flows` under
`babel.extractors`, so `pybabel extract -F babel.cfg` works too).

It yields every text a person reads: `say`, menu `label`s and `keywords`,
`reprompt`, and in settings.yaml the global keywords, the runtime's messages
and the counsellors' canned responses. Each comes with its line and with the
`# translators: ...` comment written above it in the YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.flows.schema import strings_of
from bot.sources import YamlError, parse


def extract_flows(
    fileobj, keywords, comment_tags, options
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    name = getattr(fileobj, "name", "flow.yaml")
    raw = fileobj.read()
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        source = parse(text, str(name))
    except YamlError:
        return  # `helpline flows check` reports it with its line
    for message, src, path in strings_of(source):
        line, _ = src.where(path)
        comments = [c for c in [src.comment_above(path), _context_comment(path)] if c]
        yield line, None, message, comments


def _context_comment(path: tuple[Any, ...]) -> str | None:
    """A hint for translators of where the text appears."""
    if path[:1] == ("keywords",):
        return "Comma-separated words a person can send alone; the first is shown to people."
    if len(path) >= 5 and path[2] == "menu" and path[-1] == "keywords":
        return "Comma-separated words that choose this menu option."
    if len(path) >= 5 and path[2] == "menu":
        return "A menu option: short, a few words."
    if path[:1] == ("canned",):
        return "A counsellor's canned response."
    return None
