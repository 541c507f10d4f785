"""Lookups of the current generation: nearest first, with filters, a radius that widens when nothing is near, and the country's helplines as a fallback. Nothing about the person searching is written anywhere."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bot.shelters.directory import KINDS, MAX_RESULTS, RADII_KM, Shelter
from bot.store import keys
from bot.store.replies import decoded
from bot.store.scripts import load_script


@dataclass(frozen=True)
class Found:
    shelter: Shelter
    distance_km: float


@dataclass(frozen=True)
class Nearby:
    found: tuple[Found, ...]
    radius_km: float  # the last radius searched


class Directory:
    """Lookups in the current generation of the directory.

    The current generation's name is read once and kept for a second, so that
    a lookup is one round trip. An import retires the old generation as it
    switches: a lookup on it is answered "gone" and starts again on the new
    one. (The second only matters if an import died in the middle of a switch.)"""

    GENERATION_TTL_S = 1.0

    def __init__(self, redis: Redis):
        self.redis = redis
        self._search = load_script(redis, Path(__file__).parent / "search.lua")
        self._generation: str | None = None
        self._read_at = 0.0

    async def generation(self, fresh: bool = False) -> str | None:
        now = time.monotonic()
        if fresh or self._generation is None or now - self._read_at > self.GENERATION_TTL_S:
            current = await self.redis.get(keys.SHELTERS_CURRENT)
            self._generation, self._read_at = (decoded(current) if current else None), now
        return self._generation

    async def near(
        self,
        latitude: float,
        longitude: float,
        *,
        kinds: tuple[str, ...] = (),
        services: tuple[str, ...] = (),
        languages: tuple[str, ...] = (),
        limit: int = MAX_RESULTS,
        radii: tuple[float, ...] = RADII_KM,
    ) -> Nearby:
        """Up to `limit` entries nearest to the point, nearest first, within the
        smallest radius of `radii` that holds `limit` of them (else the largest).
        Filters: any of `kinds`, every one of `services`, any of `languages`."""
        for attempt in range(3):
            generation = await self.generation(fresh=attempt > 0)
            if generation is None:
                return Nearby((), float(radii[-1]))
            reply = await self._search(
                keys=[
                    keys.shelters_meta(generation),
                    keys.shelters_tags(generation),
                    keys.shelters_data(generation),
                    *(keys.shelters_geo(generation, kind) for kind in (kinds or KINDS)),
                ],
                args=[
                    f"{longitude:.6f}",
                    f"{latitude:.6f}",
                    limit,
                    " ".join(services),
                    " ".join(languages),
                    *radii,
                ],
            )
            if reply[0] == b"gone":
                continue  # an import replaced this generation meanwhile: read the new one
            found = tuple(
                Found(Shelter.from_json(reply[i + 2]), float(reply[i + 1]))
                for i in range(2, len(reply), 3)
            )
            return Nearby(found, float(reply[1]))
        return Nearby((), float(radii[-1]))

    async def national(self, country: str) -> list[Shelter]:
        """The country's helplines: for when nothing is within reach, or only the country is known."""
        generation = await self.generation()
        if generation is None or not country:
            return []
        raw = await self.redis.hget(keys.shelters_national(generation), country.upper())
        if not raw:
            return []
        return [
            Shelter(
                **{
                    **item,
                    "languages": tuple(item["languages"]),
                    "services": tuple(item["services"]),
                }
            )
            for item in json.loads(raw)
        ]

    async def get(self, ids: list[str]) -> list[Shelter]:
        """Entries by id, in that order; ids no longer in the directory are left out."""
        generation = await self.generation()
        if generation is None or not ids:
            return []
        raws = await self.redis.hmget(keys.shelters_data(generation), ids)
        return [Shelter.from_json(raw) for raw in raws if raw]

    async def status(self) -> dict[str, str]:
        generation = await self.generation()
        if generation is None:
            return {}
        meta = await self.redis.hgetall(keys.shelters_meta(generation))
        return {"generation": generation, **{decoded(k): decoded(v) for k, v in meta.items()}}
