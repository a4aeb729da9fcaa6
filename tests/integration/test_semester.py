"""The instructor's semester on the shared batch's real output: rejudge reproduces it
without a kernel; overrides survive grade (with and without --force), rejudge and
export; the copied pairs are found; the pages, in Chromium, show it all."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.facts import load_facts
from grader.semester.similarity import random_looking_starts
from tests import notebooks as nbs
from tests.integration.browser import BROKEN_IMAGES, browser, open_page
from tests.integration.conftest import SEMESTER
from tests.unit.semester.conftest import assignment_copy
from tests.unit.semester.test_rejudge import run_without_processes

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures"
LATE = """
[late]
due = 2026-12-01T23:59:00
time_zone = "Asia/Seoul"
per = "day"
deduction_percent = 10
floor_percent = 0
grace_minutes = 15

[canvas]
name = "Homework 6"
assignment_id = 123456
"""
OVERRIDES = """
[submissions."07_not_converged.ipynb"]
checks = { beta = 15 }
note = "2 epochs at 0.001 was a typo for 200 epochs; half of beta on appeal"
by = "TA Lee"
at = 2026-12-05T10:00:00+09:00

[submissions."01_homework.ipynb"]
extension_days = 3
note = "hospital; certificate seen"
by = "Prof. Kim"
"""
TIMES = """submission,submitted_at
01_homework.ipynb,2026-12-04T23:00:00+09:00
03_scalar.ipynb,2026-12-02T01:29:00+09:00
04_model_scatter.ipynb,2026-12-04T23:59:00+09:00
"""


def grader(*argv: str, timeout: int = 600) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [sys.executable, "-m", "grader", *argv], capture_output=True, text=True, timeout=timeout
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    return completed


def entries(out: Path) -> dict[str, dict]:
    document = json.loads((out / "results.json").read_text("utf-8"))
    return {s["submission"]: s for s in document["submissions"]}


@pytest.fixture
def out_copy(batch, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(batch["out"], copy)
    return copy


def test_both_copied_pairs_are_found_and_the_seeded_pair_is_not(batch):
    report = json.loads((batch["out"] / "similarity.json").read_text("utf-8"))
    pairs = {(p["a"], p["b"]): p for p in report["pairs"]}
    code = pairs[("40_own_solution.ipynb", "41_disguised_copy.ipynb")]
    assert "code" in code["reasons"] and code["cells"]
    outputs = pairs[("42_saved_outputs.ipynb", "43_copied_outputs.ipynb")]
    assert "outputs" in outputs["reasons"]
    assert ("44_seeded_a.ipynb", "45_seeded_b.ipynb") not in pairs
    # ...although the seed gave both the very same start in their real kernels, and they
    # saved the same printed weights
    starts = [
        random_looking_starts(load_facts(batch["out"] / "submissions" / n / "facts.json").fits)
        for n in ("44_seeded_a.ipynb", "45_seeded_b.ipynb")
    ]
    assert starts[0] and starts[0] == starts[1]
    with (batch["out"] / "similarity.csv").open(encoding="utf-8-sig", newline="") as stream:
        listed = {(r["submission_a"], r["submission_b"]) for r in csv.DictReader(stream)}
    assert listed == set(pairs)
    assert "'숙제'" in "".join(c["source"] for c in SEMESTER["43_copied_outputs.ipynb"]["cells"])
    for name in SEMESTER_HONEST:
        assert batch["by_name"][name]["score"] == 100.0, batch["by_name"][name]["messages"]
        assert not batch["by_name"][name]["needs_review"]


# every one of them does the homework right; 43 labels its plot in Korean, which makes
# matplotlib warn (a glyph missing from the font) while the probe renders the figure: no
# reason for a review
SEMESTER_HONEST = (
    "40_own_solution.ipynb",
    "41_disguised_copy.ipynb",
    "42_saved_outputs.ipynb",
    "43_copied_outputs.ipynb",
    "44_seeded_a.ipynb",
    "45_seeded_b.ipynb",
)


def test_rejudge_reproduces_the_batch_without_a_kernel(batch, out_copy):
    completed = run_without_processes("rejudge", str(out_copy))
    again = entries(out_copy)
    differ = {
        name: {k: (v, again[name].get(k)) for k, v in first.items() if again[name].get(k) != v}
        for name, first in batch["by_name"].items()
        if again[name] != first
    }
    # statuses, timeouts, failed and truncated cells, caps, review: all as the batch had them
    assert differ == {}
    assert "judged otherwise: 0" in completed.stdout


def test_semester_workflow_scores_by_hand(batch, out_copy, tmp_path):
    """grade (the batch), then an override and an extension, then rejudge with changed
    points and a late policy, then the Canvas export."""
    (out_copy / "overrides.toml").write_text(OVERRIDES, "utf-8")
    times = tmp_path / "times.csv"
    times.write_text(TIMES, "utf-8")

    def edit(text: str) -> str:
        text = text.replace("beta = 30", "beta = 40").replace("plot_data = 10", "plot_data = 5")
        return text.replace("plot_curve = 10", "plot_curve = 5") + LATE

    changed = assignment_copy(tmp_path, edit)
    completed = run_without_processes(
        "rejudge", str(out_copy), "--assignment", str(changed), "--submitted-at", str(times)
    )
    assert "07_not_converged.ipynb: 50 → 75" in completed.stdout
    grader(
        "export",
        str(out_copy),
        "--assignment",
        str(changed),
        "--format",
        "canvas,html",
        "--canvas-id-pattern",
        r"^(?P<id>\d+)_",
    )
    scores = {name: e["score"] for name, e in entries(out_copy).items()}
    assert scores["01_homework.ipynb"] == 100.0  # 23 h late, but 3 days' extension
    assert scores["03_scalar.ipynb"] == 90.0  # 1 h 30 min late: one day, 10 %
    assert scores["04_model_scatter.ipynb"] == 70.0  # 3 days late: 30 %
    # β decided by hand: 10 + 20 + 20 + 15 + 5 + 5
    assert scores["07_not_converged.ipynb"] == 75.0
    assert scores["11_no_plot.ipynb"] == 90.0  # the new points: 10 + 20 + 20 + 40
    with (out_copy / "canvas.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][5] == "Homework 6 (123456)"
    canvas = {row[1]: float(row[5]) for row in rows[1:]}
    assert canvas["03"] == 90.0 and canvas["04"] == 70.0 and canvas["07"] == 75.0
    index = (out_copy / "index.html").read_text("utf-8")
    similar = index.split('class="pair"', 1)[1]
    assert "40_own_solution.ipynb ↔ 41_disguised_copy.ipynb" in similar
    assert "42_saved_outputs.ipynb ↔ 43_copied_outputs.ipynb" in similar
    row = index.split("<td>04_model_scatter.ipynb</td>")[1].split("</tr>")[0]
    assert "70" in row and "(자동 100)" in row  # the late penalty beside the automatic score
    row = index.split("<td>07_not_converged.ipynb</td>")[1].split("</tr>")[0]
    assert "75" in row and "(자동 50)" in row  # the override


def test_overrides_survive_grade_without_force(batch, out_copy):
    (out_copy / "overrides.toml").write_text(OVERRIDES, "utf-8")
    completed = grader(
        "grade",
        str(batch["folder"]),
        "--out",
        str(out_copy),
        "--no-pool",
        "--cell-timeout",
        "10",
        "--format",
        "html,gradescope,canvas",
        "--canvas-column",
        "Homework 6 (123456)",
        "--canvas-id-pattern",
        r"^(?P<id>\d+)_",
    )
    assert completed.stderr.count("(unchanged)") == len(batch["by_name"])
    graded = entries(out_copy)["07_not_converged.ipynb"]
    assert graded["score"] == 85.0 and graded["automatic_score"] == 50.0  # 10+20+20+15+10+10
    gradescope = json.loads((out_copy / "gradescope" / "07_not_converged.json").read_text())
    assert gradescope["score"] == 85.0 and "half of beta on appeal" in gradescope["output"]
    with (out_copy / "canvas.csv").open(encoding="utf-8", newline="") as stream:
        canvas = {row[1]: row[5] for row in list(csv.reader(stream))[1:]}
    assert float(canvas["07"]) == 85.0


def test_overrides_survive_a_forced_regrade(batch, tmp_path):
    folder, out = tmp_path / "two", tmp_path / "out"
    folder.mkdir()
    names = ("01_homework.ipynb", "07_not_converged.ipynb")
    for name in names:
        shutil.copy(batch["folder"] / name, folder / name)
    (out).mkdir()
    (out / "overrides.toml").write_text(OVERRIDES, "utf-8")
    grader("grade", str(folder), "--out", str(out), "--force", "--no-pool", "--jobs", "2")
    graded = entries(out)
    assert graded["07_not_converged.ipynb"]["score"] == 85.0
    assert graded["07_not_converged.ipynb"]["automatic_score"] == 50.0
    page = (out / "submissions" / "07_not_converged.ipynb" / "report.html").read_text("utf-8")
    assert 'id="adjustments"' in page and "TA Lee" in page


def test_gradescope_applies_the_late_policy_from_its_metadata(tmp_path):
    submission = tmp_path / "autograder" / "submission"
    nbs.write_notebook(nbs.no_plot(), submission / "hw.ipynb")
    results = tmp_path / "autograder" / "results" / "results.json"
    late = assignment_copy(tmp_path, lambda t: t + LATE)
    grader(
        "gradescope",
        "--submission",
        str(submission),
        "--results",
        str(results),
        "--assignment",
        str(late),
        "--metadata",
        str(FIXTURES / "gradescope_submission_metadata.json"),
        "--lang",
        "en",
    )
    document = json.loads(results.read_text("utf-8"))
    assert document["score"] == 70.0  # 80, and 1 h 30 min late per its created_at
    assert "Automatic score: 80" in document["output"]
    assert "1 h 30 min after the due date" in document["output"]


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


def test_pages_in_chromium(batch, out_copy, chromium, tmp_path):
    (out_copy / "overrides.toml").write_text(OVERRIDES, "utf-8")
    late = assignment_copy(tmp_path, lambda t: t + LATE)
    times = tmp_path / "times.csv"
    times.write_text(TIMES, "utf-8")
    grader(
        "export", str(out_copy), "--format", "html", "--assignment", str(late),
        "--submitted-at", str(times),
    )  # fmt: skip
    page, problems = open_page(chromium, out_copy / "index.html")
    assert problems == [] and page.evaluate(BROKEN_IMAGES) == []
    headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
    assert headings[0] == "검토할 제출"  # the review queue comes first
    queue = page.inner_text("#review")
    for name in ("40_own_solution.ipynb", "43_copied_outputs.ipynb", "17_broken.ipynb"):
        assert name in queue
    page.click("#review a[href='#pair-1']")
    assert page.evaluate("location.hash") == "#pair-1"
    assert page.locator("section.pair").count() >= 2
    assert "(자동 50)" in page.inner_text("#class")
    page.close()
    student, problems = open_page(
        chromium, out_copy / "submissions" / "04_model_scatter.ipynb" / "report.html"
    )
    assert problems == [] and student.evaluate(BROKEN_IMAGES) == []
    assert student.inner_text("#score-value") == "70"
    assert student.inner_text("#automatic-score") == "100"
    assert "30점을 감점합니다" in student.inner_text("#adjustments")
    student.close()
