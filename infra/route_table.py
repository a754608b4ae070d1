"""Writes chalicelib/route_table.py from the app's full registration: which blueprint declares each route and
defines each non-HTTP handler, so a cold request registers only its own (chalicelib/lazy_app.py).

    python -m infra.route_table          # rewrite the table after adding or moving a route or a handler
    python -m infra.route_table --check  # exit 1 when the table is not what the registration says (the suite runs it)

Each blueprint is registered alone into a throwaway Chalice app, so what it registers is exactly what it declares.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from chalice import Chalice

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "chalicelib" / "route_table.py"
HEADER = '''"""Which blueprint declares each route and defines each non-HTTP handler (read by chalicelib/lazy_app.py).

Written by `python -m infra.route_table` from the app's full registration; the suite fails when it is stale. Do not
edit by hand.
"""

from __future__ import annotations'''


def derive(blueprints: tuple[str, ...]) -> tuple[dict[str, list[str]], dict[str, str]]:
    paths: dict[str, list[str]] = {}
    handlers: dict[str, str] = {}
    for spec in blueprints:
        module, _, attribute = spec.partition(":")
        alone = Chalice("route-table")
        alone.register_blueprint(getattr(importlib.import_module(module), attribute))
        views = {entry.view_name for methods in alone.routes.values() for entry in methods.values()}
        for path in alone.routes:
            paths.setdefault(path, []).append(spec)
        for name in alone.handler_map:
            if name not in views:
                handlers[name] = spec
    return paths, handlers


def render(paths: dict[str, list[str]], handlers: dict[str, str]) -> str:
    """The module's text, as ruff formats it."""
    lines = [HEADER, "", "PATHS: dict[str, tuple[str, ...]] = {"]
    for path, specs in sorted(paths.items()):
        if len(specs) == 1:
            lines.append(f"    {json.dumps(path)}: ({json.dumps(specs[0])},),")
        else:
            lines += [f"    {json.dumps(path)}: (", *(f"        {json.dumps(s)}," for s in specs), "    ),"]
    lines += ["}", "", "HANDLERS: dict[str, str] = {"]
    lines += [f"    {json.dumps(name)}: {json.dumps(spec)}," for name, spec in sorted(handlers.items())]
    lines += ["}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the table is stale")
    args = parser.parse_args()
    os.environ.setdefault("SHOP_STAGE", "local")
    sys.path.insert(0, str(ROOT))
    from app import BLUEPRINTS

    wanted = render(*derive(BLUEPRINTS))
    if args.check:
        if TABLE.read_text(encoding="utf-8") != wanted:
            print(f"{TABLE.relative_to(ROOT)} is stale: run `python -m infra.route_table`", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
