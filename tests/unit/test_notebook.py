"""Loading submissions: v4, v3 upgraded, and every kind of not-a-notebook."""

import os
import re

import pytest

from grader.notebook import (
    InvalidNotebook,
    NotARegularFile,
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
    with pytest.raises(NotARegularFile):
        read_submission(link)
    assert read_submission(solution) == solution.read_bytes()  # a file is read as before


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile) as caught:
        read_submission(fifo)  # O_NONBLOCK: no writer, no wait
    assert unreadable_key(caught.value) == "invalid.not_a_file"
