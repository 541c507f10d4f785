"""`helpline flows test`: admins' scenario files, run against the real runtime.

A scenario file (flows/tests/*.yaml) is a list of conversations: a person's
inputs, each with what must be said back and where the conversation must be.
It runs on a throwaway Redis with a fixed clock, the same way for everyone:

    - name: SMS welcome and the main menu
      channel: sms               # sms, telegram or web (default web)
      language: en               # a Telegram language_code; or phone: "+40..." for SMS
      steps:
        - send: hello
          expect: [confidential, "send EXIT"]   # texts that the replies contain, in order
          state: welcome.safe_check
        - send: "1"
          state: main.menu
        - button: 2              # taps option 2 of the last menu (Telegram, web)
        - location: [44.49, 11.34]
        - wait: 45               # minutes pass (idle timeout)
        - send: EXIT
          expect_nothing: true
          erased: true

Beyond what each step expects, `helpline flows test --write` records every reply
and state in flows/tests/golden/ (bot/testing/golden.py): later runs fail on
any difference, shown as a diff.
"""

from __future__ import annotations

import difflib
import functools
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.channels import CAPABILITIES, REGISTRY
from bot.channels.base import Inbound, render_text
from bot.config import Settings
from bot.conversation.model import Conversation
from bot.pipeline.drain import DrainScript
from bot.runtime.conversations import Conversations
from bot.runtime.live import Flows
from bot.runtime.runtime import Runtime
from bot.sources import Issue, Source, YamlError, load
from bot.store import keys
from bot.store.commit import Commit
from bot.store.embedded import EmbeddedRedis
from bot.store.privacy import Privacy
from bot.testing import golden

STEP_KEYS = {
    "send",
    "button",
    "location",
    "wait",
    "expect",
    "expect_not",
    "expect_nothing",
    "reply",
    "state",
    "mode",
    "erased",
    "language",
}
CASE_KEYS = {"name", "channel", "language", "phone", "steps", "counsellors_online"}
START_TIME = 1_767_225_600.0  # 2026-01-01 00:00 UTC: a fixed clock for every run


@dataclass
class Failure:
    file: str
    line: int
    case: str
    step: int
    message: str
    expected: list[str] = field(default_factory=list)
    actual: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"{self.file}:{self.line}: {self.case!r}, step {self.step}: {self.message}"
        if not self.expected and not self.actual:
            return head
        diff = difflib.unified_diff(self.expected, self.actual, "expected", "replies", lineterm="")
        return head + "\n" + "\n".join("    " + line for line in diff)


@dataclass
class Report:
    cases: int = 0
    steps: int = 0
    failures: list[Failure] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # golden files recorded
    visited: set[str] = field(default_factory=set)
    all_states: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.issues

    def coverage(self) -> float:
        return len(self.visited & self.all_states) / max(1, len(self.all_states))


def case_name(index: int, case: Any) -> str:
    name = case.get("name") if isinstance(case, dict) else None
    return str(name) if name is not None else f"case {index + 1}"


def where(conv: Conversation | None) -> str:
    """Where a conversation is, as a golden file records it."""
    if conv is None:
        return "(no conversation)"
    return f"{conv.flow}.{conv.state} ({conv.mode}, {conv.language})"


class Clock:
    def __init__(self) -> None:
        self.now = START_TIME

    def __call__(self) -> float:
        return self.now


def scenario_files(flows_dir: Path) -> list[Path]:
    return sorted((Path(flows_dir) / "tests").glob("*.y*ml"))


# Wires the runtime's services for a runner (helpline.services.scenario_runtime).
RuntimeFactory = Callable[[Conversations, Settings], Awaitable[Runtime]]


class ScenarioRunner:
    """Runs scenarios through Runtime.handle on a private Redis."""

    def __init__(
        self,
        flows: Flows,
        redis: Redis,
        build_runtime: RuntimeFactory | None = None,
        settings: Settings | None = None,
    ):
        """`build_runtime` wires the runtime's services (helpline.services);
        without it, the flows run with no actions but safe exit."""
        self.flows = flows
        self.redis = redis
        self.clock = Clock()
        self.privacy = Privacy(b"scenario-tests-fixed-key-0123456789")
        self.conversations = Conversations(redis, self.privacy, flows, 86400, clock=self.clock)
        self.runtime = Runtime(self.conversations)
        self.build_runtime = build_runtime
        self.settings = settings or Settings(
            flows_dir=flows.flows_dir, locales_dir=flows.locales_dir
        )
        self.inboxes = DrainScript(
            redis, keys.inbox, keys.work_lock, keys.WORK_PENDING, clock=self.clock
        )

    async def setup(self) -> None:
        if self.build_runtime:
            self.runtime = await self.build_runtime(self.conversations, self.settings)

    async def send(self, inbound: Inbound) -> tuple[list[str], list[str] | None]:
        """Process one inbound message as a worker would; return the replies' texts
        and the payloads of the last menu among them (None if none had one)."""
        pid = self.privacy.pid(inbound.channel, inbound.user_id)
        key = await self.conversations.vault.ensure(pid)
        commit = Commit(pid, inbound.channel, 86400, self.clock(), key)
        await self.inboxes.hold(pid, "scenario")
        await self.runtime.handle(pid, inbound, commit)
        await self.inboxes.apply(pid, "scenario", commit.finish())  # as the pipeline does
        sent = [
            json.loads(key.open(r) or "{}")
            for r in await self.redis.lrange(keys.outbox(pid), 0, -1)
        ]
        await self.redis.delete(keys.outbox(pid), keys.work_lock(pid))
        await self.redis.zrem(keys.send_pending(inbound.channel), pid)
        texts = [
            render_text(s["text"], tuple(s["options"])) for s in sent if s.get("kind") == "text"
        ]
        menus = [[payload for _, payload in s["options"]] for s in sent if s.get("options")]
        return texts, (menus[-1] if menus else None)

    async def run_file(
        self, path: Path, report: Report, display: str | None = None, record: bool = False
    ) -> None:
        """Run a scenario file's cases, then compare what they did with the file's
        golden record (bot/testing/golden.py) or, with `record`, write it."""
        try:
            src = load(path, display or str(path))
        except YamlError as exc:
            report.issues.append(exc.issue)
            return
        cases = src.data if isinstance(src.data, list) else None
        if cases is None:
            report.issues.append(
                src.issue(
                    (),
                    "a scenario file is a list of cases (- name: ..., steps: [...])",
                    code="schema",
                )
            )
            return
        recordings: list[golden.Recording] = []
        failed: set[str] = set()
        for index, case in enumerate(cases):
            recording = golden.Recording(f"{index + 1}. {case_name(index, case)}")
            before = len(report.failures)
            await self.run_case(src, index, case, report, recording)
            recordings.append(recording)
            if len(report.failures) > before:
                failed.add(recording.key)
        record_file = golden.golden_path(path)
        if record:
            golden.write(record_file, recordings)
            report.written.append(record_file)
        elif record_file.exists():
            self._compare(record_file, recordings, failed, report)

    @staticmethod
    def _compare(
        record_file: Path, recordings: list[golden.Recording], failed: set[str], report: Report
    ) -> None:
        recorded = golden.read(record_file)
        hint = "run `helpline flows test --write` if the difference is what you meant"
        for recording in recordings:
            if recording.key in failed:
                continue  # its own failure says more
            if recording.key not in recorded:
                message = f"case {recording.key!r} is not recorded yet: {hint}"
                report.failures.append(Failure(str(record_file), 1, recording.key, 0, message))
                continue
            line, lines = recorded[recording.key]
            index = golden.first_difference(recording.lines, lines)
            if index is not None:
                report.failures.append(
                    Failure(
                        str(record_file),
                        line + index,
                        recording.key,
                        recording.step_at(index),
                        f"the replies or the state differ from the recorded ones: {hint}",
                        lines,
                        recording.lines,
                    )
                )

    async def run_case(
        self,
        src: Source,
        index: int,
        case: Any,
        report: Report,
        recording: golden.Recording | None = None,
    ) -> None:
        path = (index,)
        if not isinstance(case, dict) or not isinstance(case.get("steps"), list):
            report.issues.append(
                src.issue(path, "each case needs `name:` and a list of `steps:`", code="schema")
            )
            return
        for key in case:
            if key not in CASE_KEYS:
                report.issues.append(
                    src.issue(
                        (*path, key, "<key>"),
                        f"unknown key {key!r} in a case; allowed: {', '.join(sorted(CASE_KEYS))}",
                        code="unknown-key",
                    )
                )
        name = case_name(index, case)
        channel = case.get("channel", "web")
        if channel not in REGISTRY:
            report.issues.append(
                src.issue(
                    (*path, "channel"),
                    f"channel must be one of: {', '.join(REGISTRY)}",
                    code="unknown-channel",
                )
            )
            return
        await self.redis.flushdb()
        await self.setup()
        self.clock.now = START_TIME
        report.cases += 1
        user = case.get("phone") or f"scenario-{index:04d}-user-id"
        hint = case.get("language")
        online = int(case.get("counsellors_online", 0))
        if online:
            for i in range(online):
                await self.redis.zadd(keys.PRESENCE, {f"counsellor{i}": 4_000_000_000})
        pid = self.privacy.pid(channel, str(user))
        last_options: list[str] = []
        for number, step in enumerate(case["steps"], start=1):
            spath = (*path, "steps", number - 1)
            line = src.where(spath)[0]
            if not isinstance(step, dict):
                report.issues.append(
                    src.issue(
                        spath,
                        "a step is a mapping: send:, button:, location: or wait:",
                        code="schema",
                    )
                )
                return
            unknown = [k for k in step if k not in STEP_KEYS]
            if unknown:
                report.issues.append(
                    src.issue(
                        (*spath, unknown[0], "<key>"),
                        f"unknown key {unknown[0]!r} in a step; allowed: {', '.join(sorted(STEP_KEYS))}",
                        code="unknown-key",
                    )
                )
                return
            report.steps += 1
            if "wait" in step:
                self.clock.now += float(step["wait"]) * 60
                if len(step) == 1:
                    if recording is not None:
                        conv = await self.conversations.load(pid)
                        recording.step(number, step, [], where(conv))
                    continue
            self.clock.now += 1
            inbound = self._inbound(step, channel, str(user), hint, last_options)
            if isinstance(inbound, str):
                report.failures.append(Failure(src.file, line, name, number, inbound))
                return
            replies, options = await self.send(inbound)
            if options is not None:
                last_options = options
            conv = await self.conversations.load(pid)
            failure = await self._check(step, replies, pid, conv)
            if recording is not None:
                recording.step(number, step, replies, where(conv))
            if conv is not None:
                report.visited.add(f"{conv.flow}.{conv.state}")
            if failure:
                report.failures.append(Failure(src.file, line, name, number, *failure))
                return

    def _inbound(
        self, step: dict, channel: str, user: str, hint, last_options: list[str]
    ) -> Inbound | str:
        hint = hint if CAPABILITIES[channel].language_hint else None
        inbound = functools.partial(
            Inbound, channel, user, language_hint=hint, received_at=self.clock.now
        )
        if "send" in step:
            return inbound(kind="text", text=str(step["send"]))
        if "button" in step:
            if not CAPABILITIES[channel].buttons:
                return f"channel {channel} has no buttons: use send: with the option's number"
            choice = int(step["button"])
            if not 1 <= choice <= len(last_options):
                return f"button {choice}: the last menu has {len(last_options)} options"
            return inbound(kind="button", payload=last_options[choice - 1])
        if "location" in step:
            lat, lon = step["location"]
            return inbound(kind="location", location=(float(lat), float(lon)))
        return "a step needs send:, button:, location: or wait:"

    async def _check(
        self, step: dict, replies: list[str], pid: str, conv: Conversation | None
    ) -> tuple | None:
        joined = "\n".join(replies)
        expected = step.get("expect", [])
        expected = [expected] if isinstance(expected, str) else [str(e) for e in expected]
        position = 0
        for text in expected:
            found = joined.find(text, position)
            if found < 0:
                return (
                    f"the replies do not contain {text!r}"
                    + (" after the texts before it" if text in joined else ""),
                    expected,
                    replies,
                )
            position = found + len(text)
        for text in (
            [step["expect_not"]]
            if isinstance(step.get("expect_not"), str)
            else step.get("expect_not", [])
        ):
            if str(text) in joined:
                return (f"the replies contain {text!r}", [f"(not) {text}"], replies)
        if "reply" in step and joined.strip() != str(step["reply"]).strip():
            return (
                "the replies differ",
                str(step["reply"]).strip().splitlines(),
                joined.strip().splitlines(),
            )
        if step.get("expect_nothing") and replies:
            return ("something was sent back, but nothing should be", [], replies)
        if "state" in step:
            where = f"{conv.flow}.{conv.state}" if conv else "(no conversation)"
            if where != step["state"]:
                return (f"the conversation is in {where}, not in {step['state']}", [], replies)
        if "mode" in step:
            mode = conv.mode if conv else "(no conversation)"
            if mode != step["mode"]:
                return (f"the conversation's mode is {mode}, not {step['mode']}", [], replies)
        if "language" in step:
            language = conv.language if conv else "(no conversation)"
            if language != step["language"]:
                return (
                    f"the conversation's language is {language}, not {step['language']}",
                    [],
                    replies,
                )
        if step.get("erased") is True:
            left = [k for k in keys.conversation_keys(pid) if await self.redis.exists(k)]
            if left:
                return (f"safe exit left {len(left)} keys of the conversation in Redis", [], left)
        return None


async def run_scenarios(
    flows_dir: Path,
    locales_dir: Path,
    build_runtime: RuntimeFactory | None = None,
    files: list[Path] | None = None,
    settings=None,
    record: bool = False,
) -> Report:
    """Run every scenario of `flows_dir/tests` on a throwaway embedded Redis; with
    `record`, write their golden files instead of comparing with them."""
    flows = Flows(flows_dir, locales_dir)
    report = Report()
    # States a conversation rests in (passed-through ones, with next: or an action, do not count).
    report.all_states = {
        f"{f.name}.{s.name}"
        for f in flows.flowset.flows.values()
        for s in f.states.values()
        if not s.next
        and not any(a.name in ("handoff", "find_shelters", "send_address") for a in s.actions)
    }
    with tempfile.TemporaryDirectory(prefix="helpline-scenarios-") as tmp:
        server = EmbeddedRedis(Path(tmp), appendonly=False)
        server.start()
        redis = Redis.from_url(server.url)
        try:
            runner = ScenarioRunner(flows, redis, build_runtime, settings)
            for path in files if files is not None else scenario_files(flows_dir):
                await runner.run_file(path, report, record=record)
        finally:
            await redis.aclose()
            server.stop()
    return report
