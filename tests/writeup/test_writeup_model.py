"""The model judge against a real HTTP server on 127.0.0.1 that answers like a chat model, truthfully or not.

The stub is a real `http.server` in a thread: the judge's httpx client talks to it over
TCP exactly as it would to any OpenAI-compatible endpoint. It can answer well, lie (quotes
that are not in the README), answer malformed JSON, an HTTP error, or nothing in time.
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from candidate import sample, strong_work

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))

from grader.errors import BadInput
from grader.report import report_evidence, rerender
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.writeup import collect_writeup
from grader.writeup.evidence import CONCEPTS
from grader.writeup.settings import JudgeSettings

MODEL = "stub-model"
API_KEY = "sk-test-not-a-real-key"

Answer = Callable[[dict], tuple[int, str]]


class StubModel:
    """A chat-completions endpoint whose answers the test decides; it records every request."""

    def __init__(self) -> None:
        self.answer: Answer = lambda body: (500, "not configured")
        self.delay_s = 0.0
        self.requests: list[tuple[dict, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length))
                stub.requests.append((dict(self.headers), body))
                time.sleep(stub.delay_s)
                status, text = stub.answer(body)
                payload = text.encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def chat(content: str) -> tuple[int, str]:
    """A chat completion holding `content`, as OpenAI-compatible servers answer."""
    return 200, json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})


def readme_of(body: dict) -> str:
    return json.loads(body["messages"][1]["content"])["README"]


def honest(strength: float = 0.8) -> Answer:
    """Every criterion at `strength`, quoting the README's first long sentence verbatim."""

    def answer(body: dict) -> tuple[int, str]:
        line = next(line for line in readme_of(body).splitlines() if len(line) > 40 and not line.startswith("#"))
        criteria = [
            {"id": f"covers.{c}", "strength": strength, "quotes": [line.strip()[:60]], "why": f"{c} is argued"}
            for c in CONCEPTS
        ]
        return chat(json.dumps({"criteria": criteria}))

    return answer


def lying(body: dict) -> tuple[int, str]:
    criteria = [
        {"id": f"covers.{c}", "strength": 1.0, "quotes": ["We alert on PSI above 0.2 for every feature, daily."]}
        for c in CONCEPTS
    ]
    return chat(json.dumps({"criteria": criteria}))


@pytest.fixture()
def stub() -> Iterator[StubModel]:
    server = StubModel()
    yield server
    server.close()


@pytest.fixture(scope="module")
def key(make_world):
    return make_world("writeup-model", 3000).key


@pytest.fixture(scope="module")
def work(key) -> dict:
    return strong_work(key)


@pytest.fixture()
def env(stub: StubModel, tmp_path: Path, monkeypatch) -> JudgeSettings:
    monkeypatch.setenv("GRADER_JUDGE_URL", stub.url)
    monkeypatch.setenv("GRADER_JUDGE_MODEL", MODEL)
    monkeypatch.setenv("GRADER_JUDGE_API_KEY", API_KEY)
    monkeypatch.setenv("GRADER_JUDGE_TIMEOUT", "5")
    monkeypatch.setenv("GRADER_JUDGE_CACHE_DIR", str(tmp_path / "judge-cache"))
    return JudgeSettings.from_environment("openai", DEFAULT_RUBRIC)


def judge(text: str, key, work: dict, settings: JudgeSettings, tmp_path: Path, name: str = "README.md"):
    readme = tmp_path / name
    readme.write_text(text)
    return collect_writeup(
        readme,
        source="README.md",
        key=key,
        audit=work["audit"],
        modeling=work["modeling"],
        mlflow=work["mlflow"],
        judge=settings.make(),
    )


def test_an_honest_answer_replaces_the_concept_checks_with_verified_quotes(stub, env, key, work, tmp_path) -> None:
    stub.answer = honest(0.8)
    text = sample("focused.md", key)
    writeup = judge(text, key, work, env, tmp_path)
    assert writeup.judge == f"model/1 {MODEL}" and writeup.judge_model == MODEL and writeup.judge_note is None
    rollout = writeup.check("covers.rollout")
    assert rollout.figures["strength"] == 0.8 and rollout.figures["model_strength"] == 0.8
    assert rollout.quotes[0].line == 3 and rollout.quotes[0].text in " ".join(text.splitlines()[2:4])
    # Measured checks stay the heuristic's: the model never decides own data, length or consistency.
    assert writeup.check("own_data").figures["score"] == 1.0 and "model" not in writeup.check("own_data").detail
    ((headers, body),) = stub.requests
    assert headers["authorization"] == f"Bearer {API_KEY}" and body["model"] == MODEL
    user = json.loads(body["messages"][1]["content"])
    assert user["README"] == text
    shown = {c["id"]: c for c in user["criteria"]}
    assert shown["covers.delayed_labels"]["rubric"].startswith("Label delay") and shown["covers.rollout"]["no own data"]
    assert user["truth of their data"]["label"].endswith("within 30 days of a monthly snapshot")
    assert any(f["what"] == "PR-AUC logged" for f in user["candidate's evidence"]["figures"])
    assert API_KEY not in writeup.model_dump_json()


def test_a_lying_answer_earns_nothing(stub, env, key, work, tmp_path) -> None:
    stub.answer = lying
    writeup = judge(sample("focused.md", key), key, work, env, tmp_path)
    for concept in CONCEPTS:
        check = writeup.check(f"covers.{concept}")
        assert check.figures["strength"] == 0 and not check.passed and check.quotes == []
        assert "1 of its 1 quotes are not in the README: their points dropped" in check.detail
    assert "quotes are not in the README" in writeup.judge_note


def test_half_a_lie_earns_half(stub, env, key, work, tmp_path) -> None:
    text = sample("focused.md", key)
    real = "A shadow endpoint and p99 latency alerting matter little here"
    assert real in text

    def answer(body: dict) -> tuple[int, str]:
        criteria = [{"id": "covers.rollout", "strength": 1.0, "quotes": [real, "We run a canary on 5 % of traffic."]}]
        return chat(json.dumps({"criteria": criteria}))

    stub.answer = answer
    writeup = judge(text, key, work, env, tmp_path)
    assert writeup.check("covers.rollout").figures["strength"] == 0.5
    assert "no answer for covers.data_drift: the heuristic's kept" in writeup.judge_note
    assert writeup.check("covers.data_drift").figures.get("model_strength") is None


def test_a_fenced_json_answer_is_read(stub, env, key, work, tmp_path) -> None:
    honest_answer = honest(0.6)
    stub.answer = lambda body: chat(
        "```json\n" + json.loads(honest_answer(body)[1])["choices"][0]["message"]["content"] + "\n```"
    )
    writeup = judge(sample("focused.md", key), key, work, env, tmp_path)
    assert writeup.judge == f"model/1 {MODEL}" and writeup.check("covers.rollout").figures["strength"] == 0.6


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            lambda body: chat("Sure! The README is strong on drift and weak on ownership."),
            "malformed JSON in the answer",
        ),
        (lambda body: chat(json.dumps({"criteria": [{"id": "covers.rollout", "strength": 7}]})), "malformed JSON"),
        (lambda body: (500, '{"error": "the model is overloaded"}'), "answered HTTP 500"),
        (lambda body: (200, '{"id": "x", "object": "list"}'), "did not answer as a chat completion"),
    ],
)
def test_a_failing_endpoint_falls_back_to_the_heuristic_with_the_reason(
    stub, env, key, work, tmp_path, answer, why
) -> None:
    stub.answer = answer
    text = sample("focused.md", key)
    writeup = judge(text, key, work, env, tmp_path)
    heuristic = judge(text, key, work, JudgeSettings(), tmp_path, "other.md")
    assert writeup.judge == "heuristic/2" and writeup.judge_model == MODEL
    assert why in writeup.judge_note and "the heuristic judged instead" in writeup.judge_note
    assert [c.model_dump() for c in writeup.checks] == [c.model_dump() for c in heuristic.checks]
    assert any(why in reason for reason in writeup.outcome.reasons)
    assert not list((tmp_path / "judge-cache").glob("*.json"))  # a failure is never cached


def test_a_timeout_and_an_unreachable_endpoint_fall_back(stub, env, key, work, tmp_path, monkeypatch) -> None:
    stub.answer, stub.delay_s = honest(0.8), 2.0
    slow = env.model_copy(update={"timeout_s": 0.3})
    writeup = judge(sample("focused.md", key), key, work, slow, tmp_path)
    assert writeup.judge == "heuristic/2" and "within 0.3 s" in writeup.judge_note
    stub.close()
    gone = judge(sample("focused.md", key), key, work, env, tmp_path)
    assert gone.judge == "heuristic/2" and "unreachable" in gone.judge_note


def test_answers_are_cached_so_a_regrade_asks_once_and_agrees(stub, env, key, work, tmp_path) -> None:
    stub.answer = honest(0.7)
    text = sample("focused.md", key)
    first = judge(text, key, work, env, tmp_path)
    second = judge(text, key, work, env, tmp_path)
    assert len(stub.requests) == 1
    assert [c.model_dump() for c in first.checks] == [c.model_dump() for c in second.checks]
    (cached,) = (tmp_path / "judge-cache").glob("*.json")
    assert API_KEY not in cached.read_text()
    judge(text + "\nOne more sentence about the retention team's budget.\n", key, work, env, tmp_path)
    other_model = env.model_copy(update={"model": "another-model"})
    judge(text, key, work, other_model, tmp_path)
    assert len(stub.requests) == 3  # a new README, a new model: new questions


def test_the_report_names_the_judge_and_grader_report_never_asks_again(stub, env, key, work, tmp_path) -> None:
    stub.answer = honest(0.8)
    writeup = judge(sample("focused.md", key), key, work, env, tmp_path)
    document = dict(work, writeup=writeup.model_dump(mode="json"))
    graded = tmp_path / "graded"
    graded.mkdir()
    (graded / "evidence.json").write_text(json.dumps(document))
    report_evidence(document, tmp_path / "first", load_rubric())
    asked = len(stub.requests)
    stub.close()
    (card,) = rerender([graded], tmp_path / "again", load_rubric())
    markdown = (tmp_path / "again" / card.candidate / "report.md").read_text()
    assert f"README judged by model/1 {MODEL}." in markdown
    assert (tmp_path / "first" / card.candidate / "report.json").read_text() == (
        tmp_path / "again" / card.candidate / "report.json"
    ).read_text()
    assert len(stub.requests) == asked


def test_a_fallback_is_named_in_the_report(stub, env, key, work, tmp_path) -> None:
    stub.answer = lambda body: (503, "busy")
    writeup = judge(sample("focused.md", key), key, work, env, tmp_path)
    document = dict(work, writeup=writeup.model_dump(mode="json"))
    card = report_evidence(document, tmp_path / "reports", load_rubric())
    html = (tmp_path / "reports" / card.candidate / "report.html").read_text()
    assert f"README judged by heuristic/2 (model {MODEL} asked). the model judge failed" in html
    assert "answered HTTP 503" in html


def test_settings_come_from_the_environment_without_the_key(monkeypatch) -> None:
    monkeypatch.delenv("GRADER_JUDGE_URL", raising=False)
    monkeypatch.setenv("GRADER_JUDGE_MODEL", MODEL)
    with pytest.raises(BadInput, match="--judge openai needs GRADER_JUDGE_URL"):
        JudgeSettings.from_environment("openai")
    with pytest.raises(BadInput, match="choose one of heuristic, openai"):
        JudgeSettings.from_environment("gpt")
    assert JudgeSettings.from_environment("heuristic") == JudgeSettings()
    monkeypatch.setenv("GRADER_JUDGE_URL", "http://127.0.0.1:9/v1/chat/completions")
    monkeypatch.setenv("GRADER_JUDGE_API_KEY", API_KEY)
    settings = JudgeSettings.from_environment("openai")
    assert settings.fingerprinted() == {
        "kind": "openai",
        "url": "http://127.0.0.1:9/v1/chat/completions",
        "model": MODEL,
    }
    assert API_KEY not in settings.model_dump_json() and API_KEY not in repr(settings)


def test_the_judge_and_the_cohort_readmes_reach_a_worker(tmp_path) -> None:
    from grader.cohort.gradeone import GradeJob

    settings = JudgeSettings(kind="openai", url="http://127.0.0.1:9/v1", model=MODEL)
    job = GradeJob(
        candidate="a",
        submission=tmp_path,
        evidence_dir=tmp_path,
        reports_dir=tmp_path,
        spec="churn-v1",
        rows=None,
        secret=b"s",
        demo_secret=False,
        backend="local",
        judge=settings,
        cohort_readmes={"b": "# B\n\nTheir README."},
    )
    again = pickle.loads(pickle.dumps(job))  # how a spawned worker receives it
    assert again.judge == settings and again.cohort_readmes == {"b": "# B\n\nTheir README."}
    assert "Their README" not in repr(job)
