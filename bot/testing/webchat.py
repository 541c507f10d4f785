"""Test helpers shipped with the package (after errbot's test backend): tests
read as conversations.

    chat = WebChat(client)                 # an aiohttp test client of the app
    await chat.send("hi")
    assert "confidential" in await chat.replies()
"""

from __future__ import annotations

import asyncio
import secrets
import time


class WebChat:
    """A person on the web chat at `/`, through the real HTTP API and pipeline."""

    def __init__(self, client, session: str | None = None):
        self.client = client
        self.session = session or secrets.token_hex(12)
        self.next = 0
        self.last_options: list[dict] = []
        self.history: list[dict] = []

    async def start(self) -> list[str]:
        await self._post({"start": True})
        return await self.replies()

    async def send(self, text: str) -> None:
        await self._post({"text": text})

    async def tap(self, number: int) -> None:
        """Tap button `number` (1-based) of the last menu shown."""
        await self._post({"payload": self.last_options[number - 1]["payload"]})

    async def say(self, text: str, **kwargs) -> str:
        """Send `text` and return the replies joined by newlines."""
        await self.send(text)
        return "\n".join(await self.replies(**kwargs))

    async def _post(self, body: dict) -> None:
        response = await self.client.post(
            "/chat/api/messages", json={"session": self.session, **body}
        )
        assert response.status == 200, await response.text()

    async def replies(
        self, timeout: float = 5.0, settle: float = 0.25, expect_none: bool = False
    ) -> list[str]:
        """Messages delivered since the last call: waits for the first (unless
        `expect_none`), then until no more arrive for `settle` seconds."""
        found: list[dict] = []
        deadline = time.monotonic() + (settle if expect_none else timeout)
        quiet_since = None
        while time.monotonic() < deadline:
            response = await self.client.get(
                "/chat/api/messages",
                params={"session": self.session, "after": self.next, "wait": "0"},
            )
            data = await response.json()
            if data["messages"]:
                found.extend(data["messages"])
                self.next = data["next"]
                quiet_since = time.monotonic()
                deadline = max(deadline, quiet_since + settle)
            elif found and quiet_since and time.monotonic() - quiet_since >= settle:
                break
            await asyncio.sleep(0.02)
        for message in found:
            if message.get("options"):
                self.last_options = message["options"]
        self.history.extend(found)
        return [m["text"] for m in found]
