"""The late policy: Canvas's rules (a deduction per started day or hour, a floor, a
grace period), extensions, and submission times from the LMS only."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from grader.assignment import AssignmentError, load_assignment
from grader.cli import main
from grader.semester.late import (
    LateError,
    SubmissionTime,
    assess,
    canvas_late_mark,
    gradescope_time,
    parse_late_policy,
    read_times_csv,
)
from tests.unit.semester.conftest import assignment_copy

FIXTURES = Path(__file__).parents[2] / "fixtures"
POLICY = """
[late]
due = 2026-12-01T23:59:00
time_zone = "Asia/Seoul"
per = "day"
deduction_percent = 10
floor_percent = 50
grace_minutes = 15
"""
TIMES = """submission,submitted_at
kim_101_1_hw.ipynb,2026-12-02T01:29:00+09:00
park_303_3_hw.ipynb,2026-12-04 23:59
jung_505_5_hw.ipynb,2026-12-04T14:59:00Z
choi_404_4_hw.ipynb,2026-12-02T00:10:00+09:00
"""


@pytest.fixture
def policy():
    return parse_late_policy(
        {
            "due": "2026-12-01T23:59:00",
            "time_zone": "Asia/Seoul",
            "per": "day",
            "deduction_percent": 10,
            "floor_percent": 50,
            "grace_minutes": 15,
        }
    )


def at(text: str) -> SubmissionTime:
    return SubmissionTime(text, "csv:times.csv")


def test_an_hour_and_a_half_late_is_one_started_day(policy):
    found = assess(policy, at("2026-12-02T01:29:00+09:00"), 100.0, 100.0)
    assert found.late_by == timedelta(hours=1, minutes=30)
    assert (found.periods, found.deduction) == (1, 10.0)


def test_three_days_late_is_three_days(policy):
    found = assess(policy, at("2026-12-04T23:59:00+09:00"), 100.0, 100.0)
    assert (found.periods, found.deduction, found.floored) == (3, 30.0, False)


def test_an_extension_moves_the_due_date(policy):
    found = assess(policy, at("2026-12-04T23:59:00+09:00"), 100.0, 100.0, timedelta(days=3))
    assert (found.periods, found.deduction, found.extended) == (0, 0.0, True)


def test_within_the_grace_period_is_on_time(policy):
    found = assess(policy, at("2026-12-02T00:10:00+09:00"), 100.0, 100.0)
    assert found.late_by == timedelta(minutes=11) and found.deduction == 0.0


def test_the_floor_limits_the_deduction(policy):
    found = assess(policy, at("2026-12-04T23:59:00+09:00"), 60.0, 100.0)
    assert (found.deduction, found.floored) == (10.0, True)  # not below 50 % of 100
    assert assess(policy, at("2026-12-04T23:59:00+09:00"), 40.0, 100.0).deduction == 0.0


def test_per_hour_and_time_zones(policy):
    hourly = parse_late_policy(
        {"due": "2026-12-01T23:59:00+09:00", "time_zone": "UTC", "per": "hour"}
        | {"deduction_percent": 5}
    )
    found = assess(hourly, at("2026-12-01T16:29:00Z"), 100.0, 100.0)  # 01:29 in Seoul
    assert (found.periods, found.deduction) == (2, 10.0)
    naive = assess(policy, at("2026-12-02 01:29"), 100.0, 100.0)  # read in Asia/Seoul
    assert naive.periods == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"due": "2026-12-01T23:59", "time_zone": "Mars/Olympus"}, "needs 'per'"),
        (
            {"due": "x", "time_zone": "UTC", "per": "day", "deduction_percent": 1},
            "not a date and time",
        ),
        (
            {"due": "2026-12-01", "time_zone": "Nowhere", "per": "day", "deduction_percent": 1},
            "unknown time zone",
        ),
        (
            {"due": "2026-12-01", "time_zone": "UTC", "per": "week", "deduction_percent": 1},
            "'day' or 'hour'",
        ),
        ({"due": "2026-12-01", "time_zone": "UTC", "per": "day", "penalty": 1}, "unknown keys"),
    ],
)
def test_a_wrong_policy_says_what_is_wrong(table, message):
    with pytest.raises(LateError, match=message):
        parse_late_policy(table)


def test_a_wrong_policy_in_the_assignment_file_is_an_assignment_error(tmp_path):
    path = assignment_copy(tmp_path, lambda t: t + POLICY.replace('"day"', '"week"'))
    with pytest.raises(AssignmentError, match="'day' or 'hour'"):
        load_assignment(path)


def test_gradescope_metadata_gives_the_time_and_an_extension(tmp_path, policy):
    documented = FIXTURES / "gradescope_submission_metadata.json"
    time = gradescope_time(documented)
    assert time.at == "2026-12-02T01:29:00.365935+09:00" and time.extension_s is None
    assert assess(policy, time, 100.0, 100.0).deduction == 10.0
    metadata = json.loads(documented.read_text("utf-8"))
    metadata["users"][0]["assignment"]["due_date"] = "2026-12-03T23:59:00+09:00"
    extended = tmp_path / "submission_metadata.json"
    extended.write_text(json.dumps(metadata), "utf-8")
    time = gradescope_time(extended)
    assert time.extension_s == 2 * 86400
    assert assess(policy, time, 100.0, 100.0).deduction == 0.0
    extended.write_text("{}", "utf-8")
    with pytest.raises(LateError, match="created_at"):
        gradescope_time(extended)


def test_times_csv_is_read_and_a_bad_row_is_named(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text(TIMES, "utf-8")
    times = read_times_csv(path)
    assert times["park_303_3_hw.ipynb"].at == "2026-12-04 23:59"
    assert times["kim_101_1_hw.ipynb"].source == "csv:times.csv"
    path.write_text(TIMES + "lee_202_2_hw.ipynb,yesterday\n", "utf-8")
    with pytest.raises(LateError, match="times.csv, line 6: not a date"):
        read_times_csv(path)
    path.write_text("name,time\na,b\n", "utf-8")
    with pytest.raises(LateError, match="'submission' and 'submitted_at'"):
        read_times_csv(path)


def test_canvas_marks_late_files_in_their_names():
    assert canvas_late_mark("kimcheolsu_late_12345_678_hw.ipynb")
    assert not canvas_late_mark("kimcheolsu_12345_678_hw.ipynb")
    assert not canvas_late_mark("late_homework.ipynb")


def test_the_penalty_is_its_own_line_everywhere(graded_out, tmp_path):
    policy_assignment = assignment_copy(tmp_path, lambda t: t + POLICY)
    (graded_out / "overrides.toml").write_text(
        '[submissions."jung_505_5_hw.ipynb"]\nextension_days = 3\n'
        'note = "hospital, certificate seen"\nby = "Prof. Kim"\n',
        "utf-8",
    )
    times = tmp_path / "times.csv"
    times.write_text(TIMES, "utf-8")
    argv = ["export", str(graded_out), "--assignment", str(policy_assignment), "--lang", "en"]
    assert main([*argv, "--format", "html,csv,gradescope", "--submitted-at", str(times)]) == 0
    entries = {
        s["submission"]: s
        for s in json.loads((graded_out / "results.json").read_text())["submissions"]
    }
    assert entries["kim_101_1_hw.ipynb"]["score"] == 90.0  # 1 h 30 min late: one day, 10 %
    assert entries["kim_101_1_hw.ipynb"]["automatic_score"] == 100.0
    assert entries["park_303_3_hw.ipynb"]["score"] == 50.0  # 3 days late, but already at 50
    assert entries["jung_505_5_hw.ipynb"]["score"] == 80.0  # 3 days late with 3 days' extension
    assert entries["choi_404_4_hw.ipynb"]["score"] == 20.0  # within the grace period
    assert entries["lee_202_2_hw.ipynb"]["score"] == 50.0  # no time known: on time
    page = (graded_out / "submissions" / "kim_101_1_hw.ipynb" / "report.html").read_text()
    assert "Submitted 2026-12-02 01:29 (Asia/Seoul), 1 h 30 min after the due date" in page
    assert "10 points off" in page and '<td id="automatic-score">100</td>' in page
    jung = (graded_out / "submissions" / "jung_505_5_hw.ipynb" / "report.html").read_text()
    assert "extended to 2026-12-04 23:59" in jung and "on time" in jung
    with (graded_out / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = {r["submission"]: r for r in csv.DictReader(stream)}
    assert float(rows["kim_101_1_hw.ipynb"]["late_penalty"]) == -10.0
    gradescope = json.loads((graded_out / "gradescope" / "kim_101_1_hw.json").read_text())
    assert gradescope["score"] == 90.0 and "10 points off" in gradescope["output"]
    # the times are kept: a later export without --submitted-at applies them again
    assert main([*argv, "--format", "csv"]) == 0
    again = json.loads((graded_out / "results.json").read_text())["submissions"]
    assert {s["submission"]: s["score"] for s in again}["kim_101_1_hw.ipynb"] == 90.0


def test_canvas_late_mark_without_a_time_waits_for_a_person(tmp_path, exp_decay):
    from tests.unit.semester.conftest import build_out

    out = build_out(tmp_path / "out", exp_decay)
    policy_assignment = assignment_copy(tmp_path, lambda t: t + POLICY)
    document = json.loads((out / "results.json").read_text())
    late_name = "hong_late_707_7_hw.ipynb"
    (out / "submissions" / "kim_101_1_hw.ipynb").rename(out / "submissions" / late_name)
    for entry in document["submissions"]:
        if entry["submission"] == "kim_101_1_hw.ipynb":
            entry["submission"] = late_name
    (out / "results.json").write_text(json.dumps(document), "utf-8")
    argv = ["export", str(out), "--assignment", str(policy_assignment), "--lang", "en"]
    assert main([*argv, "--format", "html"]) == 0
    entry = next(
        s
        for s in json.loads((out / "results.json").read_text())["submissions"]
        if s["submission"] == late_name
    )
    assert entry["score"] == 100.0 and entry["adjustments"]["late"]["time_known"] is False
    review = (out / "index.html").read_text().split('id="review"')[1].split("</table>")[0]
    assert late_name in review and "late, time unknown" in review
