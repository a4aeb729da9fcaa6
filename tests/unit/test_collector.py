"""The collector: whatever engine graded a submission, its Outcome lands in OUT/ the same
way, and results.json holds every finished submission once the batch ends."""

from __future__ import annotations

import json

import pytest

from grader.api import unscored_result
from grader.batch import Collector, submission_dir
from grader.integrity import verified_bytes
from grader.submission import Outcome


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_STATE_DIR", str(tmp_path / "state"))


def test_outcomes_land_in_out_and_results_json_ends_whole(tmp_path, exp_decay):
    out = tmp_path / "out"
    seen = []
    collector = Collector(out, exp_decay, 3, lambda done, i, n: seen.append((i, n)))
    collector.flush()
    for name in ("c.ipynb", "a.ipynb", "b.ipynb"):
        result = unscored_result(name, exp_decay, "en", "invalid", "empty")
        collector.graded(Outcome(result, {"report.html": f"<p>{name}</p>"}))
    document = json.loads((out / "results.json").read_text("utf-8"))
    assert [s["submission"] for s in document["submissions"]] == ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert seen == [(1, 3), (2, 3), (3, 3)]
    folder = submission_dir(out, "a.ipynb")
    assert (folder / "report.html").read_text("utf-8") == "<p>a.ipynb</p>"
    assert verified_bytes(folder / "result.json") is not None  # sealed: reuse trusts it
