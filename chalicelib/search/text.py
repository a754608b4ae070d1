"""Text analysis of search: normalisation, segmentation with the shop dictionary, pinyin, query terms.

The segmenter (rjieba) and pypinyin are imported on first use, never at import time, so that importing the
search engine costs a Lambda cold start nothing until a search actually runs.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
SHOP_DICTIONARY = DATA_DIR / "shop_dict.txt"
EXTRA_WORDS = DATA_DIR / "extra_words.txt"
STOP_WORDS = DATA_DIR / "stopwords.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"
# A shop word outweighs jieba's own frequencies (its largest are in the hundreds of thousands) so it stays whole.
SHOP_WORD_FREQ = 2_000_000
MAX_QUERY_CHARS = 100  # a query longer than this is cut: nobody types more, and it bounds the work

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ALNUM_RUN = re.compile(r"[a-z]+|[0-9]+")
_LATIN_PIECE = re.compile(r"[a-z0-9]+")
_SEARCHABLE = re.compile(r"[a-z0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PIECE = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_NOT_LATIN = re.compile(r"[^a-z0-9]")

_lock = threading.Lock()
_segmenter: Any = None


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC) and lower case: `ｉＰｈｏｎｅ１５` and `IPHONE15` both become `iphone15`."""
    return unicodedata.normalize("NFKC", text).lower()


def segmenter() -> Any:
    """The rjieba segmenter with the shop dictionary loaded; imported and built on the first call only."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import rjieba  # lazy on purpose: keeps it off the cold start

                seg = rjieba.Jieba()
                for word in shop_words():
                    seg.add_word(word, SHOP_WORD_FREQ, None)
                _segmenter = seg
    return _segmenter


def is_loaded() -> bool:
    """Whether the segmenter has been built in this process (tests check that import alone does not)."""
    return _segmenter is not None


def _word_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def shop_words() -> tuple[str, ...]:
    """The generated shop dictionary (brands, categories, spec values) plus the hand-added words."""
    words = [line.split()[0] for line in _word_lines(SHOP_DICTIONARY)] + _word_lines(EXTRA_WORDS)
    return tuple(dict.fromkeys(normalize(word) for word in words))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    return frozenset(normalize(word) for word in _word_lines(STOP_WORDS))


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    """Each word of a synonym line -> the other words of that line."""
    table: dict[str, list[str]] = {}
    for line in _word_lines(SYNONYMS):
        group = [normalize(word) for word in line.split()]
        for word in group:
            table.setdefault(word, []).extend(other for other in group if other != word)
    return {word: tuple(dict.fromkeys(others)) for word, others in table.items()}


def has_cjk(word: str) -> bool:
    return _CJK.search(word) is not None


def is_cjk_word(word: str) -> bool:
    """A word of Chinese characters only (no Latin, digits or punctuation)."""
    return _CJK_WORD.fullmatch(word) is not None


def _latin_tokens(piece: str, expand: bool) -> list[str]:
    """A Latin/digit word kept whole (`iphone15`, `5g`); when expanding, followed by its letter and digit runs."""
    tokens: list[str] = []
    for part in _LATIN_PIECE.findall(piece):
        tokens.append(part)
        runs = _ALNUM_RUN.findall(part)
        if expand and len(runs) > 1:
            tokens.extend(runs)
    return tokens


def index_tokens(text: str) -> list[str]:
    """The tokens a document field is indexed under: jieba search mode (long words and their shorter words),
    Latin and digits lower-cased and kept whole plus their letter/digit runs (`iphone15` -> iphone15 iphone 15),
    stop words and punctuation dropped."""
    if not text:
        return []
    stops = stop_words()
    tokens: list[str] = []
    for word in segmenter().cut_for_search(normalize(text)):
        if not _SEARCHABLE.search(word):
            continue
        if has_cjk(word):
            if word not in stops:
                tokens.extend(_cjk_pieces(word))
        else:
            tokens.extend(_latin_tokens(word, expand=True))
    return tokens


def _cjk_pieces(word: str) -> list[str]:
    """A CJK segment as FTS-safe pieces (a segment mixing in Latin, like `a17芯片`, is rare but possible)."""
    return _PIECE.findall(word)


def index_text(text: str) -> str:
    """index_tokens joined by spaces: the form stored in the FTS5 columns (whose tokenizer splits on spaces)."""
    return " ".join(index_tokens(text))


@lru_cache(maxsize=65536)
def pinyin_of(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of a word: 手机 -> (shouji, sj); Latin and digits are kept as they are."""
    from pypinyin import Style, lazy_pinyin  # lazy on purpose: keeps it off the cold start

    full = "".join(lazy_pinyin(word))
    initials = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))
    return _NOT_LATIN.sub("", full.lower()), _NOT_LATIN.sub("", initials.lower())


def pinyin_tokens(text: str) -> list[str]:
    """Full pinyin of each Chinese word of a text (the index's pinyin column lets `shouji` find 手机)."""
    return [pinyin_of(word)[0] for word in segmenter().cut(normalize(text)) if has_cjk(word)]


def query_words(text: str) -> list[str]:
    """The words of a user's query, precise mode: what each must match. Never empty, never FTS syntax.

    A Latin word with inner punctuation (`2.2k`, `sk-ii`) stays one word whose pieces are space-joined: the
    engine searches it as a phrase, as the index holds its pieces side by side.
    """
    stops = stop_words()
    words: list[str] = []
    for word in segmenter().cut(normalize(text[:MAX_QUERY_CHARS])):
        if not _SEARCHABLE.search(word):
            continue
        if has_cjk(word):
            words.extend(piece for piece in _cjk_pieces(word) if piece not in stops)
        else:
            words.append(" ".join(_LATIN_PIECE.findall(word)))
    return list(dict.fromkeys(words))


@lru_cache(maxsize=4096)
def compound_parts(word: str) -> tuple[str, ...]:
    """The shorter dictionary words that exactly cover a Chinese compound (无线鼠标 -> 无线 鼠标), or ().

    A shop word such as 无线鼠标 stays whole in a query, but a title may say 无线蓝牙鼠标: the engine also
    accepts all the parts. Only a full cover counts: 跑步鞋 has no part for 鞋, so it has none.
    """
    if not has_cjk(word) or len(word) < 3:
        return ()
    candidates = sorted(
        {part for part in segmenter().cut_for_search(word) if part != word and len(part) >= 2},
        key=len,
        reverse=True,
    )
    parts: list[str] = []
    position = 0
    while position < len(word):
        part = next((c for c in candidates if word.startswith(c, position)), None)
        if part is None:
            return ()
        parts.append(part)
        position += len(part)
    return tuple(parts) if len(parts) > 1 else ()


def latin_runs(word: str) -> list[str]:
    """`iphone15` -> [iphone, 15]; a word of one kind, or a phrase of several pieces -> [word]."""
    if " " in word:
        return [word]
    return _ALNUM_RUN.findall(word) or [word]
