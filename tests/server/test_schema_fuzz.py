"""Property-based requests generated from /openapi.json (schemathesis): no server errors."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from live import live_server
from schemathesis.checks import not_a_server_error

from semkit.server import ServerSettings

EXAMPLES = 15  # per operation (~20 operations): under a minute on two cores


def test_generated_requests_get_no_server_error(tmp_path, default_provider):
    with live_server(ServerSettings(db=tmp_path / "db", max_queue=256)) as live:
        with live.client() as c:  # something to read, so reads reach the library
            c.post("/v1/collections", json={"name": "docs"})
            docs = [{"id": "a", "text": "alpha", "metadata": {"n": 1}}]
            c.post("/v1/collections/docs/add", json={"documents": docs})
        schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        failures: list[str] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case) -> None:
                case.call_and_validate(checks=[not_a_server_error])

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report
                failures.append(f"{operation.label}: {str(exc)[:2000]}")
        assert not failures, "\n\n".join(failures)
