"""Sign-in costs: argon2id hash time (OWASP: under 1 s), password login latency, access-token verification latency,
the authorizer (token check and the account's status read).

Run: make bench (or .venv/bin/python bench/auth.py [--rounds N]).
Login runs in-process through the Chalice test client on moto, so it includes the app's own work and moto's
emulation of DynamoDB (no network); the hash and token figures are the real costs on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from _inprocess import prepare_environment, provisioned_app

prepare_environment()

from chalice.test import Client  # noqa: E402

from chalicelib.accounts import passwords, tokens  # noqa: E402
from chalicelib.auth import jwt_auth  # noqa: E402

HASH_BUDGET_SECONDS = 1.0


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def row(name: str, timings: list[float]) -> str:
    p99 = sorted(timings)[max(0, int(len(timings) * 0.99) - 1)]
    return f"{name:<44} {statistics.median(timings):>10.3f} {p99:>10.3f} {len(timings):>7}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    rows = []
    hash_times = timed(lambda: passwords.hash_password("correct horse battery staple"), args.rounds)
    stored = passwords.hash_password("correct horse battery staple")
    rows.append(row("argon2id hash (m=19 MiB, t=2, p=1)", hash_times))
    rows.append(row("argon2id verify", timed(lambda: passwords.verify_password(stored, "correct horse"), args.rounds)))
    token, _ = tokens.issue_access_token("u_bench", "bench", {"customer"})
    rows.append(row("access token verify (PyJWT HS256)", timed(lambda: tokens.verify_access_token(token), 2000)))
    with provisioned_app() as app:
        client = Client(app, stage_name="local")
        body = json.dumps({"username": "bench_user", "password": "correct horse 1"}).encode()
        headers = {"content-type": "application/json"}
        registered = client.http.post("/auth/register", headers=headers, body=body)
        assert registered.status_code == 201
        event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {json.loads(registered.body)['access_token']}",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/me",
        }
        # the token check and the account's status read (one GetItem, here on moto in-process)
        rows.append(row("authorizer Lambda (token -> policy, moto)", timed(lambda: jwt_auth(event, {}), 500)))

        def login() -> None:
            assert client.http.post("/auth/login", headers=headers, body=body).status_code == 200

        rows.append(row("POST /auth/login (in-process, moto)", timed(login, args.rounds)))
    print(f"{'operation':<44} {'p50 ms':>10} {'p99 ms':>10} {'rounds':>7}")
    print("\n".join(rows))
    worst_hash = max(hash_times) / 1000
    verdict = "OK" if worst_hash < HASH_BUDGET_SECONDS else "OVER BUDGET"
    print(f"slowest hash {worst_hash:.3f} s against the 1 s budget: {verdict}")
    assert worst_hash < HASH_BUDGET_SECONDS


if __name__ == "__main__":
    main()
