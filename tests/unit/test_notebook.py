"""Loading submissions: v4, v3 upgraded, and every kind of not-a-notebook."""

import os
import re

import pytest

from grader.notebook import (
    InvalidNotebook,
    RefusedSubmission,
    load_notebook,
    read_submission,
    unreadable_key,
)
from tests.notebooks import homework, write_notebook, write_v3_notebook


def test_v4_notebook_loads_with_its_foreign_kernel_name(tmp_path):
    loaded = load_notebook(write_notebook(homework(), tmp_path / "a.ipynb"))
    assert loaded.nb.nbformat == 4
    assert loaded.kernel_name == "py38"
    assert len(loaded.nb.cells) == len(homework())


def test_v3_notebook_is_upgraded(tmp_path):
    loaded = load_notebook(write_v3_notebook(homework(), tmp_path / "old.ipynb"))
    assert loaded.original_version == 3
    assert loaded.nb.nbformat == 4
    assert [c.source for c in loaded.nb.cells] == homework()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"cells": [', "not valid JSON"),
        (b"print('hello')\n", "not valid JSON"),
        (b'{"name": "x"}', "not a Jupyter notebook"),
        (b"[1, 2]", "not a Jupyter notebook"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"nbformat": 4, "nbformat_minor": 5, "cells": 3, "metadata": {}}', "format"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"nbformat": 4, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
    ],
)
def test_not_a_notebook_gets_a_one_line_reason(tmp_path, content, reason, exp_decay):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook) as error:
        load_notebook(path)
    assert reason in str(error.value)
    assert "\n" not in str(error.value)
    # the same reason from the messages, in each language
    exc = error.value
    assert exp_decay.message(exc.key, "en", **exc.params) == str(exc)
    korean = exp_decay.message(exc.key, "ko", **exc.params)
    assert "\n" not in korean and not re.search(r"[A-Za-z]", re.sub(r"`[^`]*`", "", korean))


def test_a_symlink_is_refused_not_followed(tmp_path):
    """A link with a notebook's name (a zip upload can carry one) could name the
    instructor's solution or another student's notebook: refused, never read."""
    solution = write_notebook(homework(), tmp_path / "solution.ipynb")
    link = tmp_path / "submission.ipynb"
    link.symlink_to(solution)
    with pytest.raises(InvalidNotebook) as caught:
        load_notebook(link)
    assert caught.value.key == "invalid.symlink"
    with pytest.raises(RefusedSubmission):
        read_submission(link)
    assert read_submission(solution) == solution.read_bytes()  # a file is read as before


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(RefusedSubmission) as caught:
        read_submission(fifo)  # O_NONBLOCK: no writer, no wait
    assert unreadable_key(caught.value) == "invalid.not_a_file"


def test_a_huge_file_is_refused_after_reading_no_more_than_the_limit(tmp_path):
    big = tmp_path / "big.ipynb"
    big.write_bytes(b"{" + b" " * 2048 + b"}")
    assert read_submission(big, limit=4096) == big.read_bytes()
    with pytest.raises(RefusedSubmission) as caught:
        read_submission(big, limit=1024)
    assert unreadable_key(caught.value) == "invalid.too_large"
    assert "more than" in caught.value.strerror


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_refused_file_gets_an_invalid_result_and_a_page(tmp_path, exp_decay, lang):
    from grader.submission import SubmissionOptions, refused_outcome

    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * 2048)
    with pytest.raises(RefusedSubmission) as caught:
        read_submission(big, limit=1024)
    outcome = refused_outcome(big.name, caught.value, exp_decay, SubmissionOptions(lang=lang))
    result = outcome.result
    assert result.status == "invalid" and result.score == 0
    assert result.extras == {"refused": "invalid.too_large"}
    assert re.search(r"64 `?MiB", result.messages[0]) and "\n" not in result.messages[0]
    assert "report.html" in outcome.artifacts
