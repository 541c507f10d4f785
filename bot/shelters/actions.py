"""The flows' shelter actions: `find_shelters` (where she is -> the nearest
services that match her need) and `send_address` (the public addresses of the
services just listed, once she confirmed).

Privacy: her location (`_location`) or the place she typed (`_place`) is used
for the lookup and then dropped with the step: the answer, the place's name and
the choices are `_` variables too, which are never saved. The only thing kept
is `shelter_ids`, the ids of the services listed, so that she can ask for their
addresses. Log lines carry the outcome and counts, never the place, the
coordinates or the text.

Every word she reads comes from the translatable `shelter_*` messages of
flows/settings.yaml; numbers, language and country names are formatted for her
language with babel. On SMS the list is compact (one line per service, no
website when there is a phone) and names lose their accents when that keeps
the whole message in GSM-7, which halves the number of segments.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.lists import format_list

from bot.channels import CAPABILITIES
from bot.conversation.model import Conversation
from bot.runtime.conversations import Conversations
from bot.runtime.runtime import ActionContext, ActionHandler
from bot.shelters.directory import Shelter
from bot.shelters.gazetteer import Gazetteer, Place, country_name
from bot.shelters.search import Directory
from bot.text.normalise import strip_marks
from bot.text.segments import is_gsm, plainer

log = logging.getLogger("helpline.shelters")

# The flow's `need` -> the kinds of service that answer it.
NEEDS: dict[str, tuple[str, ...]] = {
    "shelter": ("shelter",),
    "legal": ("legal_aid",),
    "health": ("health",),
    "counselling": ("counselling",),
}
ANY_LOCAL = ("shelter", "counselling", "legal_aid", "health")
MAX_LANGUAGES_SHOWN = 4


async def gazetteer() -> Gazetteer:
    """The shared gazetteer; built in a thread the first time, not in the event loop."""
    if Gazetteer.is_loaded():
        return Gazetteer.shared()
    return await asyncio.to_thread(Gazetteer.shared)


class ShelterActions:
    """find_shelters and send_address, on one directory."""

    def __init__(self, conversations: Conversations, directory: Directory):
        self.conversations = conversations
        self.directory = directory

    def actions(self) -> dict[str, ActionHandler]:
        """The flows' actions this provides, for the Runtime."""
        return {"find_shelters": self.find_shelters, "send_address": self.send_address}

    # ------------------------------------------------------------------ actions

    async def find_shelters(self, ctx: ActionContext) -> tuple[str, dict[str, Any]]:
        try:
            outcome, variables = await self._find(ctx)
        except Exception as exc:  # Redis down, gazetteer missing: say so, never fail the message
            log.error(
                "shelter search failed (%s); she was asked to try again later", type(exc).__name__
            )
            text = _Text(self, ctx.conversation, _is_sms(ctx))
            return "nothing_near", {
                "_shelters": text.say("shelter_unavailable") + "\n" + text.say("emergency"),
                "shelter_ids": "",
            }
        listed = len([i for i in variables["shelter_ids"].split(",") if i])
        log.info("shelter search: %s, %d listed", outcome, listed)
        return outcome, variables

    async def send_address(self, ctx: ActionContext) -> tuple[str, dict[str, Any]]:
        conv = ctx.conversation
        ids = [i for i in str(conv.variables.get("shelter_ids") or "").split(",") if i]
        listed = [s for s in await self.directory.get(ids) if s.address]
        if not listed:
            return "none", {}
        text = _Text(self, conv, _is_sms(ctx), listed)

        def build() -> list[str]:
            lines = [
                text.say("shelter_address", name=text.clean(s.name), address=text.clean(s.address))
                for s in listed
            ]
            return lines + ([text.say("shelter_example")] if text.all_examples else [])

        return "sent", {"_address": text.render(build)}

    # ------------------------------------------------------------------ search

    async def _find(self, ctx: ActionContext) -> tuple[str, dict[str, Any]]:
        conv = ctx.conversation
        kinds = NEEDS.get(str(conv.variables.get("need") or ""), ANY_LOCAL)
        sms = _is_sms(ctx)
        location = _point(conv.variables.get("_location"))
        gaz = await gazetteer()
        city_name = ""
        if location is not None:
            latitude, longitude = location
            country = gaz.country_at(latitude, longitude)
        else:
            place = gaz.resolve(str(conv.variables.get("_place") or ""))
            if place.kind == "unknown":
                return "not_found", {"shelter_ids": ""}
            if place.kind == "ambiguous":
                return "ambiguous", self._ambiguous(place, _Text(self, conv, sms))
            country = place.country
            if place.kind == "country":
                assert country is not None  # a "country" Place always names its country
                return await self._country(country, conv, sms)
            assert place.city is not None  # what is left is a "city" Place, which has its city
            latitude, longitude, city_name = (
                place.city.latitude,
                place.city.longitude,
                place.city.name,
            )
        country_label = country_name(country, conv.language) if country else ""

        def pin_note() -> list[str]:
            """Her shared location stays in the chat as a map pin: say so, and how to remove it."""
            if location is None:
                return []
            note = _Text(self, conv, sms)
            return note.gap() + [note.say("shelter_location_kept")]

        common = {
            "_place": f"{city_name}, {country_label}" if city_name else "",
            "_country": country_label,
        }

        nearby = await self.directory.near(latitude, longitude, kinds=kinds)
        if nearby.found:
            listed = [f.shelter for f in nearby.found]
            text = _Text(self, conv, sms, listed)

            def build() -> list[str]:
                if city_name:
                    lines = [
                        text.heading(
                            "shelter_near_place", place=f"{text.clean(city_name)}, {country_label}"
                        )
                    ]
                else:
                    lines = [text.heading("shelter_near_you")]
                for number, found in enumerate(nearby.found, start=1):
                    lines += text.entry(number, found.shelter, found.distance_km)
                return lines + text.example_note() + pin_note()

            return "found", {**common, "_shelters": text.render(build), "shelter_ids": _ids(listed)}

        national = (await self.directory.national(country))[:3] if country else []
        text = _Text(self, conv, sms, national)

        def build_fallback() -> list[str]:
            lines = [text.say("shelter_nothing_near", distance=text.distance(nearby.radius_km))]
            if national:
                lines.append(text.heading("shelter_national", country=country_label))
                for number, shelter in enumerate(national, start=1):
                    lines += text.entry(number, shelter, None)
                lines += text.example_note()
            return lines + text.gap() + [text.say("emergency")] + pin_note()

        return "nothing_near", {
            **common,
            "_shelters": text.render(build_fallback),
            "shelter_ids": _ids(national),
        }

    async def _country(
        self, country: str, conv: Conversation, sms: bool
    ) -> tuple[str, dict[str, Any]]:
        """She named a country, not a town: its helplines, and how to find nearer services."""
        national = (await self.directory.national(country))[:3]
        name = country_name(country, conv.language)
        common = {"_place": name, "_country": name}
        text = _Text(self, conv, sms, national)
        if not national:
            answer = text.render(lambda: [text.say("shelter_no_services"), text.say("emergency")])
            return "nothing_near", {**common, "_shelters": answer, "shelter_ids": ""}

        def build() -> list[str]:
            lines = [text.heading("shelter_national", country=name)]
            for number, shelter in enumerate(national, start=1):
                lines += text.entry(number, shelter, None)
            return lines + text.example_note() + text.gap() + [text.say("shelter_write_town")]

        return "found", {**common, "_shelters": text.render(build), "shelter_ids": _ids(national)}

    def _ambiguous(self, place: Place, text: _Text) -> dict[str, Any]:
        language = text.conv.language
        names = [f"{c.name}, {country_name(c.country, language)}" for c in place.choices]
        return {"_choices": "; ".join(names), "_place": names[0], "_country": "", "shelter_ids": ""}


class _Text:
    """The pieces of one answer, in her language, for her channel."""

    def __init__(
        self,
        actions: ShelterActions,
        conv: Conversation,
        sms: bool,
        listed: Sequence[Shelter] = (),
    ):
        self.conversations = actions.conversations
        self.conv = conv
        self.sms = sms
        # All example data: one note at the end; some: a mark on each example entry.
        self.all_examples = bool(listed) and all(s.example for s in listed)
        self.plain = False  # names without accents (SMS, when that keeps the message GSM-7)

    def say(self, key: str, **values: Any) -> str:
        engine = self.conversations.engine
        return engine.render(engine.settings_message(key), self.conv, values)

    def render(self, build: Callable[[], list[str]]) -> str:
        """The answer's lines; on SMS, built again with plain names if only their
        accents keep it from GSM-7 (70 characters a segment instead of 160)."""
        text = "\n".join(build())
        if not self.sms or is_gsm(plainer(text)):
            return text
        self.plain = True
        plain = "\n".join(build())
        self.plain = False
        return plain if is_gsm(plainer(plain)) else text

    def clean(self, text: str) -> str:
        return strip_marks(text) if self.plain else text

    def distance(self, km: float) -> str:
        digits = 1 if km < 10 else 0
        catalogs = self.conversations.catalogs
        value = round(km, digits)
        formatted = (
            catalogs.format_number(value, self.conv.language, digits)
            if catalogs
            else f"{value:.{digits}f}"
        )
        return self.say("shelter_distance", km=formatted)

    def entry(self, number: int, shelter: Shelter, km: float | None) -> list[str]:
        """One service: its lines on chat channels, one line on SMS."""
        name = self.clean(shelter.name)
        if km is None:
            title = self.say("shelter_result_national", number=number, name=name)
        else:
            title = self.say("shelter_result", number=number, name=name, distance=self.distance(km))
        if shelter.example and not self.all_examples:
            title += " " + self.say("shelter_example_short")
        if self.sms:  # the fewest characters: name, distance, one way to reach it
            contact = shelter.phone or _short_url(shelter.website)
            return [f"{title}: {contact}" if contact else title]
        lines = [*self.gap(), title]
        kind = self.say(f"shelter_kind_{shelter.kind}")
        offers = [self.say(f"shelter_service_{service}") for service in shelter.services]
        lines.append(f"{kind}: {self._list(offers)}" if offers else kind)
        if shelter.languages:
            names = [self._language_name(code) for code in shelter.languages[:MAX_LANGUAGES_SHOWN]]
            lines.append(self.say("shelter_languages", languages=self._list(names)))
        if shelter.opening_hours and "open_24h" not in shelter.services:
            lines.append(shelter.opening_hours)
        contacts = [self.say("shelter_phone", phone=shelter.phone)] if shelter.phone else []
        contacts += [_short_url(shelter.website)] if shelter.website else []
        if contacts:
            lines.append(", ".join(contacts))
        return lines

    def heading(self, key: str, **values: Any) -> str:
        """A list's heading; on SMS it carries the short example-data mark, which
        costs a third of the sentence that ends the list elsewhere."""
        text = self.say(key, **values)
        return (
            f"{text} {self.say('shelter_example_short')}"
            if self.sms and self.all_examples
            else text
        )

    def gap(self) -> list[str]:
        """A blank line between parts, except on SMS (every character counts)."""
        return [] if self.sms else [""]

    def example_note(self) -> list[str]:
        if not self.all_examples or self.sms:  # on SMS: in the heading
            return []
        return [*self.gap(), self.say("shelter_example")]

    def _list(self, items: list[str]) -> str:
        """ "a, b and c" the way her language writes a list (CLDR)."""
        try:
            return format_list(items, locale=self.conv.language)
        except (UnknownLocaleError, ValueError, KeyError):
            return ", ".join(items)

    def _language_name(self, code: str) -> str:
        try:
            return Locale.parse(self.conv.language).languages.get(code) or code
        except (UnknownLocaleError, ValueError):
            return code


def _is_sms(ctx: ActionContext) -> bool:
    caps = CAPABILITIES.get(ctx.inbound.channel)
    return bool(caps and caps.sms_segments)


def _point(value: Any) -> tuple[float, float] | None:
    """A shared location as (latitude, longitude), if it is one."""
    try:
        latitude, longitude = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and abs(latitude) <= 85
        and abs(longitude) <= 180
    ):
        return latitude, longitude
    return None


def _ids(listed: list[Shelter]) -> str:
    return ",".join(s.id for s in listed)


def _short_url(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
