"""The shared batch: `grader grade` runs once per test session on a folder mixing right,
wrong and broken submissions, with real kernels and real TensorFlow; then once more,
to check that unchanged submissions are reused."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import notebooks as nbs

CELL_TIMEOUT_S = 10
SUBMISSIONS = {
    "01_homework.ipynb": nbs.homework(),
    "02_lecture.ipynb": nbs.lecture_notebook(),
    "03_scalar.ipynb": nbs.scalar_version(),
    "04_model_scatter.ipynb": nbs.sequential_model_scatter(),
    "05_epochs2000.ipynb": nbs.homework(epochs=2000),
    "06_wrong_features.ipynb": nbs.wrong_features(),
    "07_not_converged.ipynb": nbs.not_converged(),
    "08_set_weights_only.ipynb": nbs.set_weights_without_fit(),
    "09_numpy_only.ipynb": nbs.numpy_only(),
    "10_fake_net.ipynb": nbs.fake_net(),
    "11_no_plot.ipynb": nbs.no_plot(),
    "12_data_without_curve.ipynb": nbs.data_without_curve(),
    "13_patched.ipynb": nbs.patched_after_fit(),
    "14_raising_cell.ipynb": nbs.raising_cell(),
    "15_infinite_loop.ipynb": nbs.infinite_loop(),
    "16_kernel_exit.ipynb": nbs.kernel_exit(),
    "숙제_홍길동.ipynb": nbs.homework(),
}
WITH_MARKDOWN = {"숙제_홍길동.ipynb"}
NOT_NOTEBOOKS = {
    "17_broken.ipynb": b'{"cells": [',
    "18_empty.ipynb": b"",
    "19_not_json.ipynb": b"print('hello')\n",
}


def kernel_processes() -> set[int]:
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"ipykernel_launcher" in cmdline.read_bytes():
                found.add(int(cmdline.parent.name))
        except OSError:
            pass
    return found


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, cells in SUBMISSIONS.items():
        nbs.write_notebook(cells, folder / name, with_markdown=name in WITH_MARKDOWN)
    nbs.write_v3_notebook(nbs.homework(), folder / "20_v3.ipynb")
    for name, content in NOT_NOTEBOOKS.items():
        (folder / name).write_bytes(content)
    before = folder_digest(folder)
    kernels_before = kernel_processes()
    out = tmp_path_factory.mktemp("out")
    command = [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(folder),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--cell-timeout",
        str(CELL_TIMEOUT_S),
        "--format",
        "html,csv,gradescope,canvas",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    results = json.loads((out / "results.json").read_text("utf-8"))
    again = subprocess.run(command, capture_output=True, text=True, timeout=900)
    return {
        "completed": completed,
        "again": again,
        "out": out,
        "folder": folder,
        "before": before,
        "after": folder_digest(folder),
        "kernels_before": kernels_before,
        "kernels_after": kernel_processes(),
        "by_name": {s["submission"]: s for s in results["submissions"]},
        "document": results,
    }
