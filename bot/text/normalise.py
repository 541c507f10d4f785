"""Text normalisation shared by menu matching, keywords and place names."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")
# Arabic tashkeel and tatweel carry no meaning for matching.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"}
)


def strip_marks(text: str) -> str:
    """Remove accents and other combining marks: "Iaşi" -> "Iasi", "Łódź" -> "Lodz"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_EXTRA_LATIN)


_EXTRA_LATIN = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
    }
)


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Case-, accent-, punctuation- and space-insensitive form for comparing short
    answers: "  Oui, d'accord! " -> "oui d accord"."""
    text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_FOLD)
    text = strip_marks(text.casefold())
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def as_number(text: str) -> int | None:
    """A menu number typed in any script: "2", "2.", " ٢ ", "２)" -> 2."""
    if text.isascii():
        stripped = text.strip().rstrip(".)").strip()
        return int(stripped) if stripped.isdigit() and len(stripped) <= 3 else None
    stripped = text.strip().rstrip(".)").strip()
    if not stripped or len(stripped) > 3:
        return None
    digits = []
    for ch in stripped:
        value = unicodedata.digit(ch, None)
        if value is None:
            return None
        digits.append(str(value))
    return int("".join(digits))
