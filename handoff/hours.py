"""Opening hours of the counsellors, from settings.yaml:

    opening_hours:
      timezone: Europe/Rome
      mon: "09:00-17:00"
      tue: "09:00-17:00, 19:00-22:00"
      sat: closed            # or leave the day out

An empty mapping means always open.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_day_names

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OpeningHoursError(ValueError):
    pass


class OpeningHours:
    def __init__(self, spec: dict | None):
        spec = dict(spec or {})
        self.always = not spec
        try:
            self.zone = ZoneInfo(str(spec.pop("timezone", "UTC")))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise OpeningHoursError(f"opening_hours.timezone: unknown time zone ({exc})") from None
        self.windows: dict[int, list[tuple[time, time]]] = {}
        for day, value in spec.items():
            if day not in DAYS:
                raise OpeningHoursError(
                    f"opening_hours: unknown day {day!r}; use {', '.join(DAYS)} and timezone"
                )
            windows = []
            if str(value).strip().lower() not in ("closed", ""):
                for part in str(value).split(","):
                    try:
                        start, end = (time.fromisoformat(x.strip()) for x in part.split("-"))
                    except ValueError:
                        raise OpeningHoursError(
                            f"opening_hours.{day}: {part.strip()!r} is not like 09:00-17:00"
                        ) from None
                    windows.append((start, end))
            self.windows[DAYS.index(day)] = windows

    def is_open(self, now: float) -> bool:
        if self.always:
            return True
        local = datetime.fromtimestamp(now, self.zone)
        moment = local.time()
        return any(start <= moment < end for start, end in self.windows.get(local.weekday(), []))

    def describe(self, language: str = "en") -> str:
        """ "Mon 09:00-17:00, Tue 09:00-17:00" with day names in `language`."""
        if self.always:
            return ""
        try:
            names = get_day_names("abbreviated", locale=language)
        except Exception:
            names = get_day_names("abbreviated", locale="en")
        parts = []
        for index in range(7):
            windows = self.windows.get(index)
            if windows:
                spans = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in windows)
                parts.append(f"{names[index]} {spans}")
        return "; ".join(parts) + f" ({self.zone.key})"
