"""The output contract and the results that carry no score."""

import json
from pathlib import Path

from grader.api import unscored_result
from grader.result import results_document, write_json_atomic
from grader.submission import internal_error_result

CONTRACT = {"submission", "status", "score", "max_score", "beta", "checks", "messages"}


def test_invalid_result_follows_the_contract(exp_decay):
    result = unscored_result(Path("a.ipynb"), exp_decay, "en", "invalid", "the file is empty")
    document = result.to_json()
    assert CONTRACT <= set(document)
    assert document["status"] == "invalid" and document["score"] == 0.0
    assert document["messages"] == ["The file cannot be read as a notebook: the file is empty"]


def test_a_grader_bug_becomes_an_error_status(exp_decay):
    result = internal_error_result(Path("b.ipynb"), exp_decay, "ko", ValueError("boom"))
    assert result.status == "error" and result.extras["internal_error"]
    assert "ValueError: boom" in result.messages[0]


def test_results_are_written_whole(tmp_path, exp_decay):
    document = results_document(
        exp_decay.name,
        [
            unscored_result(Path(n), exp_decay, "en", "invalid", "x").to_json()
            for n in ("b.ipynb", "a.ipynb")
        ],
    )
    path = tmp_path / "results.json"
    write_json_atomic(path, document)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left
    read = json.loads(path.read_text("utf-8"))
    assert [s["submission"] for s in read["submissions"]] == ["a.ipynb", "b.ipynb"]
    assert read["grader_version"] and read["assignment"] == "exp_decay"
