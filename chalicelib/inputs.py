"""Reading untrusted input the one way: JSON with a nesting limit, digits that are ASCII 0-9 only."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32
ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


class TooDeep(ValueError):
    """A JSON document nested deeper than MAX_JSON_DEPTH (a ValueError: callers treat it as malformed JSON)."""


def loads_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, refusing documents nested deeper than max_depth with TooDeep instead of parsing (or crashing on)
    them; malformed JSON raises ValueError (or UnicodeDecodeError) as json.loads does."""
    try:
        document = json.loads(raw)
    except RecursionError:  # thousands of levels: the C parser gives up before we could measure
        raise TooDeep(f"JSON nested deeper than {max_depth} levels") from None
    if _depth_exceeds(document, max_depth):
        raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    return document


def _depth_exceeds(document: Any, max_depth: int) -> bool:
    """Whether any array or object lies more than max_depth levels deep (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def is_ascii_digits(text: object) -> bool:
    """True for a non-empty string of ASCII 0-9 only: str.isdigit and int() also take '²', '１' and '٣'."""
    return isinstance(text, str) and ASCII_DIGITS.fullmatch(text) is not None
