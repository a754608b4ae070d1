"""Property-based checks of the whole OpenAPI surface of the real local server (schemathesis 4).

Every documented operation gets a bounded number of generated requests, valid and invalid, sent
with a logged-in customer's token; no answer may be a 5xx and every documented answer must match
its response schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.xdist_group("e2e")

# Generated requests per operation (fuzzing phase); explicit examples come on top.
MAX_EXAMPLES = 8
REQUEST_TIMEOUT_SECONDS = 10


@pytest.fixture(scope="session")
def api_schema(base_url: str, customer_token: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "headers": {"Authorization": f"Bearer {customer_token}"},
            "request-timeout": REQUEST_TIMEOUT_SECONDS,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "suppress-health-check": ["all"],
        }
    )
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_operation_answers_with_a_server_error_or_off_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
