"""Cold start: what `import app` and a first request load, checked in fresh interpreters (the suite's own process has
long imported everything)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Libraries only some functions need; none may load with the app or any route's context.
HEAVY = ("numpy", "scipy", "cryptography", "aws_xray_sdk", "rjieba", "jieba", "pypinyin", "implicit")

REPORT = textwrap.dedent(
    """
    import json, sys
    {setup}
    import pydantic
    from chalicelib.schema import BaseModel
    def models(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from models(sub)
    built = sorted(f"{{m.__module__}}.{{m.__qualname__}}" for m in models(BaseModel) if m.__pydantic_complete__)
    chalicelib = sorted(name for name in sys.modules if name.startswith("chalicelib."))
    print(json.dumps({{"heavy": [n for n in {heavy!r} if n in sys.modules], "built": built, "chalicelib": chalicelib}}))
    """
)


def loaded_after(setup: str) -> dict[str, list[str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POWERTOOLS_")}
    env.update(SHOP_STAGE="dev", PYTHONPATH=str(REPO_ROOT), AWS_DEFAULT_REGION="us-east-1")
    code = REPORT.format(setup=textwrap.dedent(setup), heavy=HEAVY)
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_importing_the_app_loads_no_context_no_heavy_library_and_builds_no_schema() -> None:
    loaded = loaded_after("import app")

    assert loaded["heavy"] == []
    assert loaded["built"] == []
    assert set(loaded["chalicelib"]) <= {
        "chalicelib.auth",
        "chalicelib.bootstrap",
        "chalicelib.bootstrap.community",  # the container's community parts: names only, nothing built
        "chalicelib.bootstrap.order_parts",  # the container's order parts: names only, nothing built
        "chalicelib.bootstrap.search",  # the container's search parts: names only, nothing built
        "chalicelib.config",
        "chalicelib.cors",
        "chalicelib.deps",
        "chalicelib.errors",
        "chalicelib.http",
        "chalicelib.inputs",
        "chalicelib.lazy_app",
        "chalicelib.observability",
        "chalicelib.principal",
        "chalicelib.route_table",
        "chalicelib.routes",
        "chalicelib.schema",
    }


def test_a_first_request_loads_only_the_context_of_its_route() -> None:
    loaded = loaded_after("import app\napp.app.routes['/health']")

    assert "chalicelib.ops.api" in loaded["chalicelib"]
    other_contexts = ("chalicelib.orders.", "chalicelib.search.", "chalicelib.catalog.")
    assert not any(name.startswith(other_contexts) for name in loaded["chalicelib"])


def test_the_whole_app_with_every_blueprint_loads_no_heavy_library_and_builds_no_schema() -> None:
    # What an API function that has served every route holds, and what `chalice package` imports.
    loaded = loaded_after("import app\napp.app.register_every_blueprint()")

    assert loaded["heavy"] == []
    assert loaded["built"] == []
    assert "chalicelib.orders.api" in loaded["chalicelib"]


def test_signing_and_verifying_an_access_token_does_not_load_cryptography() -> None:
    loaded = loaded_after(
        """
        import os
        os.environ["JWT_SECRET"] = "s" * 48
        from chalicelib.accounts.tokens import issue_access_token, verify_access_token
        token, _ = issue_access_token("u_1", "alice", {"customer"})
        assert verify_access_token(token).user_id == "u_1"
        assert verify_access_token(token + "x") is None
        """
    )

    assert loaded["heavy"] == []


def test_validating_a_request_body_builds_that_model_only() -> None:
    loaded = loaded_after(
        """
        from chalicelib.cart.schemas import CartItemWrite
        CartItemWrite.model_validate({"sku_id": "s_1", "quantity": 2})
        """
    )

    assert loaded["built"] == ["chalicelib.cart.schemas.CartItemWrite"]


def test_the_route_table_is_what_the_full_registration_says() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "infra.route_table", "--check"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr


def test_every_declared_route_is_in_the_route_table_so_no_request_registers_the_whole_app() -> None:
    from app import BLUEPRINTS, app
    from chalicelib.route_table import HANDLERS, PATHS
    from chalicelib.routes import OPERATIONS

    assert {op.path for op in OPERATIONS} == set(PATHS) == set(app.routes)
    assert {spec for owners in PATHS.values() for spec in owners} | set(HANDLERS.values()) == set(BLUEPRINTS)
    assert set(HANDLERS) <= set(app.handler_map)


def test_a_first_request_for_a_path_no_route_declares_registers_nothing() -> None:
    loaded = loaded_after("import app\nassert '/no/such/path' not in app.app.routes")

    assert not any(name.endswith((".api", ".events")) for name in loaded["chalicelib"])


def test_a_review_served_by_a_cold_process_reaches_the_orders_lines() -> None:
    # The reviews route registered alone used to find no source of order lines until another route had loaded the
    # orders context: the composition root hands it over whichever route comes first.
    loaded = loaded_after(
        """
        import app
        app.app.routes["/orders/{order_id}/reviews"]
        from chalicelib.bootstrap import container
        from chalicelib.bootstrap.bridges import OrderLinesForReviews
        assert isinstance(container().received_lines, OrderLinesForReviews)
        """
    )

    assert "chalicelib.reviews.api" in loaded["chalicelib"]


def test_a_non_http_function_loads_only_the_context_that_defines_it_and_runs_through_the_apps_middleware() -> None:
    loaded = loaded_after(
        """
        import app
        from chalicelib.observability import observe_invocation
        handler = app.order_compensate
        assert observe_invocation in list(handler.middleware_handlers)
        assert not app.app.every_blueprint_registered
        """
    )

    assert "chalicelib.orders.events" in loaded["chalicelib"]
    assert not any(name.startswith(("chalicelib.search.", "chalicelib.recommend.")) for name in loaded["chalicelib"])
    assert loaded["heavy"] == []
