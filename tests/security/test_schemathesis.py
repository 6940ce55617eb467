"""Property-based attack on the JSON API from its own OpenAPI document (schemathesis): no 5xx,
and every response matches the documented status codes, content type and schema.

Driven through schemathesis' Python API with hypothesis (its pytest plugin's fixture loader
does not support this pytest); each operation gets a bounded number of examples.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests import factories
from tests.security.test_access_matrix import ALL_SCOPES

MAX_EXAMPLES = 25  # bounded: the whole API is covered in well under a minute per database
# Schema-valid input may still break a business rule the schema cannot state (an unknown branch
# code, a phone number of the wrong shape: 422), so "positive data acceptance" is not checked;
# schema-INVALID input must be rejected (negative_data_rejection), and nothing may be a 5xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


def test_api_survives_generated_input(app, db_session):
    _, secret = factories.api_token(ALL_SCOPES)
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as err:  # report every operation's failures
            failures.append(f"{operation.method.upper()} {operation.path}: {err}")
    assert not failures, "\n\n".join(failures)
