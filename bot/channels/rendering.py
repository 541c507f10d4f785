"""What a step's replies become on a channel: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Callable

from bot.channels.base import Capabilities, Outbound, render_text
from bot.conversation.model import Reply
from bot.store.commit import new_id


def render_replies(
    replies: list[Reply],
    caps: Capabilities,
    direction: Callable[[str], str] = lambda text: text,
    location_label: Callable[[], str] = lambda: "",
) -> list[tuple[Outbound, str]]:
    """The messages to send for `replies` on a channel that can do `caps`, each
    with the text the transcript shows of it: buttons where the channel has them,
    numbered lines elsewhere; on SMS and WhatsApp one message for the whole step. `direction` marks a text's direction for her language;
    `location_label()` labels the button that shares a location."""
    replies = [r for r in replies if r.text or r.options]
    if caps.one_message_per_step and replies:
        replies = [Reply("\n".join(render_text(r.text, r.options) for r in replies))]
    rendered = []
    for reply in replies:
        wants_location = reply.request_location and caps.location
        text = reply.text if caps.buttons else render_text(reply.text, reply.options)
        outbound = Outbound(
            text=direction(text),
            options=tuple((direction(label), payload) for label, payload in reply.options)
            if caps.buttons
            else (),
            request_location=wants_location,
            location_label=location_label() if wants_location else "",
            id=new_id(),
        )
        rendered.append((outbound, render_text(reply.text, reply.options)))
    return rendered
