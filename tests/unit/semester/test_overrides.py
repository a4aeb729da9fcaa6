"""Overrides: applied after judging on every export and rejudge, never compounded, shown
beside the automatic score, carried into every format; a wrong name is an error."""

from __future__ import annotations

import csv
import json

import pytest

from grader.cli import main
from grader.semester.adjust import adjust, automatic
from grader.semester.overrides import Override, OverrideError, load_overrides, validate

OVERRIDES = """
[submissions."lee_202_2_hw.ipynb"]
checks = { beta = 15 }
note = "features [1, x] but the method is right: half of beta on appeal"
by = "TA Lee"
at = 2026-11-30T10:00:00+09:00

[submissions."choi_404_4_hw.ipynb"]
total = 35
note = "numpy answer; Keras part waived for this student (medical leave)"
by = "Prof. Kim"

[submissions."jung_505_5_hw.ipynb"]
checks = { plot_data = 10 }
"""


def read(out, name="results.json"):
    return json.loads((out / name).read_text("utf-8"))


def by_name(out):
    return {s["submission"]: s for s in read(out)["submissions"]}


def test_overrides_reach_results_and_every_export(graded_out):
    (graded_out / "overrides.toml").write_text(OVERRIDES, "utf-8")
    formats = "html,csv,gradescope,canvas"
    assert main(["export", str(graded_out), "--format", formats, "--lang", "en"]) == 0
    entries = by_name(graded_out)
    lee = entries["lee_202_2_hw.ipynb"]
    # β decided by hand lifts the cap: 10 + 20 + 20 + 15 + 10 + 0
    assert lee["score"] == 75.0 and lee["automatic_score"] == 50.0
    beta = next(c for c in lee["checks"] if c["name"] == "beta")
    assert beta["points"] == 15.0 and beta["automatic_points"] == 0.0
    assert lee["adjustments"]["override"]["by"] == "TA Lee"
    assert entries["choi_404_4_hw.ipynb"]["score"] == 35.0
    # jung drew no figure: plot_data 0 → 10 gives 10 + 20 + 20 + 30 + 10 + 0
    assert entries["jung_505_5_hw.ipynb"]["score"] == 90.0
    with (graded_out / "canvas.csv").open(encoding="utf-8", newline="") as stream:
        canvas = {row[1]: row[5] for row in list(csv.reader(stream))[1:]}
    assert float(canvas["202"]) == 75.0 and float(canvas["404"]) == 35.0
    gradescope = json.loads((graded_out / "gradescope" / "lee_202_2_hw.json").read_text("utf-8"))
    assert gradescope["score"] == 75.0
    assert {t["name"]: t["score"] for t in gradescope["tests"]}["beta"] == 15.0
    assert "Automatic score: 50" in gradescope["output"]
    assert "half of beta on appeal" in gradescope["output"]
    with (graded_out / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    lee_row = next(r for r in rows if r["submission"] == "lee_202_2_hw.ipynb")
    assert float(lee_row["score"]) == 75 and float(lee_row["automatic_score"]) == 50
    assert float(lee_row["override"]) == 25


def test_exporting_again_does_not_compound(graded_out):
    (graded_out / "overrides.toml").write_text(OVERRIDES, "utf-8")
    for _ in range(3):
        assert main(["export", str(graded_out), "--format", "csv"]) == 0
    assert by_name(graded_out)["lee_202_2_hw.ipynb"]["score"] == 75.0
    assert by_name(graded_out)["choi_404_4_hw.ipynb"]["automatic_score"] == 20.0


def test_overrides_survive_rejudge_and_removing_one_restores_the_judge(graded_out):
    (graded_out / "overrides.toml").write_text(OVERRIDES, "utf-8")
    assert main(["rejudge", str(graded_out)]) == 0
    assert by_name(graded_out)["choi_404_4_hw.ipynb"]["score"] == 35.0
    (graded_out / "overrides.toml").write_text("", "utf-8")
    assert main(["export", str(graded_out), "--format", "csv"]) == 0
    choi = by_name(graded_out)["choi_404_4_hw.ipynb"]
    assert choi["score"] == 20.0 and "adjustments" not in choi
    page = (graded_out / "submissions" / "choi_404_4_hw.ipynb" / "report.html").read_text("utf-8")
    assert 'id="adjustments"' not in page  # the page that showed the override is rewritten


def test_pages_show_the_automatic_score_the_override_and_the_note(graded_out):
    (graded_out / "overrides.toml").write_text(OVERRIDES, "utf-8")
    assert main(["export", str(graded_out), "--format", "html", "--lang", "en"]) == 0
    page = (graded_out / "submissions" / "lee_202_2_hw.ipynb" / "report.html").read_text("utf-8")
    assert '<td id="automatic-score">50</td>' in page
    assert '<span id="score-value">75</span>' in page
    assert "The grader changed the points of β from 0 to 15 (of 30)." in page
    assert "half of beta on appeal" in page and "TA Lee" in page
    index = (graded_out / "index.html").read_text("utf-8")
    assert "(auto 50)" in index
    review = index.split('id="review"')[1].split("</table>")[0]
    assert "jung_505_5_hw.ipynb" in review and "without a note" in review  # no note given
    assert "lee_202_2_hw.ipynb" not in review  # a noted override needs nobody


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[submissions."nobody.ipynb"]\ntotal = 10', '"nobody.ipynb" is not a submission'),
        (
            '[submissions."kim_101_1_hw.ipynb"]\nchecks = { betta = 1 }',
            "no check 'betta' (its checks: ran, keras, trained, beta, plot_data, plot_curve)",
        ),
        ('[submissions."kim_101_1_hw.ipynb"]\nchecks = { beta = 31 }', "beta = 31 is outside"),
        ('[submissions."kim_101_1_hw.ipynb"]\ntotla = 10', "unknown keys ['totla']"),
        ('[submissions."kang_606_6_hw.ipynb"]\nchecks = { ran = 5 }', "none: it was not judged"),
        ("[submissions.x\n", "overrides.toml"),
    ],
)
def test_a_wrong_override_is_a_clear_error(graded_out, capsys, text, expected):
    (graded_out / "overrides.toml").write_text(text, "utf-8")
    assert main(["export", str(graded_out), "--format", "csv"]) == 2
    error = capsys.readouterr().err
    assert expected in error and "Traceback" not in error
    assert error.count("\n") == 1  # one line


def test_override_file_may_live_elsewhere(graded_out, tmp_path):
    elsewhere = tmp_path / "decisions.toml"
    elsewhere.write_text(OVERRIDES, "utf-8")
    assert main(["export", str(graded_out), "--format", "csv", "--overrides", str(elsewhere)]) == 0
    assert by_name(graded_out)["choi_404_4_hw.ipynb"]["score"] == 35.0


def test_a_check_override_keeps_the_cap_unless_beta_is_decided(graded_out, exp_decay):
    lee = automatic(by_name(graded_out)["lee_202_2_hw.ipynb"])
    raised = adjust(lee, exp_decay, Override("lee_202_2_hw.ipynb", checks={"plot_curve": 10}))
    assert raised["score"] == 50.0  # 70 by the points, but β still fails: capped at half
    decided = adjust(lee, exp_decay, Override("lee_202_2_hw.ipynb", checks={"beta": 0}))
    assert decided["score"] == 60.0  # the instructor looked at β: no cap


def test_validation_names_every_problem_at_once(graded_out, exp_decay, tmp_path):
    path = tmp_path / "o.toml"
    path.write_text('[submissions."a"]\ntotal = 1\n[submissions."b"]\ntotal = 2\n', "utf-8")
    entries = by_name(graded_out)
    with pytest.raises(OverrideError) as raised:
        validate(load_overrides(path), entries, exp_decay.max_score, path)
    assert '"a" is not' in str(raised.value) and '"b" is not' in str(raised.value)


def test_grade_stops_before_any_kernel_on_a_wrong_override(tmp_path, capsys):
    from tests import notebooks as nbs

    folder, out = tmp_path / "in", tmp_path / "out"
    nbs.write_notebook(nbs.homework(), folder / "kim_101_1_hw.ipynb")
    out.mkdir()
    (out / "overrides.toml").write_text('[submissions."kim_101_1_hw.ipynbb"]\ntotal = 1\n')
    assert main(["grade", str(folder), "--out", str(out)]) == 2
    assert "not in the submissions folder: 'kim_101_1_hw.ipynbb'" in capsys.readouterr().err
    assert not (out / "results.json").exists()  # nothing was graded
