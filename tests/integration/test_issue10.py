"""Full marks only for real training (issue 10), read from the shared batch
(tests/integration/conftest.py): honest variants keep 100, each cheating case scores at
most 50 or is held for an instructor with its points withheld, and the odd names, NaN
and huge outputs leave a complete, strict results.json."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import ODD_NAMES
from tests.integration.test_batch import failed, result

pytestmark = pytest.mark.integration

WITHHELD = ("keras", "trained", "beta")


def strict_load(path):
    def refuse(name):
        raise ValueError(f"{name} in {path}")

    return json.loads(path.read_text("utf-8"), parse_constant=refuse)


def folder(batch, name):
    return batch["out"] / "submissions" / result(batch, name)["folder"]


@pytest.mark.parametrize(
    "name",
    [
        "40_minibatch_default.ipynb",
        "41_momentum.ipynb",
        "42_adam.ipynb",
        "43_rmsprop_minibatch.ipynb",
        "44_seeded.ipynb",
        "45_logging_callbacks.ipynb",
        "49_keras3.ipynb",
        "02_lecture.ipynb",
    ],
)
def test_honest_trainings_keep_full_marks(batch, name):
    r = result(batch, name)
    assert failed(batch, name) == {} and r["score"] == 100 and not r["needs_review"]
    trained = next(c for c in r["checks"] if c["name"] == "trained")
    assert trained["key"] == "trained.replayed"


@pytest.mark.parametrize(
    ("name", "diagnosis"),
    [
        ("50_ols_start.ipynb", "hand_set_start"),
        ("51_weight_writing_callback.ipynb", "weights_written"),
        ("52_optimizer_subclass.ipynb", "foreign_optimizer"),
    ],
)
def test_cheating_trainings_fail_trained(batch, name, diagnosis):
    r = result(batch, name)
    assert failed(batch, name)["trained"] == diagnosis
    assert r["score"] <= 50


def test_the_ols_start_message_says_the_weights_were_set_by_hand(batch):
    trained = next(
        c for c in result(batch, "50_ols_start.ipynb")["checks"] if c["name"] == "trained"
    )
    assert "손으로 넣은 가중치" in trained["message"]


@pytest.mark.parametrize(
    "name",
    [
        "53_closure_swap.ipynb",
        "54_module_swap.ipynb",
        "55_forged_via_gc.ipynb",
        "56_forged_via_proc_fd.ipynb",
    ],
)
def test_tampering_is_held_for_review_with_points_withheld(batch, name):
    r = result(batch, name)
    assert r["needs_review"] and r["review"]
    found = failed(batch, name)
    assert all(found.get(check) == "needs_review" for check in WITHHELD)
    assert r["score"] <= 50
    page = (folder(batch, name) / "report.html").read_text("utf-8")
    assert 'id="needs-review"' in page
    index = (batch["out"] / "index.html").read_text("utf-8")
    assert index.count("status-review") >= 4


def test_the_evidence_names_what_was_done(batch):
    def review(name):
        return " ".join(result(batch, name)["review"])

    assert "gc.get_objects" in review("55_forged_via_gc.ipynb")
    assert "/proc/self/fd/" in review("56_forged_via_proc_fd.ipynb")
    assert "sys.modules" in review("54_module_swap.ipynb")
    assert "probe_altered" in review("53_closure_swap.ipynb")


@pytest.mark.parametrize("name", ["57_rewritten_on_train_end.ipynb", "58_week5_lecture.ipynb"])
def test_no_fit_on_the_homework_data_earns_only_ran_and_the_plot(batch, name):
    r = result(batch, name)
    earned = {c["name"] for c in r["checks"] if c["passed"]}
    assert earned <= {"ran", "plot_data", "plot_curve"}
    assert failed(batch, name)["beta"] == "not_on_homework_data"
    assert r["beta"] is None


def test_results_are_strict_json_everywhere(batch):
    strict_load(batch["out"] / "results.json")
    for path in (batch["out"] / "submissions").glob("*/*.json"):
        strict_load(path)
    for path in (batch["out"] / "gradescope").glob("*.json"):
        strict_load(path)


def test_a_diverging_training_is_null_with_a_message(batch):
    r = result(batch, "60_diverging.ipynb")
    assert r["status"] == "graded" and r["beta"] is None
    assert failed(batch, "60_diverging.ipynb")["beta"] == "diverged"
    assert None in r["extras"]["loss_history"]
    assert r["score"] <= 50


def test_odd_file_names_get_results_and_safe_folders(batch):
    for shown in ODD_NAMES.values():
        r = result(batch, shown)
        assert r["status"] == "graded" and r["score"] == 100, shown
        assert (folder(batch, shown) / "report.html").is_file()
        assert "/" not in r["folder"] and not r["folder"].startswith((".", "-"))


def test_every_output_kind_counts_against_the_caps(batch):
    r = result(batch, "61_loud_errors_and_displays.ipynb")
    assert "output_per_cell" in r["caps"] and r["score"] == 100
    executed = folder(batch, "61_loud_errors_and_displays.ipynb") / "executed.ipynb"
    assert executed.stat().st_size < 4 * 1024 * 1024


def test_the_notebook_total_is_capped(batch):
    r = result(batch, "62_many_loud_cells.ipynb")
    assert "output_per_notebook" in r["caps"] and r["score"] == 100
    executed = folder(batch, "62_many_loud_cells.ipynb") / "executed.ipynb"
    assert executed.stat().st_size < 36 * 1024 * 1024


def test_huge_figures_are_capped_by_the_probe(batch):
    r = result(batch, "63_huge_figures.ipynb")
    assert {"lines_per_figure", "points_per_line"} <= set(r["caps"])
    assert r["score"] == 100
    assert (folder(batch, "63_huge_figures.ipynb") / "facts.json").stat().st_size < 16 * 1024**2
    assert r["seconds"] < 120
