"""The warm pool and plain kernels grade the same notebooks the same way, and state one
submission changes never reaches the next."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from grader.run.environment import kernel_environment
from tests import notebooks as nbs
from tests.integration.processes import watched_run

pytestmark = pytest.mark.integration

NOTEBOOKS = {
    "a_homework.ipynb": nbs.homework(),
    "b_kernel_exit.ipynb": nbs.kernel_exit(),
    "c_infinite_loop.ipynb": nbs.infinite_loop(),
    "d_lecture.ipynb": nbs.lecture_notebook(),
    "g1_polluter.ipynb": nbs.global_state_polluter(),
    "g2_detector.ipynb": nbs.global_state_detector(),
    "s_seeded_minibatch.ipynb": nbs.seeded_minibatch(),
}


def comparable(submission: dict) -> dict:
    """What must not depend on how the kernel was started (β itself is random: Keras
    starts from a random Glorot draw in every kernel)."""
    return {
        "status": submission["status"],
        "score": submission["score"],
        "checks": [(c["name"], c["passed"], c["diagnosis"]) for c in submission["checks"]],
        "failed_cells": [(c["cell"], c["ename"]) for c in submission["failed_cells"]],
        "model": submission["model"],
        "figure": submission["figure"],
    }


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pool_submissions")
    for name, cells in NOTEBOOKS.items():
        nbs.write_notebook(cells, folder / name)
    runs = {}
    for mode, extra in (("plain", ["--no-pool"]), ("pool", [])):
        out = tmp_path_factory.mktemp(f"out_{mode}")
        completed = watched_run(
            [
                sys.executable,
                "-m",
                "grader",
                "grade",
                str(folder),
                "--out",
                str(out),
                "--jobs",
                "1",
                "--cell-timeout",
                "10",
                "--format",
                "csv",
                *extra,
            ],
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        runs[mode] = out
        runs[f"{mode}_run"] = completed
    return runs


def results(out) -> dict:
    document = json.loads((out / "results.json").read_text("utf-8"))
    return {s["submission"]: s for s in document["submissions"]}


def test_pool_and_plain_kernels_agree(both):
    plain, pool = results(both["plain"]), results(both["pool"])
    assert set(plain) == set(pool) == set(NOTEBOOKS)
    for name in NOTEBOOKS:
        assert comparable(pool[name]) == comparable(plain[name]), name
    assert pool["b_kernel_exit.ipynb"]["status"] == "error"
    assert "exit code 3" in pool["b_kernel_exit.ipynb"]["messages"][0]
    assert pool["c_infinite_loop.ipynb"]["failed_cells"][0]["ename"] == "CellTimeoutError"


@pytest.mark.parametrize("mode", ["plain", "pool"])
def test_no_process_outlives_the_batch(both, mode):
    """Found by PID namespace and ancestry (a forked kernel keeps the pool parent's command
    line): every kernel was seen, the one stuck in a loop and the one that exited too, and
    none of their processes is alive afterwards."""
    run = both[f"{mode}_run"]
    assert run.kernels_started >= len(NOTEBOOKS) - 1, run.kernels_started
    assert run.kernels_left == {}


def printed(out, name: str) -> str:
    executed = nbformat.read(out / "submissions" / name / "executed.ipynb", 4)
    return "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))


def test_pool_kernels_are_forked_from_the_warm_parent(both):
    assert "zygote.py" in printed(both["pool"], "g2_detector.ipynb")
    assert "zygote.py" not in printed(both["plain"], "g2_detector.ipynb")


def test_keras_batches_are_the_same_without_autotuning(both, tmp_path):
    """The probe turns tf.data's autotuning off for Keras's own array pipelines (its
    tuning thread can keep a finished fit waiting): with a fixed seed and shuffled
    mini-batches, both kernels end on exactly the weights plain TensorFlow gives."""
    script = tmp_path / "plain.py"
    script.write_text("\n".join([nbs.IMPORTS, nbs.DATA, nbs.SEEDED_MINIBATCH]), encoding="utf-8")
    env = {**os.environ, **kernel_environment()}
    plain_tf = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert plain_tf.returncode == 0, plain_tf.stderr[-2000:]
    assert "PATCHED False" in plain_tf.stdout  # no probe: Keras as shipped
    expected = next(line for line in plain_tf.stdout.splitlines() if line.startswith("SEEDED"))
    for mode in ("plain", "pool"):
        text = printed(both[mode], "s_seeded_minibatch.ipynb")
        assert "PATCHED True" in text, mode
        assert expected in text.splitlines(), (mode, expected, text)


@pytest.mark.parametrize("mode", ["plain", "pool"])
def test_global_state_does_not_leak(both, mode):
    assert "STATE 1.5 float32 False" in printed(both[mode], "g2_detector.ipynb")
