"""The README and docs/ speak to the project's users from inside the repository: every file they link to exists,
and none points outside the repository or talks of the tracker's issues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target)
CODE_PATH = re.compile(
    r"`((?:docs|chalicelib|infra|local|bench|tests|clients|events)/[\w./-]+\.(?:py|md|json|ya?ml|toml|txt|ts|vue|sh|csv|html))`"
)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_file_a_doc_links_to_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:|^#", target):  # a URL or an anchor of the same page
            continue
        if not (doc.parent / target.split("#", 1)[0]).resolve().exists():
            missing.append(target)
    for path in CODE_PATH.findall(text):
        if not (ROOT / path).exists() and "<" not in path:
            missing.append(path)
    assert missing == [], f"{doc.name} points to files that do not exist"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_doc_points_outside_the_repository_or_to_issues(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")

    assert "../shared" not in text and "/work/" not in text
    assert re.findall(r"\b(?:issue \d+|later issues?)\b", text, flags=re.I) == []
