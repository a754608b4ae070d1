"""The sensitive-word filter: text and words compared after NFKC, case folding and without white space, matched by an
Aho-Corasick automaton (pyahocorasick: one pass over the text, whatever the number of words).

pyahocorasick is imported when the first matcher is built, so routes that never moderate do not load it."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources
from typing import Any

MAX_WORD_CHARS = 20


def normalized(text: str) -> str:
    """What the filter compares: NFKC (full-width ＡＢＣ and ｶﾀｶﾅ to their usual forms), case-folded, no white space."""
    return "".join(char for char in unicodedata.normalize("NFKC", text).casefold() if not char.isspace())


class SensitiveWords:
    """A matcher over a fixed list of words (give it the words as stored: normalized)."""

    def __init__(self, words: list[str]) -> None:
        import ahocorasick

        self.automaton: Any = ahocorasick.Automaton()
        for word in {normalized(word) for word in words} - {""}:
            self.automaton.add_word(word, word)
        if len(self.automaton):
            self.automaton.make_automaton()

    def found_in(self, *texts: str) -> list[str]:
        """The list's words found in the texts, each once, in order of first appearance."""
        if not len(self.automaton):
            return []
        found: dict[str, None] = {}
        for text in texts:
            for _end, word in self.automaton.iter(normalized(text)):
                found.setdefault(word, None)
        return list(found)


@cache
def starting_list() -> tuple[str, ...]:
    """The list a stage starts with (reviews/data/sensitive-words.txt, see its LICENSE file), normalized."""
    text = resources.files("chalicelib.reviews").joinpath("data/sensitive-words.txt").read_text(encoding="utf-8")
    return tuple(dict.fromkeys(word for line in text.splitlines() if (word := normalized(line))))
