"""What the end-to-end tests share besides fixtures: the server handle, the admin password, logging in."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Any

import requests

ADMIN_PASSWORD = "e2e-admin-password-42"


@dataclass
class LocalServer:
    """A running `python -m local` and everything it printed."""

    process: subprocess.Popen[str]
    base_url: str = ""
    startup_seconds: float = 0.0
    output: list[str] = field(default_factory=list)

    def output_tail(self, lines: int = 60) -> str:
        return "".join(self.output[-lines:])


def login(http: requests.Session, base_url: str, username: str, password: str) -> dict[str, Any]:
    response = http.post(f"{base_url}/auth/login", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())
