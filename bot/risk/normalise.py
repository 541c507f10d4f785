"""How a message and a lexicon phrase are folded to the same skeleton: case, accents, scripts (Cyrillic and Latin, Arabic and Arabizi), leetspeak, repeated letters; Chinese on its characters."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "є": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "і": "i",
    "ї": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "c",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "u",
    "я": "a",
    "ў": "u",
    "ђ": "d",
    "ј": "j",
    "љ": "l",
    "њ": "n",
    "ћ": "c",
    "џ": "dj",
}
_GREEK = {"α": "a", "β": "v", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "τ": "t", "υ": "u"}
_CYRILLIC_TABLE = str.maketrans({**_CYRILLIC, **_GREEK})
# Arabic letters to Latin consonants (long vowels and hamza drop out: Arabizi
# writers choose vowels freely, so skeletons compare consonants only).
_ARABIC = {
    "ب": "b",
    "ت": "t",
    "ث": "t",
    "ج": "j",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "d",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "ة": "h",
    "و": "",
    "ي": "",
    "ى": "",
    "ا": "",
    "أ": "",
    "إ": "",
    "آ": "",
    "ء": "",
    "ؤ": "",
    "ئ": "",
    "پ": "p",
    "چ": "ch",
    "ڤ": "v",
    "گ": "g",
    "ک": "k",
    "ی": "",
}
_ARABIC_TABLE = str.maketrans(_ARABIC)
# Arabizi digits (as written in chats) for consonant skeletons.
_ARABIZI_TABLE = str.maketrans(
    {"2": "", "3": "", "5": "kh", "6": "t", "7": "h", "8": "gh", "9": "q"}
)
_LEET_TABLE = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_EXTRA = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ə": "e"}
)
# Words: letters and digits (Chinese characters excluded: they are matched as a
# run of characters, without word boundaries), with leetspeak signs and apostrophes.
_TOKEN = re.compile(r"[\w@$!|]+", re.UNICODE)
_SLOW_PATH = re.compile(r"[\d!|]")
_APOSTROPHES = str.maketrans({c: " " for c in "'’ʼ`´"})  # elision: "m'ont" is two words
_NO_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")  # or one word: "ub'et" (Russian in Latin letters)
_HAS_APOSTROPHE = re.compile("['’ʼ`´]")
_CYRILLIC_APOSTROPHE = re.compile(
    r"(?<=[\u0400-\u04ff])['’ʼ`´](?=[\u0400-\u04ff])"
)  # inside one word: "вб'є"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_OR_LATIN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffa-z0-9]")
_ARABIC_CHAR = re.compile(r"[\u0600-\u06ff]")
_REPEATS = re.compile(r"([^\W\d_])\1+")  # letters only: "100" stays 100
_LONG_REPEATS = re.compile(r"(.)\1{2,}")  # any character three times or more
# "30pills", "pills30": a count glued to a word (one digit is Arabizi or leetspeak: 7absni, k1ll)
_GLUED_NUMBER = re.compile(r"^(\d{2,})([^\W\d_]{2,})$|^([^\W\d_]{2,})(\d{2,})$")
# Spelling variants of transliteration, folded to one form on both sides.
_VARIANTS = [
    ("shch", "sh"),
    ("sch", "sh"),
    ("tch", "ch"),
    ("kh", "h"),
    ("zh", "j"),
    ("dj", "j"),
    ("ts", "c"),
    ("tz", "c"),
    ("cz", "ch"),
    ("sz", "sh"),
    ("ck", "k"),
    ("ph", "f"),
    ("yu", "u"),
    ("iu", "u"),
    ("ju", "u"),
    ("ya", "a"),
    ("ia", "a"),
    ("ja", "a"),
    ("ye", "e"),
    ("je", "e"),
    ("yo", "e"),
    ("jo", "e"),
    ("w", "v"),
    ("y", "i"),
    ("x", "ks"),
    ("q", "k"),
]
_VARIANT_RE = re.compile("|".join(re.escape(a) for a, _ in _VARIANTS))
_VARIANT_MAP = dict(_VARIANTS)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# The one-letter word "я" (Russian, Ukrainian "I", Bulgarian "her"), and "ya", "ja",
# "ia" as whole words: one skeleton of their own. Folded like any word it would be
# "a", the Latin word of Albanian, Hungarian, Italian, Romanian and Spanish
# ("a mund t'i bie ziles" read as Bulgarian "бие я", "hits her").
_I_PRONOUN = frozenset({"я", "ya", "ja", "ia"})


@lru_cache(maxsize=200_000)
def fold_token(raw: str) -> str:
    """One word to its matching skeleton: "Паспорт" and "pasport" -> "pasport";
    "k1lll" -> "kil"; "zabrali" and "забрали" -> "zabrali"."""
    if raw in _I_PRONOUN:
        return "ia"
    if _ARABIC_CHAR.search(raw):
        # A letter stretched three times or more ("الحقوووني"): once. Twice can be
        # the word's own ("ممنوع").
        return _LONG_REPEATS.sub(r"\1", _ARABIC_MARKS.sub("", raw).translate(_ARABIC_FOLD))
    token = _strip_marks(raw).translate(_EXTRA).translate(_CYRILLIC_TABLE)
    if any(c.isdigit() or c in "@$!|" for c in token) and any(c.isalpha() for c in token):
        token = token.translate(_LEET_TABLE)
    plain = token
    token = _REPEATS.sub(r"\1", _VARIANT_RE.sub(lambda m: _VARIANT_MAP[m.group(0)], token))
    if len(token) < 3 and len(plain) >= 4:
        # "juju" would fold to "u", the Russian preposition у: a word of four
        # letters or more keeps its own letters rather than shrink to one or two.
        return _REPEATS.sub(r"\1", plain)
    return token


@lru_cache(maxsize=200_000)
def arabizi_skeleton(raw: str) -> str:
    """Consonants of a Latin-written Arabic word: "7abasni" -> "hbsn"."""
    token = raw.translate(_ARABIZI_TABLE)
    token = re.sub(r"[aeiouy0-9]", "", token)
    # as arabic_skeleton reads ق: "9tlni", "qtelni" and "ktelni" are all يقتلني
    token = token.replace("kh", "h").replace("gh", "g").replace("sh", "s").replace("q", "k")
    return _REPEATS.sub(r"\1", token)


def arabic_skeleton(word: str) -> str:
    """Consonants of an Arabic-script word, comparable with arabizi_skeleton."""
    token = _ARABIC_MARKS.sub("", word).translate(_ARABIC_TABLE)
    token = token.replace("kh", "h").replace("gh", "g").replace("sh", "s").replace("q", "k")
    return _REPEATS.sub(r"\1", token)


# Arabic-Indic and Persian digits read as ASCII: "عمري ١٦ سنة" is "I am 16".
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def eastern_digits(text: str) -> str:
    return text.translate(_DIGITS)


def tokens(text: str, join_apostrophes: bool = False) -> list[str]:
    """The message's words, casefolded (NFKC) but not yet folded: an apostrophe
    separates words (m'ont, l'a) except inside a Cyrillic word (вбʼє), or joins
    them with `join_apostrophes` (ub'et: Russian in Latin letters); leetspeak signs count inside a word
    (k!ll), not around it (help!!); a number glued to a word is its own word (30pills)."""
    if text.isascii():
        text = text.lower()  # NFKC and casefold change nothing else in ASCII
    else:
        text = unicodedata.normalize("NFKC", text).casefold().translate(_DIGITS)
        text = _CYRILLIC_APOSTROPHE.sub("", _ARABIC_MARKS.sub("", text))
        text = _CJK.sub(" ", text)  # Chinese is matched as characters, not as words
    if _HAS_APOSTROPHE.search(text):
        text = text.translate(_NO_APOSTROPHES if join_apostrophes else _APOSTROPHES)
    words = _TOKEN.findall(text)
    if not _SLOW_PATH.search(text):
        return words  # the common case: no digit, "!" or "|": nothing more to do per word
    found: list[str] = []
    for raw in words:
        token = raw.strip("!|")
        if not token:
            continue
        glued = _GLUED_NUMBER.match(token)
        if glued:
            found.extend(part for part in glued.groups() if part)
        else:
            found.append(token)
    return found


@lru_cache(maxsize=65536)
def script(word: str) -> str:
    """The script of a word's first letter: "LATIN", "CYRILLIC", "ARABIC"..."""
    for char in word:
        if char.isalpha():
            return unicodedata.name(char, "?").split(" ", 1)[0]
    return "LATIN"  # digits and leetspeak: typed on a Latin keyboard


def cjk_text(text: str) -> str:
    """Chinese characters, and the Latin letters and digits among them ("强jian",
    pinyin typed for a character), without spaces or punctuation."""
    return "".join(_CJK_OR_LATIN.findall(unicodedata.normalize("NFKC", text).casefold()))


# ---------------------------------------------------------------------------- lexicons
