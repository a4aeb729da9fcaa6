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
    assert any("graphviz" in c for c in outcome.params["cells"]) and outcome.params["count"] == 1


def test_timeout_and_death_fail(case):
    assert (
        check_ran(case("01_homework", run=RunSummary("timeout", "x", (), 60.0))).diagnosis
        == "timeout"
    )
    dead = check_ran(case("01_homework", run=RunSummary("dead", "the kernel died", (), 60.0)))
    assert not dead.passed and dead.diagnosis == "kernel_died"


def test_a_timed_out_cell_is_named_in_the_message_language(case, exp_decay):
    from grader.judge import judge

    run = RunSummary(
        "completed",
        None,
        ((4, "CellTimeoutError", "timed out"), (7, "ZeroDivisionError", "division by zero")),
        600.0,
        cell_timeout_s=120.0,
    )
    ran = {c.name: c for c in judge(case("01_homework", run=run), "ko")}["ran"]
    assert "[4] 제한 시간 120초를 넘겨 중단됨" in ran.message
    assert "[7] ZeroDivisionError: division by zero" in ran.message
    assert "timed out" not in ran.message
    english = {c.name: c for c in judge(case("01_homework", run=run), "en")}["ran"]
    assert "[4] stopped after its limit of 120 s" in english.message
