"""Exporters from a results document made of saved facts of real runs."""

import csv
import json
from pathlib import Path

import jsonschema
import pytest

from grader.api import judge_facts
from grader.judge import RunSummary
from grader.report import EXPORTERS, ExportOptions, export_all
from grader.report.exporters import canvas_identity
from grader.result import results_document

RUN = RunSummary("completed", None, (), 600.0)
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "gradescope_schema.json").read_text("utf-8")
)


@pytest.fixture
def document(saved_facts, exp_decay):
    names = {
        "01_homework": "김철수, 홍길동_101_9_hw.ipynb",
        "06_not_converged": "lee_202_7_a.ipynb",
        "09_no_plot": "no-id.ipynb",
    }
    results = [
        judge_facts(file, saved_facts(fixture), RUN, exp_decay, lang="ko").to_json()
        for fixture, file in names.items()
    ]
    return results_document(exp_decay.name, results)


def test_every_format_is_registered():
    assert {"html", "csv", "gradescope", "canvas"} <= set(EXPORTERS)


def test_csv_reads_back_with_commas_and_hangul(document, exp_decay, tmp_path):
    export_all(["csv"], document, tmp_path, exp_decay, ExportOptions())
    with (tmp_path / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][:4] == ["submission", "status", "score", "max_score"]
    by_name = {row[0]: row for row in rows[1:]}
    row = by_name["김철수, 홍길동_101_9_hw.ipynb"]
    assert row[1] == "graded" and float(row[2]) == 100.0
    assert float(by_name["lee_202_7_a.ipynb"][2]) == 50.0
    assert "모델" in row[rows[0].index("messages")]  # Korean messages survive the round trip


def test_gradescope_output_follows_the_format(document, exp_decay, tmp_path):
    paths = export_all(["gradescope"], document, tmp_path, exp_decay, ExportOptions())
    assert len(paths) == 3
    for path in paths:
        result = json.loads(path.read_text("utf-8"))
        jsonschema.validate(result, SCHEMA)
        assert result["score"] <= sum(t["score"] for t in result["tests"])
    capped = json.loads((tmp_path / "gradescope" / "lee_202_7_a.json").read_text("utf-8"))
    assert capped["score"] == 50.0
    assert {t["name"]: t["status"] for t in capped["tests"]}["beta"] == "failed"


def test_canvas_csv_takes_ids_from_file_names(document, exp_decay, tmp_path):
    export_all(["canvas"], document, tmp_path, exp_decay, ExportOptions())
    with (tmp_path / "canvas.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert {row[1]: float(row[5]) for row in rows[1:]} == {"101": 100.0, "202": 50.0}
    unmatched = json.loads((tmp_path / "canvas_unmatched.json").read_text("utf-8"))
    assert unmatched["submissions"] == ["no-id.ipynb"]


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("kimcheolsu_12345_678_hw.ipynb", None, ("kimcheolsu", "12345")),
        ("kimcheolsu_late_12345_678_hw.ipynb", None, ("kimcheolsu", "12345")),
        ("hw-2023123456.ipynb", r"-(?P<id>\d+)\.ipynb$", ("", "2023123456")),
        ("hw.ipynb", None, ("", "")),
    ],
)
def test_canvas_identity(name, pattern, expected):
    assert canvas_identity(name, pattern or ExportOptions().canvas_id_pattern) == expected


def test_class_page_lists_everyone(document, exp_decay, tmp_path):
    export_all(["html"], document, tmp_path, exp_decay, ExportOptions(lang="ko"))
    page = (tmp_path / "index.html").read_text("utf-8")
    for submission in document["submissions"]:
        assert f">{submission['submission']}<" in page.replace("&#39;", "'")
    assert "자주 틀린 항목" in page
    failures = page[page.index('id="failures"') :].split("</table>")[0]
    assert "<td>β가 아직 수렴하지 않았습니다</td><td>1</td>" in failures
    assert "not_converged" not in failures
