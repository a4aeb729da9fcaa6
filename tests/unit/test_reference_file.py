"""The stored reference files match a fresh build."""

import json

import pytest

from grader.reference import deterministic_part, reference_document, reference_path


@pytest.mark.parametrize("name", ["exp_decay", "exp_cos"])
def test_stored_reference_matches_a_fresh_build(name, exp_decay, exp_cos):
    assignment = {"exp_decay": exp_decay, "exp_cos": exp_cos}[name]
    stored = json.loads(reference_path(assignment).read_text("utf-8"))
    fresh = reference_document(assignment, stored["keras_runs"], stored["provenance"])
    assert deterministic_part(stored) == deterministic_part(fresh)


@pytest.mark.parametrize("name", ["exp_decay", "exp_cos"])
def test_stored_keras_runs_confirm_the_set(name, exp_decay, exp_cos):
    assignment = {"exp_decay": exp_decay, "exp_cos": exp_cos}[name]
    stored = json.loads(reference_path(assignment).read_text("utf-8"))
    runs = stored["keras_runs"]
    assert len(runs) >= 30
    assert len({run["seed"] for run in runs}) == len(runs)
    assert all(run["distance_to_set"] <= stored["tolerance"] for run in runs)
    assert {"tensorflow", "keras", "numpy", "python"} <= set(stored["provenance"])


@pytest.mark.parametrize("question", ["q3_1", "q4_1"])
def test_midterm_linear_questions_have_stored_references_confirmed_by_keras(question):
    from grader.assignment import load_assignment

    part = next(q for q in load_assignment("midterm_2022").questions if q.question == question)
    stored = json.loads(reference_path(part).read_text("utf-8"))
    fresh = reference_document(part, stored["keras_runs"], stored["provenance"])
    assert deterministic_part(stored) == deterministic_part(fresh)
    runs = stored["keras_runs"]
    assert len(runs) >= 5
    assert all(run["distance_to_set"] <= stored["tolerance"] for run in runs)
    assert {"tensorflow", "keras", "numpy", "python"} <= set(stored["provenance"])
