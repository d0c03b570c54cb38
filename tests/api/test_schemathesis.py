"""The OpenAPI document is true: schemathesis generates valid and invalid requests for every
operation from /openapi.json and sends them, authenticated, to the real app over HTTP. No
answer may be a 5xx, and none may contradict the document (status code, content type,
response schema, documented headers); schema-invalid requests must be refused.

Bounded: a few examples per operation and per mode (valid, invalid), no shrinking, no example
database, so the run takes about a minute on a CI machine.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.live import LiveServer, account
from tests.conftest import make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
EXAMPLES = 25


@pytest.fixture(autouse=True)
def _hypothesis_home(tmp_path):
    """Hypothesis keeps a cache folder (.hypothesis) in the working directory: not in the tree."""
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture
def live(tmp_path):
    # no rate limit: thousands of requests in a minute would only test the limiter's 429s
    s = make_settings(tmp_path / "data", rate_limit="", login_rate_limit="")
    _, key = account(s, "schemathesis@example.com")
    with LiveServer(s) as server:
        yield server, {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api_schema(live):
    server, _ = live
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    # DELETE /v1/me erases the run's own account: every later request would be a (documented)
    # 401 and test nothing else. Erasure has its own tests (tests/privacy/test_erasure.py).
    return schema.exclude(method="DELETE", path="/v1/me")


def _run(operation, mode, base_url: str, auth: dict, statuses: Counter) -> str | None:
    """The first failure of one operation in one mode, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        response = case.call_and_validate(
            base_url=base_url, headers=auth, checks=CHECKS, timeout=30
        )
        statuses[response.status_code] += 1

    try:
        check()
    except Unsatisfiable:
        return None  # nothing to make invalid (no parameters, no body): the valid run covers it
    except (Exception, BaseExceptionGroup) as exc:  # failed checks, in schemathesis' words
        return f"{operation.label} ({mode.value}): {exc}"
    return None


def test_api_answers_as_documented(live, api_schema):
    # schemathesis' pytest plugin (schema.parametrize) does not run under this pytest, so the
    # strategies are driven with Hypothesis directly: one bounded run per operation and mode
    server, auth = live
    failures, operations, statuses = [], 0, Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _run(operation, mode, server.url, auth, statuses)
            if failure:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
    print(f"schemathesis: {operations} operations, answers by status {sorted(statuses.items())}")
    # the run was signed in and reached real work, not only refusals
    assert operations >= 30 and statuses[200] + statuses[201] > 100
