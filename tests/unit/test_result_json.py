"""A Result and an Outcome read back from their JSON equal what was written: every field,
every status (what a Dask worker sends back, and what reuse reads from result.json)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from grader.api import judge_facts, unscored_result
from grader.facts import load_facts
from grader.judge import RunSummary
from grader.result import STATUSES, FailedCell, Result, Status, strict
from grader.submission import Outcome, internal_error_result
from tests.conftest import FIXTURES

FAILED = (FailedCell(4, "NameError", "name 'x' is not defined", "print(x)"),)


def through_text(document: dict) -> dict:
    return json.loads(json.dumps(strict(document), ensure_ascii=False, allow_nan=False))


def results(assignment) -> dict[str, Result]:
    facts = load_facts(FIXTURES / "01_homework.json")
    made = {}
    for status, run_status in (("graded", "completed"), ("timeout", "timeout"), ("error", "dead")):
        run = RunSummary(run_status, "the kernel died", ((4, "NameError", "x"),), 600.0)
        made[status] = judge_facts(
            "숙제.ipynb", facts, run, assignment, "ko", status, "ab" * 32, FAILED, 1.23456
        )
    made["invalid"] = unscored_result("a.ipynb", assignment, "en", "invalid", "empty")
    question = {"question": "q1", "title": "Q1", "score": 5.0, "max_score": 10.0}
    made["questions"] = dataclasses.replace(made["graded"], questions=(question,))
    made["internal"] = internal_error_result("b.ipynb", assignment, "en", ValueError("boom"))
    return made


def test_statuses_are_an_enum_that_writes_the_same_strings():
    assert tuple(Status) == tuple(STATUSES) == ("graded", "invalid", "timeout", "error")
    assert [s.value for s in Status] == list(STATUSES)


@pytest.mark.parametrize("kind", ["graded", "timeout", "error", "invalid", "internal", "questions"])
def test_every_status_round_trips(exp_decay, kind):
    result = results(exp_decay)[kind]
    assert isinstance(result.status, Status)
    document = result.to_json()
    assert type(document["status"]) is str
    assert Result.from_json(document) == result
    assert Result.from_json(through_text(document)) == result  # as results.json holds it
    assert Result.from_json(result.to_json()).to_json() == document


def test_a_graded_result_keeps_what_the_judge_found(exp_decay):
    result = results(exp_decay)["graded"]
    assert result.beta is not None and result.checks and result.model is not None
    assert result.failed_cells == FAILED and result.seconds == 1.235
    assert result.extras["loss_history"] and result.assignment == "exp_decay"


def test_an_outcome_round_trips_through_json_text(exp_decay):
    outcome = Outcome(
        results(exp_decay)["timeout"],
        {"facts.json": '{"records": []}', "report.html": "<html>홍길동</html>"},
        ("no report for x",),
    )
    assert Outcome.from_json(through_text(outcome.to_json())) == outcome


def test_an_outcome_carries_only_the_files_the_batch_writes(exp_decay):
    document = Outcome(results(exp_decay)["invalid"]).to_json()
    document["artifacts"] = {"../../escape.txt": "x", "report.html": "<p>"}
    assert dict(Outcome.from_json(document).artifacts) == {"report.html": "<p>"}
