"""Planning SMS texts into as few segments as possible, counted as Twilio counts.

An SMS is GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2.
A message of one segment holds 140 octets (1,120 bits): 160 GSM-7 septets or
70 UCS-2 code units. A longer message is cut into segments that each lose 6
octets to the concatenation header (1,072 bits: 153 septets, 67 units), and a
character is never split across two: a GSM-7 escape pair (€ [ ] { } ^ ~ \\ |,
14 bits) or a UTF-16 surrogate pair (an emoji), and neither is any grapheme
(a flag, é with a combining accent), which moves whole to the next segment.
This is the algorithm of Twilio's message-segment-calculator, whose published
test vectors the tests run (tests/data/twilio_segments/).

One typographic character (’ “ ” – …) is enough to turn a whole message into
UCS-2 and double its cost, so those are replaced by their plain equivalents
first when that makes the text GSM-7: our own list, then Twilio's Smart
Encoding map (bot/text/data/), without what would change a word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import regex

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"
_GSM = set(GSM_BASIC) | set(GSM_EXTENDED)
_OURS = {
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
_SMART = json.loads((Path(__file__).parent / "data" / "smart_encoding.json").read_text("utf-8"))
_PLAIN = str.maketrans({**_SMART, **_OURS})
SEGMENT_BITS = 1120  # 140 octets
PART_BITS = 1120 - 48  # less the 6-octet header of a concatenated message
MAX_SEGMENTS_PER_MESSAGE = 10  # Twilio's advice: longer messages are less reliable


@dataclass(frozen=True)
class SmsPlan:
    encoding: str  # "GSM-7" or "UCS-2"
    parts: tuple[str, ...]  # separate SMS messages to send (each one or more segments)
    segments: int  # segments in all


def is_gsm(text: str) -> bool:
    return all(c in _GSM for c in text)


def _graphemes(text: str) -> list[str]:
    """User-perceived characters; CR LF counts as two, as Twilio counts it."""
    return [part for g in regex.findall(r"\X", text) for part in (g if g == "\r\n" else (g,))]


def _bits(grapheme: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 14 if grapheme in GSM_EXTENDED else 7
    return 8 * len(grapheme.encode("utf-16-le"))  # 16 bits a UTF-16 code unit


def count_segments(text: str, encoding: str) -> int:
    """Segments of `text` sent in `encoding`: a grapheme never straddles two."""
    sizes = [_bits(g, encoding) for g in _graphemes(text)]
    if sum(sizes) <= SEGMENT_BITS:
        return 1
    count, free = 1, PART_BITS
    for size in sizes:
        if size > free:
            count, free = count + 1, PART_BITS
        free -= size
    return count


def segments(text: str) -> tuple[str, int]:
    """(encoding, number of segments) of one message as it would be sent."""
    encoding = "GSM-7" if is_gsm(text) else "UCS-2"
    return encoding, count_segments(text, encoding)


def plainer(text: str) -> str:
    """Typographic characters replaced, if that makes the whole text GSM-7."""
    plain = text.translate(_PLAIN)
    return plain if is_gsm(plain) else text


def split(text: str, fits: Callable[[str], bool]) -> list[str]:
    """`text` in parts that each `fits`, split on word (then line) boundaries; a
    single word longer than a part is cut between graphemes. Nothing is lost:
    the parts joined by their whitespace are the text."""
    parts: list[str] = []
    current = ""
    for word in re.split(r"(?<=\s)", text):
        if current and not fits(current + word):
            parts.append(current.rstrip())
            current = ""
        while not fits(word):  # a single "word" longer than a message: cut between graphemes
            graphemes = _graphemes(word)
            low, high = 1, len(graphemes)  # the most graphemes that fit
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (
                    (middle, high) if fits("".join(graphemes[:middle])) else (low, middle - 1)
                )
            parts.append("".join(graphemes[:low]))
            word = "".join(graphemes[low:])
        current += word
    if current.strip():
        parts.append(current.rstrip())
    return parts


def plan(text: str, max_segments: int = MAX_SEGMENTS_PER_MESSAGE) -> SmsPlan:
    """The text as SMS messages of at most `max_segments` segments each, split on
    word (then line) boundaries, in the cheapest encoding the characters allow."""
    text = plainer(text.strip())
    encoding, count = segments(text)
    if count <= max_segments:
        return SmsPlan(encoding, (text,), count)

    def fits(part: str) -> bool:
        return count_segments(part, encoding) <= max_segments

    parts = split(text, fits)
    return SmsPlan(encoding, tuple(parts), sum(segments(p)[1] for p in parts))
