"""What the command line promises, on an output folder made of saved facts of real runs
(no kernel): `grader export`, `--canvas-id-pattern`, exit code 2, and a change of grader
version or of messages.toml grading a notebook again."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from grader.assignment import load_assignment
from grader.batch import reusable_result, submission_dir
from grader.cli import EXIT_USAGE, main
from grader.integrity import seal
from tests.unit.semester.conftest import REPO

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "gradescope_schema.json").read_text("utf-8")
)


def final_scores(out: Path) -> dict[str, float]:
    document = json.loads((out / "results.json").read_text("utf-8"))
    return {s["submission"]: s["score"] for s in document["submissions"]}


def test_export_writes_every_format_from_results_json(graded_out, capsys):
    assert (
        main(["export", str(graded_out), "--format", "csv,gradescope,canvas", "--lang", "en"]) == 0
    )
    printed = capsys.readouterr().out.split()
    assert str(graded_out / "grades.csv") in printed and str(graded_out / "canvas.csv") in printed
    scores = final_scores(graded_out)
    content = (graded_out / "grades.csv").read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content[3:].decode("utf-8"))))
    assert {r["submission"]: float(r["score"]) for r in rows} == scores
    written = sorted((graded_out / "gradescope").glob("*.json"))
    assert len(written) == len(scores)
    for path in written:
        document = json.loads(path.read_text("utf-8"))
        jsonschema.validate(document, SCHEMA)
    kim = json.loads((graded_out / "gradescope" / "kim_101_1_hw.json").read_text("utf-8"))
    assert kim["score"] == scores["kim_101_1_hw.ipynb"] == 100.0


def test_canvas_id_pattern_on_the_command_line(graded_out):
    """Canvas's default takes 101 from kim_101_1_hw.ipynb; a pattern that takes the
    second number gives 1."""
    argv = ["export", str(graded_out), "--format", "canvas", "--canvas-column", "HW6 (7)"]
    assert main(argv) == 0
    default = list(csv.reader((graded_out / "canvas.csv").open(encoding="utf-8")))
    assert {row[1] for row in default[1:]} == {"101", "202", "303", "404", "505", "606"}
    pattern = r"^(?P<name>[a-z]+)_\d+_(?P<id>\d+)_"
    assert main([*argv, "--canvas-id-pattern", pattern]) == 0
    custom = list(csv.reader((graded_out / "canvas.csv").open(encoding="utf-8")))
    ids = {row[1]: float(row[5]) for row in custom[1:]}
    assert set(ids) == {"1", "2", "3", "4", "5", "6"}
    assert ids["1"] == final_scores(graded_out)["kim_101_1_hw.ipynb"]


@pytest.mark.parametrize(
    "argv",
    [
        ["grade", "{tmp}/no-such-folder", "--out", "{tmp}/out"],
        ["grade", "{tmp}", "--out", "{tmp}/out", "--jobs", "0"],
        ["grade", "{tmp}", "--out", "{tmp}/out", "--assignment", "no_such_assignment"],
        ["check", "{tmp}/no-such.ipynb"],
        ["export", "{tmp}", "--format", "csv"],  # no results.json there
        ["rejudge", "{tmp}/out", "--assignment", "{tmp}/missing.toml"],
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, tmp_path, capsys):
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    said = capsys.readouterr()
    assert code == EXIT_USAGE == 2
    assert said.err.startswith("grader: ") and said.err.count("\n") == 1, said.err
    assert "Traceback" not in said.err


def test_unknown_option_values_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(tmp_path), "--out", str(tmp_path), "--format", "pdf"])
    assert stop.value.code == 2
    assert "unknown format pdf" in capsys.readouterr().err


def test_an_override_of_an_unknown_submission_exits_2(graded_out, capsys):
    (graded_out / "overrides.toml").write_text(
        '[submissions."nobody.ipynb"]\ntotal = 100\n', "utf-8"
    )
    assert main(["export", str(graded_out), "--format", "csv"]) == 2
    assert "nobody.ipynb" in capsys.readouterr().err


def stored_result(out: Path, notebook: Path, assignment, version: str) -> None:
    from grader.api import unscored_result

    document = unscored_result(notebook.name, assignment, "ko", "invalid", "x").to_json() | {
        "submission": notebook.name,
        "sha256": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "assignment_digest": assignment.digest,
        "grader_version": version,
        "lang": "ko",
        "extras": {},
    }
    path = submission_dir(out, notebook.name) / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), "utf-8")
    seal(path)


def test_another_grader_version_grades_again(tmp_path, exp_decay):
    from grader import __version__

    notebook = tmp_path / "hw.ipynb"
    notebook.write_text('{"cells": []}', "utf-8")
    stored_result(tmp_path / "out", notebook, exp_decay, __version__)
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is not None
    stored_result(tmp_path / "out", notebook, exp_decay, "0.0.1")
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is None


def test_an_edited_messages_toml_grades_again(tmp_path):
    """The assignment's digest covers the shared messages: a reworded message is a new
    grading (the stored results carry the old words)."""
    shutil.copytree(REPO / "assignments" / "exp_decay", tmp_path / "a" / "exp_decay")
    messages = tmp_path / "a" / "messages.toml"
    shutil.copy(REPO / "assignments" / "messages.toml", messages)
    path = tmp_path / "a" / "exp_decay" / "assignment.toml"
    before = load_assignment(path)
    notebook = tmp_path / "hw.ipynb"
    notebook.write_text('{"cells": []}', "utf-8")
    from grader import __version__

    stored_result(tmp_path / "out", notebook, before, __version__)
    assert reusable_result(notebook, tmp_path / "out", load_assignment(path), "ko") is not None
    text = messages.read_text("utf-8")
    messages.write_text(text.replace("숙제 데이터", "숙제의 데이터", 1), "utf-8")
    after = load_assignment(path)
    assert after.digest != before.digest
    assert reusable_result(notebook, tmp_path / "out", after, "ko") is None
