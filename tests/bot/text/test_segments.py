"""SMS segments counted as Twilio counts them (bot/text/segments.py): its
calculator's published test vectors, our own boundary cases, and plans that
never exceed their budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.segments import plainer, plan, segments

VECTORS = Path(__file__).parents[2] / "data" / "twilio_segments" / "vectors.json"
CASES = json.loads(VECTORS.read_text("utf-8"))["cases"]


def test_the_vectors_are_the_calculators_48():
    assert len(CASES) == 48


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_twilios_published_vectors(case):
    assert segments(case["body"]) == (case["encoding"], case["segments"])


# Worked by hand: a single segment holds 160 septets or 70 units; a part of a
# longer message 153 septets or 67 units, and a pair is never split.
BOUNDARIES = [
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),  # € would straddle: 152 | 2+151 | 1
    ("a" * 153 + "€" + "a" * 151, "GSM-7", 2),  # 153 | 2+151
    ("a" * 151 + "€" + "a" * 153, "GSM-7", 2),  # 151+2 | 153
    ("a" * 158 + "€", "GSM-7", 1),  # 160 septets: one segment
    ("a" * 159 + "€", "GSM-7", 2),  # 161
    ("€" * 76 + "a" * 153, "GSM-7", 2),  # 152+1 | 152
    ("ж" * 66 + "😀" + "ж" * 66, "UCS-2", 3),  # the emoji would straddle: 66 | 2+65 | 1
    ("ж" * 65 + "😀" + "ж" * 67, "UCS-2", 2),  # 65+2 | 67
    ("ж" * 68 + "😀", "UCS-2", 1),  # 70 units
    ("ж" * 69 + "😀", "UCS-2", 2),  # 71
    ("ж" * 64 + "🇮🇹" + "ж" * 67, "UCS-2", 3),  # a flag (4 units) would straddle: 64 | 4+63 | 4
    ("ж" * 63 + "🇮🇹" + "ж" * 67, "UCS-2", 2),  # 63+4 | 67
    ("e\u0301" * 35, "UCS-2", 1),  # é as e + combining accent: 2 units each, 70
]


@pytest.mark.parametrize(("body", "encoding", "count"), BOUNDARIES)
def test_boundaries_worked_by_hand(body, encoding, count):
    assert segments(body) == (encoding, count)


def test_a_grapheme_of_several_code_points_moves_whole():
    # 34 accented e (2 units each): 68 units, one segment; 36 of them: 72
    # units, in parts of 67 units: 33 graphemes (66) | 3 (6)
    assert segments("e\u0301" * 34) == ("UCS-2", 1)
    assert segments("e\u0301" * 36) == ("UCS-2", 2)
    assert segments("e\u0301" * 67) == ("UCS-2", 3)  # 134 units: 33 | 33 | 1 graphemes


def test_smart_encoding_keeps_words_and_makes_punctuation_plain():
    # Fullwidth punctuation of Chinese templates around Latin names: GSM-7 again
    assert (
        plainer("Casa Rifugio，Bologna：+39 051 000 0001")
        == "Casa Rifugio,Bologna:+39 051 000 0001"
    )
    assert segments(plainer("It’s “safe” – really…"))[0] == "GSM-7"
    # a combining tilde makes ñ from n: never replaced by "~"
    assert plainer("Espan\u0303a") == "Espan\u0303a"
    assert plainer("Привет – да") == "Привет – да"  # not GSM-7 either way: left as it is


ALPHABET = st.sampled_from(list("abc xyz€[]{}|^~\\\n") + ["😀", "🇮🇹", "ж", "e\u0301", " "])


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, min_size=1, max_size=900).map("".join), st.integers(1, 4))
def test_a_plan_never_exceeds_its_budget_and_loses_nothing(text, budget):
    planned = plan(text, max_segments=budget)
    assert all(segments(part)[1] <= budget for part in planned.parts)
    assert "".join(planned.parts).replace(" ", "").replace("\n", "") == plainer(
        text.strip()
    ).replace(" ", "").replace("\n", "")
