"""What a query's words must match: the FTS5 expressions the engine tries in turn, and full pinyin read back as the
Chinese words of the shop. Pure code over chalicelib.search.text; the engine runs the expressions."""

from __future__ import annotations

import math
from collections.abc import Callable

from chalicelib.search import text

MAX_DROPPED_WORDS = 3  # a relaxed query drops at most this many words from the end
# Which columns a match may come from. A sort other than relevance lists what it matched in order of price, date...,
# so only a product that is what the words name (title, brand, category, or their pinyin) may be listed; relaxed
# matching never leans on descriptions (they mention everything: 手机 in a printer's, 东西 in a sofa's).
ALL_COLUMNS = ""
NAMED_COLUMNS = "{title brand category pinyin}"
RELAXED_COLUMNS = "{title subtitle brand category specs pinyin}"
MIN_PINYIN_CHARS = 4  # `sj`-like initials and two-letter words are never read as pinyin


def quote(token: str) -> str:
    """An FTS5 string: tokens only ever hold [a-z0-9] and CJK, but quoting (and doubling quotes) makes sure."""
    return '"' + token.replace('"', '""') + '"'


def _alternatives(word: str) -> list[str]:
    """FTS5 phrases one query word may match: itself (a mixed Latin word also as its runs) and its synonyms."""
    phrases = []
    for variant in (word, *text.synonyms().get(word, ())):
        phrases.append(quote(variant))
        runs = text.latin_runs(variant)
        if len(runs) > 1:
            phrases.append(quote(" ".join(runs)))
        parts = text.compound_parts(variant) if variant == word else ()
        if parts:
            phrases.append("(" + " AND ".join(map(quote, parts)) + ")")
    return list(dict.fromkeys(phrases))


def term(word: str, with_pinyin: bool = False) -> str:
    """The FTS5 expression one query word must match."""
    phrases = _alternatives(word)
    if with_pinyin and text.has_cjk(word):
        phrases.append("pinyin : " + quote(text.pinyin_of(word)[0]))
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


def within(columns: str, expression: str) -> str:
    return f"{columns} : ({expression})" if columns else expression


def required_words(count: int) -> int:
    """A relaxed result matches at least half of the query's content words (stop words are not among them)."""
    return max(1, math.ceil(count / 2))


def match_expressions(
    words: list[str],
    unknown: frozenset[str] = frozenset(),
    weak: frozenset[str] = frozenset(),
    named_only: bool = False,
) -> list[tuple[str, bool]]:
    """(FTS5 MATCH expression, relaxed) to try in turn until one matches.

    `unknown`: words in no product at all; `weak`: words found only in descriptions. First every word (in any
    column for relevance, in the named columns otherwise), unless a word is unknown; then every word, each also by
    its pinyin, when an unknown word is Chinese (a homophone typo such as 华维 still finds 华为); then the words a
    product names, cut short from the end one word at a time (people type the important word first), never below
    half of the words. Relaxed attempts ignore descriptions. Dropping words rather than OR-ing them keeps a relaxed
    result small and on topic.
    """
    if not words:
        return []
    strict_columns = NAMED_COLUMNS if named_only else ALL_COLUMNS
    relaxed_columns = NAMED_COLUMNS if named_only else RELAXED_COLUMNS
    attempts: list[tuple[str, bool]] = []
    if not unknown:
        attempts.append((within(strict_columns, " AND ".join(term(word) for word in words)), False))
    elif any(text.has_cjk(word) for word in unknown):
        expression = " AND ".join(term(word, word in unknown) for word in words)
        attempts.append((within(relaxed_columns, expression), True))
    named = [word for word in words if word not in unknown and word not in weak]
    need = required_words(len(words))
    for keep in range(len(named), need - 1, -1)[: MAX_DROPPED_WORDS + 1]:
        if keep == len(words):
            continue  # every word, in fewer columns than the strict attempt: it cannot match more
        if not any(map(carries_meaning, named[:keep])):
            continue  # `5` or `x` alone would list anything with a 5 in it
        expression = " AND ".join(term(word) for word in named[:keep])
        attempt = (within(relaxed_columns, expression), True)
        if attempt[0] not in {done for done, _ in attempts}:
            attempts.append(attempt)
    return attempts


def carries_meaning(word: str) -> bool:
    """Whether a word alone says what is wanted: not a bare number or a single Latin letter."""
    return not (word.replace(" ", "").isdigit() or (word.isascii() and len(word) <= 1))


def could_be_pinyin(word: str) -> bool:
    return word.isascii() and word.isalpha() and len(word) >= MIN_PINYIN_CHARS


def words_of_pinyin(joined: str, lookup: Callable[[str], tuple[str, int] | None]) -> list[str] | None:
    """Full pinyin typed without spaces read back as the shop's Chinese words: `saodijiqiren` -> [扫地机器人],
    `xiaomishouji` -> [小米, 手机]. `lookup(pinyin)` gives the word the index holds under that pinyin and how many
    products hold it. The fewest words win, then the most common ones; None when the text is not all pinyin."""
    size = len(joined)
    # best[i]: (pieces, -products, words) of the best reading of joined[:i]
    best: list[tuple[int, int, list[str]] | None] = [None] * (size + 1)
    best[0] = (0, 0, [])
    for end in range(1, size + 1):
        for start in range(end):
            before = best[start]
            if before is None:
                continue
            found = lookup(joined[start:end])
            if found is None:
                continue
            candidate = (before[0] + 1, before[1] - found[1], [*before[2], found[0]])
            current = best[end]
            if current is None or candidate[:2] < current[:2]:
                best[end] = candidate
    final = best[size]
    return final[2] if final else None
