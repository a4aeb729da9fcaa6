"""One real batch: `grader grade` on a folder mixing right, wrong and broken submissions,
with real kernels and real TensorFlow.  The batch runs once; each test reads its
results."""

from __future__ import annotations

import html
import json

import nbformat
import numpy as np
import pytest

from tests.integration.conftest import (
    CELL_TIMEOUT_S,
    HOSTILE,
    NOT_NOTEBOOKS,
    ODD_NAMES,
    SEMESTER,
    SUBMISSIONS,
    SYMLINK,
)

pytestmark = pytest.mark.integration


def result(batch, name):
    return batch["by_name"][name]


def failed(batch, name) -> dict[str, str | None]:
    return {c["name"]: c["diagnosis"] for c in result(batch, name)["checks"] if not c["passed"]}


def printed_weights(batch, name) -> list[np.ndarray]:
    folder = batch["out"] / "submissions" / result(batch, name)["folder"]
    executed = nbformat.read(folder / "executed.ipynb", 4)
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if "WEIGHTS=" in text:
                return [np.array(w) for w in json.loads(text.split("WEIGHTS=")[1])]
    raise AssertionError(f"{name} printed no weights")


def test_batch_exits_zero_and_lists_every_file(batch):
    assert batch["completed"].returncode == 0, batch["completed"].stderr[-2000:]
    expected = set(SUBMISSIONS) | set(NOT_NOTEBOOKS) | set(HOSTILE) | {"20_v3.ipynb", SYMLINK}
    expected |= set(ODD_NAMES.values())
    expected |= set(SEMESTER)
    assert set(batch["by_name"]) == expected
    assert batch["document"]["assignment"] == "exp_decay"
    for name in expected:
        folder = batch["out"] / "submissions" / result(batch, name)["folder"]
        assert (folder / "result.json").is_file()
        assert (folder / "report.html").is_file()
    assert (batch["out"] / "index.html").is_file()


def test_submissions_folder_is_unchanged(batch):
    assert batch["after"] == batch["before"]


def test_no_kernel_outlives_the_batch(batch):
    # found by PID namespace and ancestry, not by name: pool kernels, daemons included
    assert len(batch["kernel_namespaces"]) >= 10
    assert batch["kernels_after"] == {}


@pytest.mark.parametrize(
    "name",
    [
        "01_homework.ipynb",
        "02_lecture.ipynb",
        "03_scalar.ipynb",
        "04_model_scatter.ipynb",
        "05_epochs2000.ipynb",
        "14_raising_cell.ipynb",
        "15_infinite_loop.ipynb",
        "20_v3.ipynb",
        "숙제_홍길동.ipynb",
    ],
)
def test_right_answers_get_full_marks(batch, name):
    r = result(batch, name)
    assert r["status"] == "graded"
    assert failed(batch, name) == {}
    assert r["score"] == r["max_score"] == 100


@pytest.mark.parametrize(
    ("name", "weights_to_beta"),
    [
        ("01_homework.ipynb", lambda w: w[0].reshape(-1)),
        ("02_lecture.ipynb", lambda w: w[0].reshape(-1)),
        ("03_scalar.ipynb", lambda w: [w[1][0], w[0][0, 0]]),
        ("05_epochs2000.ipynb", lambda w: w[0].reshape(-1)),
    ],
)
def test_beta_equals_the_weights_printed_in_the_kernel(batch, name, weights_to_beta):
    expected = np.array(weights_to_beta(printed_weights(batch, name)), dtype=float)
    assert np.allclose(result(batch, name)["beta"], expected, atol=1e-5, rtol=0)


def test_chosen_figure_holds_what_was_plotted(batch, reference):
    from grader.facts import load_facts

    facts = load_facts(batch["out"] / "submissions" / "01_homework.ipynb" / "facts.json")
    figure = next(
        f for f in facts.figures if f.figure == result(batch, "01_homework.ipynb")["figure"]
    )
    data, curve = figure.axes[0].artists
    assert np.allclose(data.x, reference.x) and np.allclose(data.y, reference.y)
    weights = printed_weights(batch, "01_homework.ipynb")[0].reshape(-1)
    assert np.allclose(curve.y, reference.design @ weights, atol=1e-9)
    assert data.marker == "o" and curve.linestyle == "--"


def test_lecture_notebook_grades_the_homework_model(batch):
    r = result(batch, "02_lecture.ipynb")
    assert any("graphviz" in c["evalue"] for c in r["failed_cells"])
    assert r["model"] > 1  # the lecture's models came first
    # each failure names the student's own line, not TensorFlow's (the kernel's plain
    # tracebacks: the line after the deepest "Cell In[n], line k")
    lines = {c["ename"]: c.get("line") for c in r["failed_cells"]}
    assert lines["ModuleNotFoundError"] == "import graphviz"
    assert lines["ValueError"] == "net1.weights"


@pytest.mark.parametrize(
    ("name", "diagnoses", "score"),
    [
        ("06_wrong_features.ipynb", {"beta": "wrong_features"}, None),
        ("07_not_converged.ipynb", {"beta": "not_converged"}, 50),
        ("08_set_weights_only.ipynb", {"trained": "set_by_hand"}, None),
        ("09_numpy_only.ipynb", {"keras": "no_keras"}, None),
        ("10_fake_net.ipynb", {"keras": "fake_net"}, None),
        ("11_no_plot.ipynb", {"plot_data": "no_plot", "plot_curve": "no_plot"}, 80),
        ("12_data_without_curve.ipynb", {"plot_curve": "no_curve"}, 90),
        ("13_patched.ipynb", {"trained": "patched", "beta": "not_trained"}, None),
    ],
)
def test_wrong_answers_are_diagnosed(batch, name, diagnoses, score):
    r = result(batch, name)
    assert r["status"] == "graded"
    found = failed(batch, name)
    for check, diagnosis in diagnoses.items():
        assert found.get(check) == diagnosis, found
    if score is not None:
        assert r["score"] == score
    if "beta" in found:
        assert r["score"] <= r["max_score"] / 2


def test_raising_cell_is_listed(batch):
    cells = result(batch, "14_raising_cell.ipynb")["failed_cells"]
    assert [(c["cell"], c["ename"]) for c in cells] == [(4, "NameError")]


def test_the_failing_line_is_shown_on_the_page(batch):
    """The student's page shows the cell that raised: its line and the message, not the
    traceback."""
    folder = batch["out"] / "submissions" / result(batch, "14_raising_cell.ipynb")["folder"]
    page = html.unescape((folder / "report.html").read_text("utf-8"))
    assert "print(undefined_name)" in page
    assert "NameError" in page and "name 'undefined_name' is not defined" in page
    assert "Traceback" not in page and "most recent call last" not in page


def test_infinite_loop_is_cut_and_the_rest_runs(batch):
    cells = result(batch, "15_infinite_loop.ipynb")["failed_cells"]
    assert [c["cell"] for c in cells] == [4]
    assert f"timed out after {CELL_TIMEOUT_S}" in cells[0]["evalue"]


def test_kernel_death_is_an_error_with_its_reason(batch):
    r = result(batch, "16_kernel_exit.ipynb")
    assert r["status"] == "error"
    assert "kernel died" in r["messages"][0] and "exit code 3" in r["messages"][0]
    assert failed(batch, "16_kernel_exit.ipynb")["ran"] == "kernel_died"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        # the batch grades in Korean
        ("17_broken.ipynb", "`JSON` 형식이 아닙니다 (1번째 줄"),
        ("18_empty.ipynb", "빈 파일입니다"),
        ("19_not_json.ipynb", "`JSON` 형식이 아닙니다 (1번째 줄, 1번째 글자)"),
        (SYMLINK, "심볼릭 링크입니다"),  # not followed: the link's target is never read
    ],
)
def test_files_that_are_not_notebooks_are_invalid(batch, name, reason):
    r = result(batch, name)
    assert r["status"] == "invalid" and r["score"] == 0
    assert reason in r["messages"][0] and "\n" not in r["messages"][0]


def test_cells_are_numbered_as_the_notebook_shows_them(batch):
    # markdown before every code cell: the plot (5th code cell) is the notebook's 10th cell
    messages = result(batch, "숙제_홍길동.ipynb")["messages"]
    assert any("(셀 10)" in m for m in messages), messages


def test_a_second_run_reuses_every_result(batch):
    again = batch["again"]
    assert again.returncode == 0
    assert again.stderr.count("(unchanged)") == len(batch["by_name"])
    rerun = json.loads((batch["out"] / "results.json").read_text("utf-8"))
    assert rerun["submissions"] == batch["document"]["submissions"]


def test_every_format_is_written(batch):
    out = batch["out"]
    assert (out / "grades.csv").is_file() and (out / "canvas.csv").is_file()
    assert len(list((out / "gradescope").glob("*.json"))) == len(batch["by_name"])


def test_messages_are_korean_by_default(batch):
    r = result(batch, "01_homework.ipynb")
    assert "숙제 데이터" in r["messages"][0]


def test_a_fit_on_a_tf_data_pipeline_is_held_for_review_not_called_other_data(batch):
    r = result(batch, "48_tf_data_input.ipynb")
    assert r["status"] == "graded" and r["needs_review"], r["messages"]
    checks = {c["name"]: c for c in r["checks"]}
    assert "Dataset" in checks["keras"]["message"]  # the class the probe saw as x
    assert all(checks[n]["points"] == 0 for n in ("keras", "trained", "beta"))
    assert checks["plot_curve"]["passed"], checks["plot_curve"]["message"]
