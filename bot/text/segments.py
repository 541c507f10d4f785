"""Planning SMS texts into as few segments as possible.

An SMS is GSM-7 when every character is in the GSM 03.38 alphabet (160
characters alone, 153 per part of a longer message; characters of the extension
table such as € [ ] { } count twice), else UCS-2 (70 alone, 67 per part,
counted in UTF-16 code units). One typographic character (’ “ ” – …) is enough to
turn a whole message into UCS-2 and double its cost, so those are replaced by
their plain equivalents first when that makes the text GSM-7.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"
_GSM = set(GSM_BASIC) | set(GSM_EXTENDED)
_PLAIN = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
        "…": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "•": "-",
        "·": "-",
        "\t": " ",
        "`": "'",
    }
)
MAX_SEGMENTS_PER_MESSAGE = 10  # Twilio's advice: longer messages are less reliable


@dataclass(frozen=True)
class SmsPlan:
    encoding: str  # "GSM-7" or "UCS-2"
    parts: tuple[str, ...]  # separate SMS messages to send (each one or more segments)
    segments: int  # segments in all


def is_gsm(text: str) -> bool:
    return all(c in _GSM for c in text)


def gsm_length(text: str) -> int:
    return sum(2 if c in GSM_EXTENDED else 1 for c in text)


def ucs2_length(text: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def segments(text: str) -> tuple[str, int]:
    """(encoding, number of segments) of one message as it would be sent."""
    if is_gsm(text):
        n = gsm_length(text)
        return "GSM-7", 1 if n <= 160 else -(-n // 153)
    n = ucs2_length(text)
    return "UCS-2", 1 if n <= 70 else -(-n // 67)


def plainer(text: str) -> str:
    """Typographic characters replaced, if that makes the whole text GSM-7."""
    plain = text.translate(_PLAIN)
    return plain if is_gsm(plain) else text


def plan(text: str, max_segments: int = MAX_SEGMENTS_PER_MESSAGE) -> SmsPlan:
    """The text as SMS messages of at most `max_segments` segments each, split on
    word (then line) boundaries, in the cheapest encoding the characters allow."""
    text = plainer(text.strip())
    encoding, count = segments(text)
    if count <= max_segments:
        return SmsPlan(encoding, (text,), count)
    limit = (153 if encoding == "GSM-7" else 67) * max_segments
    measure = gsm_length if encoding == "GSM-7" else ucs2_length
    parts: list[str] = []
    current = ""
    for word in re.split(r"(?<=\s)", text):
        if current and measure(current + word) > limit:
            parts.append(current.rstrip())
            current = ""
        while measure(word) > limit:  # a single "word" longer than a message
            cut = limit
            while measure(word[:cut]) > limit:
                cut -= 1
            parts.append(word[:cut])
            word = word[cut:]
        current += word
    if current.strip():
        parts.append(current.rstrip())
    return SmsPlan(encoding, tuple(parts), sum(segments(p)[1] for p in parts))
