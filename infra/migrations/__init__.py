"""Data migrations: idempotent scripts run against a deployed stage after `make deploy` (see docs/deploy.md).

Each module has a `run(...)` (tested on moto) and a `main` that is `migrate_stage(__doc__, argv, ...)`: the one
command line (`--stage`, `--dry-run`) and the stage's environment set before the repositories are imported.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"


def stage_environment(stage: str, config_path: Path = CHALICE_CONFIG) -> dict[str, str]:
    """The environment the stage's functions run with (.chalice/config.json, written by make deploy), and SHOP_STAGE."""
    variables: dict[str, str] = {}
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        variables.update(config.get("environment_variables") or {})
        variables.update((config.get("stages", {}).get(stage) or {}).get("environment_variables") or {})
    return {**variables, "SHOP_STAGE": stage}


def migrate_stage(doc: str | None, argv: list[str] | None, migrate: Callable[[bool], dict[str, Any]]) -> int:
    """Parse `--stage` and `--dry-run`, set the stage's environment, then run `migrate(dry_run)` (it imports the
    repositories itself: the models take their table names from the stage) and print what it did."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--stage", required=True, help="the deployed stage (dev, prod)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    args = parser.parse_args(argv)
    os.environ.update(stage_environment(args.stage))
    print(json.dumps(migrate(args.dry_run), ensure_ascii=False, indent=2))
    return 0
