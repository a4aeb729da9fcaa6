"""Single notebooks through the student's command and the Python API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.api import grade_notebook
from grader.run.executor import Limits
from tests import notebooks as nbs

pytestmark = pytest.mark.integration


def check(path, *extra):
    return subprocess.run(
        [sys.executable, "-m", "grader", "check", str(path), "--lang", "en", *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_passes_on_example3_as_its_own_assignment(tmp_path):
    path = nbs.write_notebook(nbs.exp_cos_homework(), tmp_path / "예제3.ipynb")
    completed = check(path, "--assignment", "exp_cos")
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]
    assert "100 / 100" in completed.stdout
    report = tmp_path / "예제3.report.html"
    assert report.is_file() and "β2" in report.read_text("utf-8")


def test_check_fails_with_a_diagnosis(tmp_path):
    path = nbs.write_notebook(nbs.not_converged(), tmp_path / "hw.ipynb")
    completed = check(path)
    assert completed.returncode == 1
    assert "✗ beta" in completed.stdout and "has not converged" in completed.stdout


def test_notebook_past_its_limit_keeps_the_facts_so_far(tmp_path):
    cells = nbs.homework()
    cells.insert(5, "while True:\n    pass")  # after the fit and the plot
    path = nbs.write_notebook(cells, tmp_path / "slow.ipynb")
    result = grade_notebook(
        path, "exp_decay", limits=Limits(cell_timeout_s=120, notebook_timeout_s=20), lang="en"
    )
    assert result.status == "timeout"
    assert result.beta is not None  # the fit before the loop was recorded
    assert {c.name for c in result.checks if not c.passed} == {"ran"}
    assert "limit of 20 s" in result.messages[0]


def test_gradescope_contract(tmp_path):
    import json

    import jsonschema

    submission = tmp_path / "autograder" / "submission"
    nbs.write_notebook(nbs.no_plot(), submission / "my homework.ipynb")
    results = tmp_path / "autograder" / "results" / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "gradescope",
            "--submission",
            str(submission),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    document = json.loads(results.read_text("utf-8"))
    schema = json.loads(
        (Path(__file__).parents[1] / "fixtures" / "gradescope_schema.json").read_text("utf-8")
    )
    jsonschema.validate(document, schema)
    assert document["score"] == 80.0
    assert {t["name"] for t in document["tests"] if t["status"] == "failed"} == {
        "plot_data",
        "plot_curve",
    }


def test_gradescope_without_a_notebook_scores_zero(tmp_path):
    import json

    results = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "gradescope",
            "--submission",
            str(tmp_path / "none"),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0
    document = json.loads(results.read_text("utf-8"))
    assert document["score"] == 0.0 and "no .ipynb" in document["output"]


def test_without_namespaces_the_grader_warns_and_still_caps(tmp_path):
    """Where no namespace can be made (GRADER_NO_NAMESPACES=1 stands in for such a
    machine), every run says what is lost, grading still works, and the memory cap holds."""
    import os

    notebook = tmp_path / "hw.ipynb"
    cells = nbs.homework()
    cells.insert(5, "hog = bytearray(6 * 1024**3)")
    nbs.write_notebook(cells, notebook)
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(notebook), "--lang", "en", "--out",
         str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GRADER_NO_NAMESPACES": "1"},
    )  # fmt: skip
    said = completed.stdout + completed.stderr
    assert "WARNING: cannot create namespaces" in said
    assert "may outlive its submission" in said
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]
    assert "graded, 100 / 100" in completed.stdout
    assert "memory limit of 4 GiB" in completed.stdout
