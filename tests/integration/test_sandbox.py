"""One test per threat: hostile notebooks graded in the shared batch beside correct ones
(tests/integration/conftest.py).  Each asserts what the hostile submission got and that
the rest of the batch, the machine and the submissions folder are unharmed."""

from __future__ import annotations

import nbformat
import pytest

from tests.integration.test_batch import failed, result

pytestmark = pytest.mark.integration


def printed(batch, name: str) -> str:
    executed = nbformat.read(batch["out"] / "submissions" / name / "executed.ipynb", 4)
    return "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )


def test_memory_hog_hits_the_cap_and_keeps_its_grade(batch):
    r = result(batch, "30_memory_hog.ipynb")
    assert r["status"] == "graded" and r["score"] == 100
    assert [c["ename"] for c in r["failed_cells"]] == ["MemoryError"]
    ran = next(c for c in r["checks"] if c["name"] == "ran")
    assert "메모리 제한(4기가바이트)" in ran["message"]  # the batch grades in Korean


def test_no_network_for_student_code(batch):
    text = printed(batch, "31_network.ipynb")
    assert "LOOPBACK: BLOCKED" in text and "PUBLIC: BLOCKED" in text
    assert batch["connections"] == 0
    assert result(batch, "31_network.ipynb")["score"] == 100


def test_other_folders_are_hidden_and_untouched(batch):
    for mark, other in (("a", "b"), ("b", "a")):
        text = printed(batch, f"32_files_{mark}.ipynb")
        assert f"mark_{mark}.txt" in text and f"mark_{other}.txt" not in text
        assert "READ_SUBMISSIONS: BLOCKED" in text
        assert "WRITE_SUBMISSIONS: BLOCKED" in text
        assert "WRITE_OUT: BLOCKED" in text
        assert "UP: ['box']" in text  # no other submission's scratch folder, no journal
        assert result(batch, f"32_files_{mark}.ipynb")["score"] == 100
    assert batch["after"] == batch["before"]


def test_megabytes_of_output_are_cut(batch):
    r = result(batch, "33_big_output.ipynb")
    assert r["score"] == 100
    assert any("1048576" in m for m in r["messages"])
    path = batch["out"] / "submissions" / "33_big_output.ipynb" / "executed.ipynb"
    assert path.stat().st_size < 3 * 1024 * 1024
    assert "output truncated by the grader" in path.read_text("utf-8")


def test_tampering_earns_nothing(batch):
    r = result(batch, "34_tampering.ipynb")
    assert failed(batch, "34_tampering.ipynb")["keras"] in ("no_keras", "fake_net", "needs_review")
    assert r["needs_review"]  # lines in its journal that the probe did not write
    assert r["score"] <= 20  # ran and plot_data only: what it really did
    assert r["beta"] is None


def test_overriding_keras_and_hooks_earn_no_beta(batch):
    found = failed(batch, "35_overriding_keras.ipynb")
    assert found.get("trained") in ("patched", "needs_review")
    assert "beta" in found
    assert result(batch, "35_overriding_keras.ipynb")["score"] <= 50


def test_correct_submissions_in_the_same_batch_are_unharmed(batch):
    for name in ("01_homework.ipynb", "02_lecture.ipynb", "숙제_홍길동.ipynb"):
        assert result(batch, name)["score"] == 100
