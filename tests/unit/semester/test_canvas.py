"""canvas.csv updates the assignment's own column: its header carries the Canvas id, in
the layout of the documented import (tests/fixtures/canvas_gradebook_import.csv)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from grader.assignment import load_assignment
from grader.cli import main
from tests.unit.semester.conftest import assignment_copy

FIXTURE = Path(__file__).parents[2] / "fixtures" / "canvas_gradebook_import.csv"
CANVAS_HEADER = re.compile(r"^(?P<name>.+) \((?P<id>\d+)\)$")


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream))


def assignment_column(header: list[str]) -> tuple[int, str]:
    """Where the documented layout puts the assignment, and the id Canvas matches."""
    documented = rows(FIXTURE)[0]
    assert header[:5] == documented[:5]
    match = CANVAS_HEADER.match(header[5])
    assert match is not None, f"{header[5]!r} has no '(assignment id)': Canvas makes a new one"
    return 5, match["id"]


def test_the_fixture_is_the_documented_layout():
    header = rows(FIXTURE)[0]
    assert assignment_column(header) == (5, "123456")


def test_column_from_the_command_line(graded_out, capsys):
    argv = ["export", str(graded_out), "--format", "canvas"]
    assert main([*argv, "--canvas-column", "Homework 6 (123456)"]) == 0
    exported = rows(graded_out / "canvas.csv")
    column, assignment_id = assignment_column(exported[0])
    assert assignment_id == "123456" and exported[0][column] == "Homework 6 (123456)"
    scores = {row[1]: float(row[column]) for row in exported[1:]}
    assert scores["101"] == 100.0 and scores["303"] == 50.0
    assert "no assignment id" not in capsys.readouterr().err


def test_column_from_the_assignment_file(graded_out, tmp_path):
    path = assignment_copy(tmp_path, lambda t: t + "\n[canvas]\nassignment_id = 98765\n")
    assert load_assignment(path).canvas_column.endswith("with Keras and plot the fit (98765)")
    assert main(["export", str(graded_out), "--format", "canvas", "--assignment", str(path)]) == 0
    assert assignment_column(rows(graded_out / "canvas.csv")[0])[1] == "98765"
    named = assignment_copy(tmp_path / "b", lambda t: t + '\n[canvas]\ncolumn = "HW6 (55)"\n')
    assert load_assignment(named).canvas_column == "HW6 (55)"


def test_without_an_id_the_export_warns(graded_out, capsys):
    assert main(["export", str(graded_out), "--format", "canvas"]) == 0
    assert "Canvas will create a new assignment" in capsys.readouterr().err
