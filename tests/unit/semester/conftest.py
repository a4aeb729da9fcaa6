"""An output folder as `grader grade` leaves it, made from saved facts of real runs (no
kernel): per submission facts.json, run.json, result.json and report.html; results.json."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from grader.api import judge_facts, unscored_result
from grader.batch import submission_dir
from grader.facts import load_facts
from grader.integrity import seal
from grader.judge import RunSummary
from grader.report.html import write_student_report
from grader.result import results_document, write_json_atomic
from grader.semester.run_record import RunRecord, save_run_record
from tests.conftest import FIXTURES

REPO = Path(__file__).parents[3]
RUN = RunSummary("completed", None, (), 600.0, cell_numbers=(1, 2, 3, 4, 5, 6))
SUBMISSIONS = {  # file name in the batch: saved facts of a real run
    "kim_101_1_hw.ipynb": "01_homework",
    "lee_202_2_hw.ipynb": "05_wrong_features",
    "park_303_3_hw.ipynb": "06_not_converged",
    "choi_404_4_hw.ipynb": "08_numpy_only",
    "jung_505_5_hw.ipynb": "09_no_plot",
}
INVALID = "kang_606_6_hw.ipynb"


def build_out(out: Path, assignment, lang: str = "en") -> Path:
    results = []
    for name, fixture in SUBMISSIONS.items():
        folder = submission_dir(out, name)
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / f"{fixture}.json", folder / "facts.json")
        sha = hashlib.sha256(name.encode()).hexdigest()
        result = judge_facts(
            name, load_facts(folder / "facts.json"), RUN, assignment, lang, "graded", sha, (), 0.9
        )
        save_run_record(folder, RunRecord(RUN, "graded", (), sha, 0.9))
        write_json_atomic(folder / "result.json", result.to_json())
        seal(folder / "result.json")
        write_student_report(
            result, assignment, folder / "report.html", lang, folder / "facts.json"
        )
        results.append(result.to_json())
    invalid = unscored_result(Path(INVALID), assignment, lang, "invalid", "the file is empty")
    write_json_atomic(submission_dir(out, INVALID) / "result.json", invalid.to_json())
    results.append(invalid.to_json())
    write_json_atomic(out / "results.json", results_document(assignment.name, results))
    return out


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    """The seals' key in the test's own folder, not in the home folder."""
    monkeypatch.setenv("GRADER_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def graded_out(tmp_path, exp_decay):
    return build_out(tmp_path / "out", exp_decay)


def assignment_copy(tmp_path: Path, edit) -> Path:
    """A copy of exp_decay's assignment file (with the shared messages beside it, as the
    loader expects), changed by ``edit(text) -> text``."""
    folder = tmp_path / "assignments" / "exp_decay"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "assignments" / "messages.toml", tmp_path / "assignments")
    source = (REPO / "assignments" / "exp_decay" / "assignment.toml").read_text("utf-8")
    path = folder / "assignment.toml"
    path.write_text(edit(source), "utf-8")
    return path
