"""grader rejudge: every submission judged again from its stored facts and run record,
with the current assignment file, and no process started at all."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

from grader.cli import main
from tests.unit.semester.conftest import INVALID, REPO, assignment_copy

# Runs the CLI with an audit hook that records every attempt to start a process
# (a kernel needs one), then prints what it saw.
NO_PROCESS = """
import sys
started = []
EVENTS = {"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec",
          "os.spawn", "os.system", "pty.spawn"}
sys.addaudithook(lambda event, args: started.append(event) if event in EVENTS else None)
from grader.cli import main
code = main(sys.argv[1:])
print("PROCESSES=" + ",".join(started))
sys.exit(code)
"""


def run_without_processes(*argv: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [sys.executable, "-c", NO_PROCESS, *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "PROCESSES=\n" in completed.stdout  # nothing was started: no kernel
    return completed


def scores(out) -> dict[str, float]:
    document = json.loads((out / "results.json").read_text("utf-8"))
    return {s["submission"]: s["score"] for s in document["submissions"]}


def test_same_assignment_gives_the_same_results(graded_out):
    before = json.loads((graded_out / "results.json").read_text("utf-8"))
    assert main(["rejudge", str(graded_out)]) == 0
    after = json.loads((graded_out / "results.json").read_text("utf-8"))
    assert after["submissions"] == before["submissions"]


def test_changed_points_and_tolerance_rescore_by_hand(graded_out, tmp_path):
    def edit(text: str) -> str:
        text = text.replace("beta = 30", "beta = 40").replace("plot_data = 10", "plot_data = 5")
        text = text.replace("plot_curve = 10", "plot_curve = 5")
        # the tolerance: β passes when its MSE is at most 400 × OLS's
        return text.replace("[scoring]\n", "[scoring]\nbeta_mse_ratio = 400\n")

    changed = assignment_copy(tmp_path, edit)
    completed = run_without_processes("rejudge", str(graded_out), "--assignment", str(changed))
    # by hand: ran 10, keras 20, trained 20, beta 40, plot_data 5, plot_curve 5
    assert scores(graded_out) == {
        "kim_101_1_hw.ipynb": 100.0,  # everything passes
        "lee_202_2_hw.ipynb": 50.0,  # 10+20+20+0+5+0 = 55, capped at half: β fails
        "park_303_3_hw.ipynb": 100.0,  # β's MSE is 312 × OLS's: inside the new tolerance
        "choi_404_4_hw.ipynb": 15.0,  # 10+0+0+0+5+0
        "jung_505_5_hw.ipynb": 90.0,  # 10+20+20+40, no figure
        INVALID: 0.0,
    }
    summary = completed.stdout
    assert "park_303_3_hw.ipynb: 50 → 100" in summary
    assert "beta 0 (beta.not_converged) → 40 (beta.close_enough)" in summary
    assert "jung_505_5_hw.ipynb: 80 → 90" in summary
    assert "choi_404_4_hw.ipynb: 20 → 15" in summary
    assert "lee_202_2_hw.ipynb: 50 → 50" in summary  # same total, other points per check
    assert "judged otherwise: 5 (3 automatic score(s) changed)" in summary
    finals = summary.split("final scores")[1]
    assert "park_303_3_hw.ipynb: 50 → 100" in finals and "kim_101_1_hw" not in finals
    assert "rejudged 5 submission(s)" in summary and "kept as they were" in summary
    own = json.loads(
        (graded_out / "submissions" / "park_303_3_hw.ipynb" / "result.json").read_text("utf-8")
    )
    assert own["score"] == 100.0 and own["max_score"] == 100.0
    page = (graded_out / "submissions" / "park_303_3_hw.ipynb" / "report.html").read_text("utf-8")
    assert '<span id="score-value">100</span>' in page
    assert "index.html" in summary  # the class page is rewritten too


def test_a_folder_without_results_is_a_usage_error(tmp_path, capsys):
    assert main(["rejudge", str(tmp_path)]) == 2
    assert "grade the folder first" in capsys.readouterr().err


def test_a_folder_graded_before_run_records_is_rejudged_from_its_results(graded_out, capsys):
    (graded_out / "submissions" / "kim_101_1_hw.ipynb" / "run.json").unlink()
    before = scores(graded_out)
    assert main(["rejudge", str(graded_out)]) == 0
    assert scores(graded_out) == before
    assert "run summary rebuilt from result.json: kim_101_1_hw.ipynb" in capsys.readouterr().out


def test_rejudged_results_are_sealed_so_grade_reuses_them(graded_out, tmp_path):
    from grader.assignment import load_assignment
    from grader.batch import reusable_result

    changed = assignment_copy(tmp_path, lambda t: t.replace("beta = 30", "beta = 40"))
    assert main(["rejudge", str(graded_out), "--assignment", str(changed)]) == 0
    notebook = tmp_path / "kim_101_1_hw.ipynb"
    notebook.write_bytes(b"kim_101_1_hw.ipynb")  # the digest the fixture's result records
    reused = reusable_result(notebook, graded_out, load_assignment(changed), "en")
    assert reused is not None and reused.max_score == 110.0  # no kernel on the next grade


def test_facts_edited_on_disk_are_not_judged_again(graded_out, capsys):
    facts = graded_out / "submissions" / "choi_404_4_hw.ipynb" / "facts.json"
    facts.write_text(facts.read_text("utf-8") + " ", "utf-8")  # any change at all
    assert main(["rejudge", str(graded_out)]) == 0
    err = capsys.readouterr().err
    assert "not judged again" in err and "choi_404_4_hw.ipynb" in err
    assert "facts.json does not match its seal" in err


def test_unsealed_facts_are_checked_against_the_schema_again(graded_out):
    from grader.semester.rejudge import load_sealed_facts

    facts = graded_out / "submissions" / "kim_101_1_hw.ipynb" / "facts.json"
    assert load_sealed_facts(facts).rejected_records == 0
    document = json.loads(facts.read_text("utf-8"))
    document["records"][0]["kind"] = "forged"  # not a kind the schema knows
    facts.write_text(json.dumps(document), "utf-8")
    (graded_out / "submissions" / "kim_101_1_hw.ipynb" / "facts.json.seal").unlink()
    assert load_sealed_facts(facts).rejected_records == 1


def test_what_reading_the_journal_found_survives_rejudge(graded_out):
    from grader.semester.run_record import load_run_record, save_run_record

    folder = graded_out / "submissions" / "kim_101_1_hw.ipynb"
    record = load_run_record(folder)
    # as the batch records a journal with 3 lines not written by the probe, and a cap
    save_run_record(
        folder, dataclasses.replace(record, rejected_records=3, facts_caps=("journal_bytes",))
    )
    assert main(["rejudge", str(graded_out)]) == 0
    kim = json.loads((graded_out / "results.json").read_text("utf-8"))["submissions"]
    kim = next(s for s in kim if s["submission"] == "kim_101_1_hw.ipynb")
    assert "journal_bytes" in kim["caps"]
    assert kim["needs_review"] and any("3 journal line(s)" in r for r in kim["review"])
