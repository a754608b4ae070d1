"""Text analysis of search: segmentation with the shop dictionary, Latin and digits, pinyin, laziness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.search import text
from local.demo import make_dictionary

ROOT = Path(__file__).resolve().parents[2]


def test_latin_and_digits_are_lower_cased_and_kept_whole_with_their_runs() -> None:
    tokens = text.index_tokens("Apple iPhone15 5G手机")
    assert tokens[:5] == ["apple", "iphone15", "iphone", "15", "5g"]
    assert "手机" in tokens


def test_full_width_text_is_normalised_like_half_width() -> None:
    assert text.index_tokens("ｉＰｈｏｎｅ１５") == text.index_tokens("IPHONE15")


def test_shop_dictionary_words_stay_whole_and_search_mode_adds_their_parts() -> None:
    tokens = text.index_tokens("华为 Mate 60 Pro 雅川青 智能手机")
    assert "雅川青" in tokens  # a spec value from the generated dictionary
    assert {"智能手机", "手机"} <= set(tokens)


def test_stop_words_and_punctuation_are_dropped() -> None:
    tokens = text.index_tokens("轻盈的，坚固！")
    assert "的" not in tokens and "，" not in tokens and "！" not in tokens


def test_query_words_never_hold_fts_syntax() -> None:
    words = text.query_words('"NEAR(手机* AND -耳机^ :) 🎧')
    assert words and all(
        set(word) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ") or text.has_cjk(word) for word in words
    )
    assert not any(char in "".join(words) for char in '"*()^:-')


def test_a_latin_word_with_inner_punctuation_is_one_phrase() -> None:
    assert text.query_words("SK-II 2.2K") == ["sk ii", "2 2k"]


def test_pinyin_gives_full_spelling_and_initials() -> None:
    assert text.pinyin_of("手机") == ("shouji", "sj")
    assert text.pinyin_of("华为") == ("huawei", "hw")


@pytest.mark.parametrize(("compound", "parts"), [("无线鼠标", ("无线", "鼠标")), ("跑步鞋", ()), ("手机", ())])
def test_a_compound_is_covered_by_its_parts_only_when_they_cover_it_fully(compound: str, parts: tuple) -> None:
    assert text.compound_parts(compound) == parts


def test_the_committed_shop_dictionary_is_what_the_generator_makes_from_the_demo_catalog() -> None:
    assert make_dictionary.OUTPUT.read_text(encoding="utf-8") == make_dictionary.render()


def test_importing_the_engine_and_app_loads_no_segmenter_until_the_first_search() -> None:
    probe = (
        "import sys, json\n"
        "import app\n"
        "import chalicelib.search.engine as engine\n"
        "before = sorted(m for m in ('rjieba', 'jieba', 'pypinyin') if m in sys.modules)\n"
        "engine.match_expressions(engine.text.query_words('手机'))\n"
        "after = sorted(m for m in ('rjieba', 'jieba', 'pypinyin') if m in sys.modules)\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == []
    assert "rjieba" in after
