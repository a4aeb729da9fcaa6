"""The midterm's example submissions judged from their saved facts: each question's
score, and a failing question's message names it."""

from __future__ import annotations

import pytest

from grader.api import judge_facts
from grader.assignment import load_assignment
from grader.judge import RunSummary
from tests.midterm_fixtures import facts_of

RUN = RunSummary("completed", None, (), 600.0)
_JUDGED: dict[tuple[str, str], object] = {}


def judged(name: str, tmp_path, lang: str = "en"):
    """Each example judged once per language (a judgement takes about a second)."""
    if (name, lang) not in _JUDGED:
        assignment = load_assignment("midterm_2022")
        _JUDGED[name, lang] = judge_facts(name, facts_of(name, tmp_path), RUN, assignment, lang)
    return _JUDGED[name, lang]


EXPECTED = {
    "01_solution": {"q3_1": 25, "q3_2": 25, "q4_1": 25, "q4_2": 25},
    "02_wrong_data": {"q3_1": 0, "q3_2": 25, "q4_1": 25, "q4_2": 25},
    "03_wrong_architecture": {"q3_1": 25, "q3_2": 25, "q4_1": 25, "q4_2": 0},
    "04_too_few_epochs": {"q3_1": 0, "q3_2": 25, "q4_1": 25, "q4_2": 25},
    "05_skipped_question": {"q3_1": 25, "q3_2": 0, "q4_1": 25, "q4_2": 25},
}
TITLES = {"q3_1": "3-(1)", "q3_2": "3-(2)", "q4_1": "4-(1)", "q4_2": "4-(2)"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_question_scores_as_expected(name, tmp_path):
    result = judged(name, tmp_path)
    scores = {q["question"]: q["score"] for q in result.to_json()["questions"]}
    assert scores == EXPECTED[name]
    assert result.score == sum(EXPECTED[name].values())
    assert result.max_score == 100
    assert not result.review
    for check in result.checks:
        question = check.name.split(".")[0]
        assert check.message.startswith(TITLES[question])
        if EXPECTED[name][question] == 25:
            assert check.passed, check.message


def test_the_solution_replays_every_family_and_says_whose_seed_it_is(tmp_path):
    result = judged("01_solution", tmp_path)
    by_name = {c.name: c for c in result.checks}
    assert by_name["q3_1.trained"].key == "trained.replayed"
    assert by_name["q3_2.trained"].key == "family.replayed"
    assert "maximum likelihood (IRLS)" in by_name["q3_2.estimate"].message
    assert "tf.random.set_seed(43056)` gives" in by_name["q4_2.trained"].message


def test_a_failing_question_says_why(tmp_path):
    for name, check, key in (
        ("02_wrong_data", "q3_1.keras", "keras.not_on_homework_data"),
        ("03_wrong_architecture", "q4_2.keras", "family.architecture"),
        ("04_too_few_epochs", "q3_1.beta", "beta.not_converged"),
        ("05_skipped_question", "q3_2.keras", "family.no_fit"),
    ):
        result = judged(name, tmp_path)
        found = {c.name: c for c in result.checks}[check]
        assert found.key == key and not found.passed


def test_one_question_assignments_have_no_questions():
    assignment = load_assignment("exp_decay")
    assert assignment.questions == () and "beta" in assignment.check_points


def test_messages_in_korean_name_the_question(tmp_path):
    result = judged("05_skipped_question", tmp_path, "ko")
    skipped = {c.name: c for c in result.checks}["q3_2.keras"]
    assert skipped.message.startswith("3-(2) 로지스틱 회귀: ")
    assert "3-(2) 로지스틱 회귀 0/25" in " ".join(result.messages)


def test_a_fit_whose_arrays_were_not_kept_goes_to_review_not_a_traceback(tmp_path):
    import dataclasses

    from grader.questions import judge_questions

    facts = facts_of("01_solution", tmp_path)
    fits = list(facts.fits)
    fits[3] = dataclasses.replace(fits[3], weights_before=None)  # the Dense stack's fit
    facts = dataclasses.replace(facts, fits=tuple(fits))
    checks, questions, review = judge_questions(load_assignment("midterm_2022"), facts, RUN, "en")
    by_name = {c.name: c for c in checks}
    assert not by_name["q4_2.keras"].passed and not by_name["q4_2.trained"].passed  # withheld
    assert by_name["q4_2.trained"].diagnosis == "needs_review"
    assert any(r.startswith("4-(2)") for r in review)
    assert [q.score for q in questions][:3] == [25, 25, 25]


def test_an_override_keeps_each_questions_cap_unless_its_answer_is_decided(tmp_path):
    from grader.semester.adjust import adjust
    from grader.semester.overrides import Override

    assignment = load_assignment("midterm_2022")
    entry = judged("04_too_few_epochs", tmp_path).to_json()  # Q3-(1): keras and trained pass
    name = entry["submission"]
    lowered = adjust(entry, assignment, Override(name, checks={"q4_1.keras": 0}))
    assert lowered["score"] == 70  # Q3-(1) stays capped at 0, Q4-(1) loses 5
    decided = adjust(entry, assignment, Override(name, checks={"q3_1.beta": 15}))
    assert decided["score"] == 100
