"""Data migration (idempotent): accounts made before the customer and staff directories existed get their entry, so
staff find every customer by username (`GET /admin/customers?username=`) and every staff account in the staff list.

Run it on a deployed stage after `make deploy`, with the credentials used to deploy (docs/deploy.md):

    PYTHONPATH=. .venv/bin/python -m infra.migrations.customer_directory --stage dev [--dry-run]

It scans the accounts table once for user profiles (deleted accounts left out) and writes each entry with a
condition that it is not there yet, so a second run, or one beside registrations (which write their own entry),
writes nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.migrations import migrate_stage

if TYPE_CHECKING:
    from chalicelib.accounts.directory import DynamoAccountsDirectory


def run(directory: DynamoAccountsDirectory, dry_run: bool = False) -> dict[str, Any]:
    """List every account in its directory; how many accounts were read and how many entries written."""
    accounts = written = 0
    for user in directory.every_account():
        accounts += 1
        if not dry_run and directory.list_in_directory(user):
            written += 1
    return {"accounts": accounts, "written": written, "dry_run": dry_run}


def main(argv: list[str] | None = None) -> int:
    def migrate(dry_run: bool) -> dict[str, Any]:
        from chalicelib.accounts.directory import DynamoAccountsDirectory

        return run(DynamoAccountsDirectory(), dry_run=dry_run)

    return migrate_stage(__doc__, argv, migrate)


if __name__ == "__main__":
    raise SystemExit(main())
