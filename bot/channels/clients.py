"""Who is calling: the client address a rate limit counts against.

Behind a reverse proxy every request comes from the proxy's address; the real
client is in X-Forwarded-For, which anyone can also forge. The header is
believed only from HELPLINE_TRUSTED_PROXIES: read from the right (the entry the
nearest proxy wrote), skipping our own proxies, the first other address is the
client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

from bot.config import Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(request: web.Request, trusted: Sequence[Network] = ()) -> str:
    """The calling client's address, as a string ("unknown" if there is none)."""
    peer = _address(request.remote or "")
    if peer is None:
        return request.remote or "unknown"

    def ours(address) -> bool:
        return any(address in network for network in trusted)

    if not trusted or not ours(peer):
        return str(peer)
    client = peer
    for header in reversed(request.headers.getall("X-Forwarded-For", [])):
        for entry in reversed(header.split(",")):
            address = _address(entry)
            if address is None:  # garbage: believe no further
                return str(client)
            client = address
            if not ours(address):
                return str(address)
    return str(client)
