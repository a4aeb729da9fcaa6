"""Finding the student's notebook file and telling whether it is saved: pure functions
over what the front end gave the kernel, on real files."""

from __future__ import annotations

import json
import os
import sys
import time
import types

import nbformat
import pytest

from grader.inline.locate import (
    ExecutionLog,
    Located,
    from_argument,
    from_colab,
    from_session,
    last_homework_cell,
    staleness,
)


def notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def test_jupyter_session_path_absolute_relative_or_bare(tmp_path):
    path = notebook(tmp_path / "sub" / "숙제.ipynb", "x = 1")
    cwd = tmp_path / "sub"  # the kernel starts in the notebook's folder
    for named in (str(path), "sub/숙제.ipynb", "숙제.ipynb"):
        found = from_session({"__session__": named}, {}, cwd)
        assert found.path == path.resolve() and found.source == "jupyter", named
    from_env = from_session({}, {"JPY_SESSION_NAME": "sub/숙제.ipynb"}, cwd)
    assert from_env.path == path.resolve()
    assert from_env.saved_at == path.stat().st_mtime


def test_vscode_path_wins_and_nothing_found_says_where_it_looked(tmp_path):
    path = notebook(tmp_path / "hw.ipynb", "x = 1")
    found = from_session(
        {"__vsc_ipynb_file__": str(path), "__session__": "other.ipynb"}, {}, tmp_path
    )
    assert found.source == "vscode" and found.path == path.resolve()
    missing = from_session({"__session__": "renamed.ipynb"}, {}, tmp_path)
    assert missing.path is None and missing.tried == ("renamed.ipynb",)
    assert from_session({}, {}, tmp_path).path is None


def test_an_argument_that_does_not_exist(tmp_path):
    assert from_argument("nope.ipynb", tmp_path).path is None
    path = notebook(tmp_path / "hw.ipynb", "x = 1")
    assert from_argument("hw.ipynb", tmp_path).path == path.resolve()


def test_colab_hands_over_the_page_as_json(tmp_path, monkeypatch):
    """Colab's own module is not here; a stand-in answers its get_ipynb request."""
    page = json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[])))
    asked = []

    def blocking_request(kind, request="", timeout_sec=None):
        asked.append(kind)
        return {"ipynb": page}

    message = types.ModuleType("google.colab._message")
    message.blocking_request = blocking_request
    colab = types.ModuleType("google.colab")
    colab._message = message
    google = types.ModuleType("google")
    google.colab = colab
    for name, module in (
        ("google", google),
        ("google.colab", colab),
        ("google.colab._message", message),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    found = from_colab(tmp_path)
    assert asked == ["get_ipynb"] and found.source == "colab"
    assert json.loads(found.path.read_text("utf-8")) == page


def test_outside_colab_there_is_no_colab(tmp_path):
    if "google.colab" in sys.modules:
        pytest.skip("running inside Colab")
    assert from_colab(tmp_path) is None


def test_a_file_older_than_the_last_cell_is_stale(tmp_path):
    path = notebook(tmp_path / "hw.ipynb", "x = 1", "y = 2")
    saved = Located(path, "jupyter", path.stat().st_mtime)
    log = ExecutionLog()
    log.record("y = 2", path.stat().st_mtime - 5)
    assert staleness(saved, log, None) is None
    log.record("%load_ext grader", time.time() + 60)  # the grader's own cells do not count
    assert staleness(saved, log, None) is None
    log.record("y = 2", path.stat().st_mtime + 5)
    assert staleness(saved, log, None)[0] == "time"


def test_a_file_without_the_last_cells_code_is_stale(tmp_path):
    path = notebook(tmp_path / "hw.ipynb", "x = 1", "y = 2")
    saved = Located(path, "jupyter", path.stat().st_mtime)
    history = ["", "x = 1", "y = 2", "%load_ext grader", "%grade"]
    assert last_homework_cell(history) == "y = 2"
    assert staleness(saved, ExecutionLog(), last_homework_cell(history)) is None
    edited = ["", "x = 1", "y = 3", "%grade"]
    assert staleness(saved, ExecutionLog(), last_homework_cell(edited)) == ("content", None)
    os.utime(path, (0, 0))
    assert staleness(Located(path, "colab", 0.0), ExecutionLog(), "z") is None


def test_grade_does_nothing_inside_a_kernel_the_grader_runs(tmp_path, monkeypatch, capsys):
    """The saved notebook holds its own %grade cell; graded, it must not grade again."""
    from grader.inline import magic

    path = notebook(tmp_path / "hw.ipynb", "x = 1", "%grade")
    monkeypatch.setitem(sys.modules, magic.PROBE_MODULE, types.ModuleType(magic.PROBE_MODULE))
    started = time.monotonic()
    assert magic.check(path) is None  # without the guard: a real grading and a report
    assert time.monotonic() - started < 1 and capsys.readouterr() == ("", "")
