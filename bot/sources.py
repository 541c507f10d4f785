"""YAML that remembers where each value came from, so that every problem an
admin sees points at `file:line:col`.

`load(path)` returns a `Source`: the plain Python data (dicts, lists, strings,
numbers) and a map from each value's path, e.g. ("states", "menu", "say"), to
its 1-based line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[Any, ...]


@dataclass(frozen=True, order=True)
class Issue:
    """A problem in an admin's file (flows, risk lexicons, catalogs, a shelter
    directory, scenarios), printed as `file:line:col: message [code]` (no column
    where the format has none). `code` names the kind of problem, e.g.
    `unknown-target` or `unreachable-state` (flows/README.md lists them)."""

    file: str
    line: int
    col: int  # 0: the format has no columns (CSV rows, catalogs)
    message: str
    severity: str = field(default="error", compare=False)
    code: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.col else f"{self.file}:{self.line}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        suffix = f" [{self.code}]" if self.code else ""
        return f"{where}: {prefix}{self.message}{suffix}"


@dataclass
class Source:
    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]]
    lines: list[str]

    def where(self, path: Path_) -> tuple[int, int]:
        """Line and column of `path`, or of its closest ancestor that has one."""
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def issue(self, path: Path_, message: str, severity: str = "error", code: str = "") -> Issue:
        line, col = self.where(path)
        return Issue(self.file, line, col, message, severity, code)

    def comment_above(self, path: Path_) -> str | None:
        """The `# translators: ...` comment lines right above `path`'s line, if any."""
        line, _ = self.marks.get((*path, "<key>")) or self.where(path)
        found: list[str] = []
        index = line - 2
        while index >= 0:
            text = self.lines[index].strip()
            if not text.startswith("#"):
                break
            found.append(text.lstrip("#").strip())
            index -= 1
        found.reverse()
        notes = [t.split(":", 1)[1].strip() for t in found if t.lower().startswith("translators:")]
        return " ".join(notes) or None


# libyaml when present: 10x faster. Chosen at run time, so its type is Any to mypy.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """YAML 1.2 booleans: only true/false. In YAML 1.1 `No`, `yes`, `on` and `off`
    are booleans, which would silently turn a menu label "No" into False."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class YamlError(Exception):
    def __init__(self, issue: Issue):
        super().__init__(str(issue))
        self.issue = issue


def _key_error(file: str, key_node: yaml.Node, message: str, code: str) -> YamlError:
    mark = key_node.start_mark
    return YamlError(Issue(file, mark.line + 1, mark.column + 1, message, code=code))


def _convert(node: yaml.Node, path: Path_, marks: dict, file: str, loader: _Loader) -> Any:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            key = (
                loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            )
            if not isinstance(key, str):
                raise _key_error(file, key_node, "keys must be plain words", "yaml-key")
            if key in result:
                raise _key_error(file, key_node, f"key {key!r} appears twice", "duplicate-key")
            result[key] = _convert(value_node, (*path, key), marks, file, loader)
            # A key's own position is more useful than its value's for "unknown key".
            marks[(*path, key, "<key>")] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), marks, file, loader) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def parse(text: str, file: str) -> Source:
    """Parse YAML text; raise YamlError with the position of a syntax error."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(
            Issue(file, line, col, f"YAML syntax: {problem}", code="yaml-syntax")
        ) from None
    marks: dict = {}
    loader = _Loader("")
    try:
        data = _convert(node, (), marks, file, loader) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlError(
            Issue(file, mark.line + 1, mark.column + 1, f"YAML: {exc.problem}", code="yaml-syntax")
        ) from None
    finally:
        loader.dispose()
    return Source(file, data, marks, text.splitlines())


def load(path: Path, display_name: str | None = None) -> Source:
    name = display_name or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise YamlError(
            Issue(name, 1, 1, f"cannot read the file: {exc.strerror}", code="unreadable")
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(
            Issue(name, line, 1, "the file is not UTF-8: save it as UTF-8", code="not-utf8")
        ) from None
    return parse(text, name)
