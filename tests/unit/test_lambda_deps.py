"""What the Lambda dependency build does to the installed tree after pip: shared objects lose their debug sections."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pysqlite3 import dbapi2

from infra.lambda_deps import strip_debug_info


@pytest.mark.skipif(shutil.which("strip") is None, reason="binutils' strip is not installed")
def test_shared_objects_lose_their_debug_sections_and_still_load(tmp_path: Path) -> None:
    # GIVEN an installed tree holding a wheel's shared object with debug sections (pysqlite3-binary's) and a text file
    package = tmp_path / "pysqlite3"
    shutil.copytree(Path(dbapi2.__file__).parent, package)
    [shared] = package.glob("_sqlite3*.so")
    before = shared.stat().st_size
    (tmp_path / "notes.so.txt").write_text("not an ELF file")

    # WHEN the tree is stripped
    strip_debug_info(tmp_path)

    # THEN the object is a fraction of its size, the text file is untouched, and the module still loads and runs SQL
    assert shared.stat().st_size < before / 3
    assert (tmp_path / "notes.so.txt").read_text() == "not an ELF file"
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pysqlite3 import dbapi2; print(dbapi2.connect(':memory:').execute("
            '"SELECT json_group_array(1)").fetchone()[0])',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert loaded.stdout.strip() == "[1]"
