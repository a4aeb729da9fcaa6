from grader.judge import RunSummary
from grader.judge.ran import check_ran


def test_a_clean_run_passes(case):
    outcome = check_ran(case("01_homework"))
    assert outcome.passed and outcome.key == "ran.ok"


def test_unrelated_errors_cost_nothing_but_are_listed(case):
    run = RunSummary(
        "completed", None, ((3, "ModuleNotFoundError", "No module named 'graphviz'"),), 600.0
    )
    outcome = check_ran(case("02_lecture_with_homework", run=run))
    assert outcome.passed
    assert "graphviz" in outcome.params["cells"] and outcome.params["count"] == 1


def test_timeout_and_death_fail(case):
    assert (
        check_ran(case("01_homework", run=RunSummary("timeout", "x", (), 60.0))).diagnosis
        == "timeout"
    )
    dead = check_ran(case("01_homework", run=RunSummary("dead", "the kernel died", (), 60.0)))
    assert not dead.passed and dead.diagnosis == "kernel_died"
