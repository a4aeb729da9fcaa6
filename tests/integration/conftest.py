"""The shared batch: `grader grade` runs once per test session on a folder mixing right,
wrong and broken submissions, with real kernels and real TensorFlow; then once more,
to check that unchanged submissions are reused."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests import notebooks as nbs
from tests import semester_notebooks as sn
from tests.integration.processes import watched_run

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
    # hostile submissions, graded in the same batch as the others
    "30_memory_hog.ipynb": nbs.memory_hog(),
    "33_big_output.ipynb": nbs.big_output(),
    "34_tampering.ipynb": nbs.tampering(),
    "35_overriding_keras.ipynb": nbs.overriding_keras(),
    "36_overriding_fit.ipynb": nbs.overriding_fit(),
    # issue 10: honest variants (full marks) ...
    "40_minibatch_default.ipynb": nbs.minibatch_default(),
    "41_momentum.ipynb": nbs.momentum(),
    "42_adam.ipynb": nbs.adam(),
    "43_rmsprop_minibatch.ipynb": nbs.rmsprop_minibatch(),
    "44_seeded.ipynb": nbs.seeded(),
    "45_logging_callbacks.ipynb": nbs.logging_callbacks(),
    "46_full_then_minibatch.ipynb": nbs.full_then_minibatch(),
    "47_kernel_view.ipynb": nbs.kernel_view(),
    "48_tf_data_input.ipynb": nbs.tf_data_input(),
    "49_keras3.ipynb": nbs.keras3(),
    # ... cheating (at most 50, or held for review) ...
    "50_ols_start.ipynb": nbs.ols_start(),
    "51_weight_writing_callback.ipynb": nbs.weight_writing_callback(),
    "52_optimizer_subclass.ipynb": nbs.optimizer_subclass(),
    "53_closure_swap.ipynb": nbs.closure_swap(),
    "54_module_swap.ipynb": nbs.module_swap(),
    "55_forged_via_gc.ipynb": nbs.forged_via_gc(),
    "56_forged_via_proc_fd.ipynb": nbs.forged_via_proc_fd(),
    "57_rewritten_on_train_end.ipynb": nbs.rewritten_on_train_end(),
    "58_week5_lecture.ipynb": nbs.week5_lecture(),
    # ... and inputs that must not break the batch
    "60_diverging.ipynb": nbs.diverging(),
    "61_loud_errors_and_displays.ipynb": nbs.loud_errors_and_displays(),
    "62_many_loud_cells.ipynb": nbs.many_loud_cells(),
    "63_huge_figures.ipynb": nbs.huge_figures(),
}
# file names as zip tools write them: raw bytes -> the name results.json shows
ODD_NAMES = {
    "숙제_김철수.ipynb".encode("cp949"): "숙제_김철수.ipynb",
    b"\xff\xfe_homework.ipynb": "\ufffd\ufffd_homework.ipynb",
    b"a b'\"<>&;|.ipynb": "a b'\"<>&;|.ipynb",
    b"-rf.ipynb": "-rf.ipynb",
    ("긴이름" * 25 + ".ipynb").encode(): "긴이름" * 25 + ".ipynb",
}
# the similarity report's cases: a disguised copy, a file copied with its saved outputs,
# and two honest notebooks that set the same TensorFlow seed (the same start, no pair)
_SAVED = {4: [sn.result(sn.HISTORY)], 5: [sn.result(sn.WEIGHTS, 2)]}
SEMESTER = {
    "40_own_solution.ipynb": sn.notebook(sn.own_solution()),
    "41_disguised_copy.ipynb": sn.notebook(
        sn.renamed_without_comments(sn.own_solution(), sn.COPY_RENAMES)
    ),
    "42_saved_outputs.ipynb": sn.notebook(sn.honest(3), _SAVED),
    "43_copied_outputs.ipynb": sn.notebook(sn.honest(4), _SAVED),
    "44_seeded_a.ipynb": sn.notebook(
        sn.seeded(nbs.homework()[:4], call=sn.KERAS_SEED) + [sn.SEEDED_PLOTS[0]],
        {3: [sn.result(sn.WEIGHTS)]},
    ),
    "45_seeded_b.ipynb": sn.notebook(
        sn.seeded(nbs.homework()[:4], call=sn.KERAS_SEED) + [sn.SEEDED_PLOTS[1]],
        {3: [sn.result(sn.WEIGHTS)]},
    ),
}
# made at run time: they name this run's listener port and folders
HOSTILE = ("31_network.ipynb", "32_files_a.ipynb", "32_files_b.ipynb")
WITH_MARKDOWN = {"숙제_홍길동.ipynb"}
# a link with a notebook's name, to a notebook outside the folder (say, the solution): refused
SYMLINK = "16_symlink.ipynb"

NOT_NOTEBOOKS = {
    "17_broken.ipynb": b'{"cells": [',
    "18_empty.ipynb": b"",
    "19_not_json.ipynb": b"print('hello')\n",
}


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.socket.close()


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    listener = Listener()
    nbs.write_notebook(nbs.network_probe(listener.port), folder / "31_network.ipynb")
    for mark in ("a", "b"):
        nbs.write_notebook(
            nbs.files_probe(str(folder), str(out), mark), folder / f"32_files_{mark}.ipynb"
        )
    for name, cells in SUBMISSIONS.items():
        nbs.write_notebook(cells, folder / name, with_markdown=name in WITH_MARKDOWN)
    for name, notebook in SEMESTER.items():
        sn.write(notebook, folder / name)
    nbs.write_v3_notebook(nbs.homework(), folder / "20_v3.ipynb")
    for raw in ODD_NAMES:
        nbs.write_notebook(nbs.homework(), folder / os.fsdecode(raw))
    for name, content in NOT_NOTEBOOKS.items():
        (folder / name).write_bytes(content)
    elsewhere = tmp_path_factory.mktemp("instructor")
    (folder / SYMLINK).symlink_to(nbs.write_notebook(nbs.homework(), elsewhere / "solution.ipynb"))
    before = folder_digest(folder)
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
    completed = watched_run(command)
    results = json.loads((out / "results.json").read_text("utf-8"))
    again = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    listener.close()
    return {
        "completed": completed,
        "again": again,
        "out": out,
        "folder": folder,
        "before": before,
        "after": folder_digest(folder),
        "kernel_namespaces": completed.kernel_namespaces,
        "kernels_after": completed.kernels_left,
        "connections": listener.accepted,
        "by_name": {s["submission"]: s for s in results["submissions"]},
        "document": results,
    }
