"""The browser clients call only operations the API has: every path and method their typed client names (and the
token refresh they fetch by hand) is in clients/openapi.json and served by the app, so a renamed route fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app import app

CLIENTS = Path(__file__).resolve().parents[2] / "clients"
SOURCES = [
    path
    for folder in ("shared/src", "storefront/src", "admin/src")
    for path in sorted((CLIENTS / folder).rglob("*"))
    if path.suffix in {".ts", ".vue"} and path.name != "api-types.ts"
]
# client.GET('/me/orders/{order_id}', ...) — the typed client's path literal, possibly on the next line
TYPED_CALL = re.compile(r"\bclient\.(GET|POST|PUT|PATCH|DELETE)\(\s*(['\"`])(/[^'\"`]*)\2")
# fetch(`${base}/auth/refresh`, { method: 'POST' ... }) — the one call made without the typed client
RAW_FETCH = re.compile(r"fetch\(`\$\{base\}(/[^`]*)`,\s*\{\s*method:\s*'([A-Z]+)'")


def client_calls() -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the source files that call it."""
    calls: dict[tuple[str, str], list[str]] = {}
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        found = [(m, p) for m, _, p in TYPED_CALL.findall(text)] + [(m, p) for p, m in RAW_FETCH.findall(text)]
        for method, path in found:
            calls.setdefault((method.lower(), path), []).append(str(source.relative_to(CLIENTS)))
    return calls


def test_the_clients_sources_are_found_and_call_the_api_through_path_literals() -> None:
    # GIVEN the clients' sources WHEN their calls are collected THEN both apps' calls are there (the scan works)
    calls = client_calls()

    assert len(SOURCES) > 40
    assert ("post", "/auth/refresh") in calls
    assert ("get", "/categories/tree") in calls and ("post", "/orders/preview") in calls
    assert any(path.startswith("/admin/") for _, path in calls)


def test_every_operation_the_clients_call_is_in_the_committed_openapi_document() -> None:
    # GIVEN the spec the clients' types are generated from
    document = json.loads((CLIENTS / "openapi.json").read_text(encoding="utf-8"))
    documented = {(method, path) for path, methods in document["paths"].items() for method in methods}

    # WHEN every call of the clients is looked up THEN none is missing
    missing = {f"{m.upper()} {p}": files for (m, p), files in client_calls().items() if (m, p) not in documented}
    assert missing == {}


def test_every_operation_the_clients_call_is_served_by_the_app() -> None:
    # GIVEN the routes the app serves now (clients/openapi.json may lag behind until `make api-types`)
    served = {(method.lower(), path) for path, methods in app.routes.items() for method in methods}

    # WHEN every call of the clients is looked up THEN none is missing
    missing = {f"{m.upper()} {p}": files for (m, p), files in client_calls().items() if (m, p) not in served}
    assert missing == {}


MENU_ENTRY = re.compile(r"\{ path: '(/[^']+)', title: '([^']+)', icon: '\w+', roles: \[([^\]]*)\]")
ROUTE_PAGE = re.compile(r"\{ path: '([\w-]+)', component: \(\) => import\('\./(pages/\w+\.vue)'\)")
ROLES_ALLOWED = re.compile(r"Staff roles allowed: ((?:`\w+`(?:, )?)+)")
GUARD = re.compile(r"\ballowed\('(/[\w-]+)'")  # a page loads a part only for the roles of that menu entry


def test_every_console_menu_entry_is_for_roles_the_api_lets_read_what_its_page_lists() -> None:
    # GIVEN the console's menu by role, its routes' pages, and the staff roles each admin operation allows
    admin = CLIENTS / "admin" / "src"
    menu = {
        path: re.findall(r"'(\w+)'", roles) for path, _, roles in MENU_ENTRY.findall((admin / "menu.ts").read_text())
    }
    pages = dict(ROUTE_PAGE.findall((admin / "router.ts").read_text()))
    document = json.loads((CLIENTS / "openapi.json").read_text(encoding="utf-8"))
    allowed = {
        path: re.findall(r"`(\w+)`", match.group(1))
        for path, methods in document["paths"].items()
        if "get" in methods and (match := ROLES_ALLOWED.search(methods["get"].get("description", "")))
    }

    # WHEN each entry's page is read for the admin lists it loads
    refused = {}
    for path, roles in menu.items():
        page = (admin / pages[path.lstrip("/")]).read_text(encoding="utf-8")
        guards = [menu[guard] for guard in GUARD.findall(page)]
        for method, _, called in TYPED_CALL.findall(page):
            if method != "GET" or called not in allowed:
                continue
            if any(set(guard) <= set(allowed[called]) for guard in guards):
                continue  # loaded only for the roles of an entry that may read it
            refused.update({f"{path} as {r}: GET {called}": allowed[called] for r in roles if r not in allowed[called]})

    # THEN a role that sees an entry may read what its page shows (no entry opens on a 403)
    assert len(menu) >= 18
    assert refused == {}
