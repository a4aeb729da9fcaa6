"""A second batch reuses results only while nothing that decides them has changed."""

import dataclasses
import hashlib
import json

import pytest

from grader.batch import reusable_result, submission_dir
from grader.integrity import seal


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_STATE_DIR", str(tmp_path / "state"))


def previous(tmp_path, exp_decay, **changes):
    notebook = tmp_path / "hw.ipynb"
    notebook.write_text('{"cells": []}', "utf-8")
    from grader import __version__
    from grader.api import unscored_result

    document = unscored_result("hw.ipynb", exp_decay, "ko", "invalid", "x").to_json() | {
        "submission": "hw.ipynb",
        "sha256": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "assignment_digest": exp_decay.digest,
        "grader_version": __version__,
        "lang": "ko",
        "extras": {},
    }
    document.update(changes)
    folder = submission_dir(tmp_path / "out", "hw.ipynb")
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(document), "utf-8")
    seal(folder / "result.json")
    return notebook


def test_unchanged_file_is_reused(tmp_path, exp_decay):
    notebook = previous(tmp_path, exp_decay)
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is not None


def test_edited_file_is_graded_again(tmp_path, exp_decay):
    notebook = previous(tmp_path, exp_decay)
    notebook.write_text('{"cells": [1]}', "utf-8")
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is None


def test_other_language_or_assignment_is_graded_again(tmp_path, exp_decay):
    notebook = previous(tmp_path, exp_decay)
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "en") is None
    changed = dataclasses.replace(exp_decay, digest="another")
    assert reusable_result(notebook, tmp_path / "out", changed, "ko") is None


def test_internal_errors_are_never_reused(tmp_path, exp_decay):
    notebook = previous(tmp_path, exp_decay, extras={"internal_error": True})
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is None


def test_result_edited_on_disk_is_graded_again(tmp_path, exp_decay):
    notebook = previous(tmp_path, exp_decay)
    path = submission_dir(tmp_path / "out", "hw.ipynb") / "result.json"
    forged = json.loads(path.read_text("utf-8")) | {"score": 100.0}
    path.write_text(json.dumps(forged), "utf-8")
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is None


def test_result_without_its_seal_is_graded_again(tmp_path, exp_decay):
    notebook = previous(tmp_path, exp_decay)
    (submission_dir(tmp_path / "out", "hw.ipynb") / "result.json.seal").unlink()
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is None


def test_a_seal_made_with_another_key_does_not_hold(tmp_path, exp_decay, monkeypatch):
    notebook = previous(tmp_path, exp_decay)
    monkeypatch.setenv("GRADER_STATE_DIR", str(tmp_path / "other-state"))
    assert reusable_result(notebook, tmp_path / "out", exp_decay, "ko") is None
