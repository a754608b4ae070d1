"""The SQLite that builds, changes and reads search's index files: pysqlite3-binary's own build of SQLite (3.51, FTS5
and the JSON functions built in), the same on a laptop, in the tests and in Lambda. Python's sqlite3 module links the
system's library, and Lambda's python3.11 runtime (Amazon Linux 2) has SQLite 3.7.17, from 2013: no FTS5, no
json_group_array, no MATERIALIZED common table expressions, each of which the index needs."""

from __future__ import annotations

import sqlite3
from typing import Any

from pysqlite3 import dbapi2

SQLITE_VERSION: str = dbapi2.sqlite_version


def connect(database: str, **options: Any) -> sqlite3.Connection:
    """A connection of that SQLite (typed as the standard module's: pysqlite3 is that module on its own SQLite)."""
    connection: sqlite3.Connection = dbapi2.connect(database, **options)
    return connection
