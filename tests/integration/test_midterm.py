"""The midterm's bundled examples graded in one real batch (real kernels, real
TensorFlow): each question's score, the pages and the exports per question."""

from __future__ import annotations

import csv
import json
import shutil
import sys

import pytest

from tests.integration.processes import watched_run
from tests.midterm_notebooks import EXAMPLES
from tests.unit.judge.test_questions import EXPECTED

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def midterm(tmp_path_factory):
    from grader.assignment import ASSIGNMENTS_DIR

    folder = tmp_path_factory.mktemp("midterm")
    out = tmp_path_factory.mktemp("midterm_out")
    for name in EXAMPLES:
        shutil.copy(ASSIGNMENTS_DIR / "midterm_2022" / "examples" / name, folder / name)
    command = [
        sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out),
        "--assignment", "midterm_2022", "--jobs", "2", "--cell-timeout", "300",
        "--format", "html,csv,gradescope", "--lang", "en",
    ]  # fmt: skip
    completed = watched_run(command)
    return completed, out, json.loads((out / "results.json").read_text("utf-8"))


def test_each_example_scores_per_question_as_expected(midterm):
    completed, _, document = midterm
    assert completed.returncode == 0, completed.stderr[-2000:]
    by_name = {s["submission"]: s for s in document["submissions"]}
    assert set(by_name) == set(EXAMPLES)
    for name, submission in by_name.items():
        expected = EXPECTED[name.removesuffix(".ipynb")]
        assert submission["status"] == "graded", submission["messages"]
        scores = {q["question"]: q["score"] for q in submission["questions"]}
        assert scores == expected, (name, submission["checks"])
        assert submission["score"] == sum(expected.values())
        assert not submission["needs_review"], submission["review"]


def test_pages_and_exports_show_the_score_per_question(midterm):
    _, out, document = midterm
    solution = next(s for s in document["submissions"] if s["submission"] == "01_solution.ipynb")
    page = (out / "submissions" / solution["folder"] / "report.html").read_text("utf-8")
    assert 'id="questions"' in page and "3-(2) logistic regression" in page
    assert page.count('class="question-score"') == 4
    with (out / "grades.csv").open(encoding="utf-8-sig") as stream:
        rows = {r["submission"]: r for r in csv.DictReader(stream)}
    assert rows["05_skipped_question.ipynb"]["q3_2.estimate"] == "0.0"
    assert rows["05_skipped_question.ipynb"]["q3_1.beta"] == "15.0"
    gradescope = json.loads((out / "gradescope" / "03_wrong_architecture.json").read_text())
    assert gradescope["score"] == 75
    assert (out / "index.html").is_file()
