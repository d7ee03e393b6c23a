"""reference/text-stuffer computes nothing and games keyword matching: its service answers
0.5 for any record, whatever the record holds (talked to over real HTTP here).

How the two calibration references of issue #15 grade (text-stuffer caught by measured red flags,
reference/unconventional passing within 10 of strong) is asserted on their graded evidence in
tests/grade/test_grade_references.py, which runs their notebooks once.

Docker only (the image); skipped without an engine, a failure under GRADER_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from helpers import REFERENCE_DIR, RunningService, docker_client_or_skip, holdout_records, running_service

pytestmark = [pytest.mark.slow, pytest.mark.docker]

CANDIDATE = "reference-text-stuffer"
ROWS = 3_000


@pytest.fixture(scope="module")
def stuffer_service() -> Iterator[RunningService]:
    client = docker_client_or_skip(need_base_images=True)
    with running_service(client, REFERENCE_DIR / "text-stuffer") as service:
        yield service


def test_text_stuffer_service_answers_one_half_for_any_record(stuffer_service: RunningService, make_world) -> None:
    records = holdout_records(make_world(CANDIDATE, ROWS), 20)
    garbage = [
        {},
        {"anything": "at all"},
        {name: "not a number" for name in records[0]},
        {**records[0], "extra": [1, 2]},
    ]
    url = stuffer_service.base_url + "/predict"
    for record in records[:5] + garbage:
        answer = httpx.post(url, json=record, timeout=10)
        assert answer.status_code == 200, answer.text
        assert [p["churn_probability"] for p in answer.json()["predictions"]] == [0.5]
    for body in (records, {"records": records + garbage}):
        answer = httpx.post(url, json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        probabilities = [p["churn_probability"] for p in answer.json()["predictions"]]
        assert probabilities == [0.5] * (len(records) + (len(garbage) if isinstance(body, dict) else 0))
    assert httpx.get(stuffer_service.base_url + "/health", timeout=5).status_code == 200
