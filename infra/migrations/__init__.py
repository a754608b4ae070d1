"""Data migrations: idempotent scripts run against a deployed stage after `make deploy` (see docs/deploy.md)."""
