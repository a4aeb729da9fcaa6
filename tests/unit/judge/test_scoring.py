"""Points come from the assignment file; a failed β caps the total at half."""

from grader.api import judge_facts
from tests.unit.judge.conftest import COMPLETED


def grade(saved_facts, exp_decay, name):
    return judge_facts(f"{name}.ipynb", saved_facts(name), COMPLETED, exp_decay, lang="en")


def test_full_marks_for_the_homework(saved_facts, exp_decay):
    result = grade(saved_facts, exp_decay, "01_homework")
    assert result.score == result.max_score == exp_decay.max_score
    assert all(c.points == exp_decay.check_points[c.name] for c in result.checks)


def test_failed_beta_caps_the_total(saved_facts, exp_decay):
    result = grade(saved_facts, exp_decay, "06_not_converged")
    uncapped = sum(c.points for c in result.checks)
    assert uncapped > exp_decay.cap_when_beta_fails * exp_decay.max_score
    assert result.score == exp_decay.cap_when_beta_fails * exp_decay.max_score


def test_no_plot_loses_only_the_plot_points(saved_facts, exp_decay):
    result = grade(saved_facts, exp_decay, "09_no_plot")
    lost = {c.name for c in result.checks if not c.passed}
    assert lost == {"plot_data", "plot_curve"}
    assert (
        result.score
        == exp_decay.max_score
        - exp_decay.check_points["plot_data"]
        - exp_decay.check_points["plot_curve"]
    )


def test_messages_exist_in_both_languages(saved_facts, exp_decay):
    facts = saved_facts("05_wrong_features")
    ko = judge_facts("a.ipynb", facts, COMPLETED, exp_decay, lang="ko")
    en = judge_facts("a.ipynb", facts, COMPLETED, exp_decay, lang="en")
    assert [c.key for c in ko.checks] == [c.key for c in en.checks]
    assert any("특징" in c.message for c in ko.checks)
    assert any("Wrong features" in c.message for c in en.checks)


def test_evidence_withholds_keras_trained_and_beta(saved_facts, exp_decay):
    import dataclasses

    from grader.facts import EvidenceFact

    facts = saved_facts("01_homework")
    seen = EvidenceFact("introspection", "gc.get_objects", True, "cell.py:3 in <module>")
    facts = dataclasses.replace(facts, evidence=(seen,))
    result = judge_facts("a.ipynb", facts, COMPLETED, exp_decay, lang="en")
    withheld = {c.name for c in result.checks if c.diagnosis == "needs_review"}
    assert withheld == {"keras", "trained", "beta"}
    assert all(c.points == 0 for c in result.checks if c.name in withheld)
    assert result.score <= exp_decay.max_score / 2
    document = result.to_json()
    assert document["needs_review"] and "gc.get_objects" in document["review"][0]
    assert "Needs an instructor's review" in result.messages[0]
    # what the grader found is kept in the message for the instructor
    trained = next(c for c in result.checks if c.name == "trained")
    assert "replayed" in trained.message or "steps" in trained.message


def test_a_missing_end_record_after_a_complete_run_needs_review(saved_facts, exp_decay):
    import dataclasses

    facts = dataclasses.replace(saved_facts("01_homework"), finished=False)
    result = judge_facts("a.ipynb", facts, COMPLETED, exp_decay, lang="en")
    assert result.review and "final record" in result.review[0]
