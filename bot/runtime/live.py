"""The flows in use: one Engine over the flow set and the catalogs, rebuilt when
their files change on disk. An edit with errors is refused (logged with
file:line) and the last good set keeps running."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from bot.channels.base import PageTexts
from bot.conversation.engine import Engine
from bot.flows.load import load_flowset
from bot.flows.schema import FlowSet
from bot.i18n.catalogs import Catalogs
from bot.sources import Issue

log = logging.getLogger("helpline.runtime")


def fingerprint(files: Iterable[Path]) -> tuple:
    """What changes when one of `files` is edited, added or removed."""
    return tuple(
        sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())
    )


class FlowsInvalid(Exception):
    def __init__(self, issues: list[Issue]):
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues


class Flows:
    """The current Engine, rebuilt when the flows or the catalogs change on disk;
    `listeners` are told of each new one."""

    def __init__(self, flows_dir: Path, locales_dir: Path, retention_days: int = 30):
        """`retention_days`: how long conversations are kept, which the welcome tells."""
        self.flows_dir = Path(flows_dir)
        self.locales_dir = Path(locales_dir)
        self.retention_days = retention_days
        self._stamp: tuple = ()
        self.reload_error: str | None = None  # why the last edit was refused, if it was
        self.engine: Engine = self._build(previous=None)
        self.listeners: list[Callable[[Engine], None]] = []

    def _fingerprint(self) -> tuple:
        return fingerprint([*self.flows_dir.rglob("*.y*ml"), *self.locales_dir.rglob("*.po")])

    def _build(self, previous: Catalogs | None) -> Engine:
        """The engine of the flows on disk; a catalog with errors is refused in
        favour of `previous`'s (see Catalogs)."""
        self._stamp = self._fingerprint()
        flowset, issues = load_flowset(self.flows_dir)
        if flowset is None:
            raise FlowsInvalid([i for i in issues if i.severity == "error"])
        self.catalogs: Catalogs = Catalogs(self.locales_dir, previous=previous)
        self.flowset: FlowSet = flowset
        return Engine(flowset, self.catalogs, retention_days=self.retention_days)

    # ------------------------------------------------------------------ what channels ask (Words)

    def global_keyword(self, text: str) -> str | None:
        return self.engine.global_keyword(text)

    def page_texts(self, prefix: str, language: str | None, tags: str | None) -> PageTexts:
        catalogs, engine = self.catalogs, self.engine
        code = language if language in catalogs.languages else None
        code = code or (catalogs.match_tag(tags) if tags else None) or "en"
        texts = {
            key: catalogs.directional(engine.render_in(code, msgid), code) if msgid else ""
            for key, msgid in engine.settings.messages.items()
            if key.startswith(prefix)
        }
        return PageTexts(code, "rtl" if catalogs.is_rtl(code) else "ltr", texts)

    def reload_if_changed(self) -> bool:
        """Rebuild when a file changed; True when a new engine is in use."""
        if self._fingerprint() == self._stamp:
            return False
        try:
            self.engine = self._build(previous=self.catalogs)
        except FlowsInvalid as exc:
            log.error("flows changed but have errors; still using the previous ones:\n%s", exc)
            self.reload_error = str(exc.issues[0]) if exc.issues else "the flows have errors"
            return False
        self.reload_error = None
        log.info("flows reloaded (version %s)", self.flowset.version)
        for listener in self.listeners:
            listener(self.engine)
        return True
