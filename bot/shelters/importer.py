"""Importing a directory into Redis by generations: a new generation of keys, one atomic switch, the old one dropped; no lookup sees a half-written directory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from bot.clock import Clock, wall_clock
from bot.shelters.directory import KINDS, PROGRESS_EVERY, Shelter, log, parse_directory
from bot.store import keys
from bot.store.replies import decoded


@dataclass
class ImportSummary:
    entries: int
    examples: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    generation: str = ""
    swapped: bool = False  # False when the directory was already the same

    def __str__(self) -> str:
        text = (
            f"{self.entries} entries: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed"
        )
        if not self.swapped:
            text += " (the directory was already up to date)"
        if self.examples:
            text += f"; {self.examples} marked as example data"
        return text


def new_generation(now: float) -> str:
    return f"g{int(now)}{secrets.token_hex(3)}"


class ImportBusy(Exception):
    """Another import is still running (another process, the CLI)."""


IMPORT_LOCK_TTL_S = 60  # renewed at every batch: an import that died frees it soon
IMPORT_WAIT_S = 120


@contextlib.asynccontextmanager
async def _import_lock(redis: Redis) -> AsyncIterator[None]:
    """One import at a time: two at once could each delete the other's half-written generation."""
    token = secrets.token_hex(8).encode()
    deadline = time.monotonic() + IMPORT_WAIT_S
    while not await redis.set(keys.SHELTERS_IMPORT_LOCK, token, nx=True, ex=IMPORT_LOCK_TTL_S):
        if time.monotonic() > deadline:
            raise ImportBusy(
                "another import of the shelter directory is still running: try again when it has finished"
            )
        await asyncio.sleep(0.1)
    try:
        yield
    finally:
        if await redis.get(keys.SHELTERS_IMPORT_LOCK) == token:
            await redis.delete(keys.SHELTERS_IMPORT_LOCK)


async def import_directory(
    redis: Redis,
    shelters: list[Shelter],
    source_sha256: str = "",
    progress: Callable[[int, int], None] | None = None,
    clock: Clock = wall_clock,
) -> ImportSummary:
    """Make `shelters` the directory lookups use, all at once: write a new
    generation, switch to it, delete the old one. Importing the same entries
    again changes nothing. One import at a time (waits, else ImportBusy)."""
    async with _import_lock(redis):
        return await _import(redis, shelters, source_sha256, progress, clock())


async def _import(
    redis: Redis,
    shelters: list[Shelter],
    source_sha256: str,
    progress: Callable[[int, int], None] | None,
    now: float,
) -> ImportSummary:
    current_raw = await redis.get(keys.SHELTERS_CURRENT)
    current = decoded(current_raw) if current_raw else None
    old: dict[str, str] = {}
    if current is not None:
        old = {
            decoded(k): decoded(v)
            for k, v in (await redis.hgetall(keys.shelters_data(current))).items()
        }
    new = {s.id: s.to_json() for s in shelters}
    summary = ImportSummary(
        entries=len(shelters),
        examples=sum(s.example for s in shelters),
        added=sorted(set(new) - set(old)),
        changed=sorted(i for i in new if i in old and old[i] != new[i]),
        removed=sorted(set(old) - set(new)),
    )
    if current is not None and not (summary.added or summary.changed or summary.removed) and old:
        await redis.hset(keys.shelters_meta(current), "source_sha256", source_sha256)
        summary.generation = current
        if progress:
            progress(len(shelters), len(shelters))
        return summary

    generation = new_generation(now)
    await redis.sadd(keys.SHELTERS_GENERATIONS, generation)
    data, tags = keys.shelters_data(generation), keys.shelters_tags(generation)
    for start in range(0, len(shelters), PROGRESS_EVERY):
        batch = shelters[start : start + PROGRESS_EVERY]
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(data, mapping={s.id: new[s.id] for s in batch})
            pipe.hset(tags, mapping={s.id: s.tags() for s in batch})
            pipe.expire(keys.SHELTERS_IMPORT_LOCK, IMPORT_LOCK_TTL_S)
            for kind in KINDS:  # one GEO set per kind: a search reads only the kinds it wants
                members = [
                    part
                    for s in batch
                    if s.kind == kind
                    for part in (s.longitude, s.latitude, s.id)
                ]
                if members:
                    pipe.geoadd(keys.shelters_geo(generation, kind), members)
            await pipe.execute()
        if progress:
            progress(min(start + PROGRESS_EVERY, len(shelters)), len(shelters))
    national: dict[str, list[dict]] = {}
    for shelter in shelters:
        if shelter.kind == "helpline":
            national.setdefault(shelter.country, []).append(json.loads(new[shelter.id]))
    async with redis.pipeline(transaction=False) as pipe:
        if national:
            pipe.hset(
                keys.shelters_national(generation),
                mapping={c: json.dumps(v, ensure_ascii=False) for c, v in national.items()},
            )
        pipe.hset(
            keys.shelters_meta(generation),
            mapping={
                "entries": len(shelters),
                "examples": summary.examples,
                "source_sha256": source_sha256,
                "imported_at": int(now),
            },
        )
        await pipe.execute()
    # The switch: from here on every lookup reads the new generation.
    await redis.set(keys.SHELTERS_CURRENT, generation)
    await drop_other_generations(redis, generation)
    summary.generation = generation
    summary.swapped = True
    return summary


async def drop_other_generations(redis: Redis, keep: str) -> None:
    """Delete every generation but `keep`: the one just replaced, and any left
    half-written by an import that was interrupted."""
    for raw in await redis.smembers(keys.SHELTERS_GENERATIONS):
        generation = decoded(raw)
        if generation != keep:
            # Retired first: a process that still has this name cached learns it
            # at its next lookup, and reads the current one.
            await redis.hset(keys.shelters_meta(generation), "retired", 1)
            await redis.unlink(
                *keys.shelters_generation_keys(generation, KINDS)
            )  # freed in the background
            await redis.srem(keys.SHELTERS_GENERATIONS, generation)


async def load_at_start(redis: Redis, path: Path, clock: Clock = wall_clock) -> None:
    """Load HELPLINE_SHELTERS_FILE when it changed since it was last loaded here,
    or when there is no directory yet. A directory imported since with
    `helpline shelters import` stays in use until this file changes. Errors are
    logged with file:line and the directory in use is kept. Warns while the
    directory in use holds example data."""
    try:
        raw = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        log.error("cannot read the shelter directory %s: %s", path, exc.strerror)
        raw = None
    if raw is not None:
        sha = hashlib.sha256(raw).hexdigest()
        loaded = await redis.get(keys.SHELTERS_START_FILE)
        if (
            await redis.get(keys.SHELTERS_CURRENT) is None
            or loaded is None
            or decoded(loaded) != sha
        ):
            await _load(redis, raw, str(path), sha, clock)
    await warn_if_example(redis)


async def _load(redis: Redis, raw: bytes, file: str, sha: str, clock: Clock) -> None:
    shelters, problems = await asyncio.to_thread(parse_directory, raw, file)
    for problem in problems:
        (log.error if problem.severity == "error" else log.warning)("%s", problem)
    if any(p.severity == "error" for p in problems):
        log.error(
            "the shelter directory %s has errors: it was not loaded, and the directory in use "
            "(if any) stays. Fix the lines above and restart.",
            file,
        )
        return
    try:
        summary = await import_directory(redis, shelters, sha, clock=clock)
    except ImportBusy as exc:
        log.warning("the shelter directory %s was not loaded: %s", file, exc)
        return
    await redis.set(keys.SHELTERS_START_FILE, sha)
    log.info("shelter directory %s loaded: %s", file, summary)


async def remember_start_file(redis: Redis, path: Path) -> None:
    """After `helpline shelters import`: the current HELPLINE_SHELTERS_FILE counts
    as loaded, so that the next start keeps the imported directory until that
    file changes."""
    try:
        raw = await asyncio.to_thread(Path(path).read_bytes)
    except OSError:
        return
    await redis.set(keys.SHELTERS_START_FILE, hashlib.sha256(raw).hexdigest())


async def warn_if_example(redis: Redis) -> None:
    current = await redis.get(keys.SHELTERS_CURRENT)
    if current is None:
        log.warning(
            "there is no shelter directory: searches find nothing. Load one with "
            "HELPLINE_SHELTERS_FILE or `helpline shelters import FILE` (docs/shelters.md)."
        )
        return
    examples = await redis.hget(keys.shelters_meta(decoded(current)), "examples")
    if examples and int(examples):
        log.warning(
            "the shelter directory in use holds EXAMPLE data (%s entries marked example: true): "
            "people are shown example services, not real ones. Load your organisation's "
            "directory with HELPLINE_SHELTERS_FILE or `helpline shelters import FILE` "
            "(docs/shelters.md).",
            int(examples),
        )


# --------------------------------------------------------------------------- lookups
