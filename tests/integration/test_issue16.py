"""What the speed work (issue 16) changed in a kernel, read from the shared batch
(tests/integration/conftest.py): the grading kernel leaves out ipykernel's debugger and
history database and keeps the grader's modules out of the student's imports; the probe
adds its batch-row watcher only to fits that need it, and a later mini-batch fit of the
same model is traced again to get it; figures still reach the notebook as PNG."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_batch import result

pytestmark = pytest.mark.integration


def _folder(batch, name):
    return batch["out"] / "submissions" / result(batch, name)["folder"]


def _fits(batch, name):
    facts = json.loads((_folder(batch, name) / "facts.json").read_text("utf-8"))
    return [r["payload"] for r in facts["records"] if r["kind"] == "fit"]


def _text_outputs(batch, name):
    executed = json.loads((_folder(batch, name) / "executed.ipynb").read_text("utf-8"))
    return [
        "".join(o.get("text", ""))
        for cell in executed["cells"]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream"
    ]


def test_a_later_minibatch_fit_of_the_same_model_records_its_batches(batch):
    first, second = _fits(batch, "46_full_then_minibatch.ipynb")
    assert first["batch_size"] == 100 and second["batch_size"] == 25
    assert first["steps"]["rows"] is None  # full batch: every step holds every row
    rows = second["steps"]["rows"]
    assert len(rows) == 5 * 4  # 5 epochs of 4 batches, each one seen
    for epoch in range(5):
        seen = sorted(i for batch_rows in rows[epoch * 4 : epoch * 4 + 4] for i in batch_rows)
        assert seen == list(range(100)), f"epoch {epoch + 1}"
    r = result(batch, "46_full_then_minibatch.ipynb")
    trained = next(c for c in r["checks"] if c["name"] == "trained")
    assert trained["key"] == "trained.replayed", trained


def test_the_grading_kernel_is_trimmed_frozen_without_onednn_or_the_graders_modules(
    batch,
):
    r = result(batch, "47_kernel_view.ipynb")
    assert r["status"] == "graded" and r["score"] == 100
    report = "".join(_text_outputs(batch, "47_kernel_view.ipynb"))
    assert "DEBUGPY None\n" in report  # imported by nobody: the import was refused
    assert "HISTORY False\n" in report
    # the zygote's gc.freeze(): TensorFlow's heap is skipped; the collector is on again
    # (the pool's parent preloads without it)
    assert "FROZEN True True\n" in report
    assert "ONEDNN False\n" in report  # TF_ENABLE_ONEDNN_OPTS=0 reached the pool's parent
    assert "TRACE None\n" in report  # _warm_line_tables's tracing ended before any cell
    assert "GRADER_MODULES []\n" in report


def test_pooled_kernels_still_show_figures_as_png(batch):
    executed = json.loads((_folder(batch, "03_scalar.ipynb") / "executed.ipynb").read_text("utf-8"))
    kinds = [
        set(o.get("data", {}))
        for cell in executed["cells"]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "display_data"
    ]
    assert any("image/png" in k for k in kinds), kinds
