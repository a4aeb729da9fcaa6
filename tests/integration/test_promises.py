"""Promises of the README that need a kernel, on one small folder graded three times
(and one interrupted batch):

1. ``--lang en --memory-limit 0 --allow-network --notebook-timeout 15`` on the warm pool:
   a hung kernel (it ignores interrupts) is killed, a notebook past its limit is a
   ``timeout``, the kernel has no address-space cap and reaches a listener here;
2. the same again, with the class page and grades.csv deleted: every result is reused,
   no kernel starts, and both files are written again;
3. ``--force --memory-limit 5`` without ``--allow-network``: every notebook is graded
   again, the cap is 5 GiB and the listener is not reached.

Every run is watched: no process of any kernel outlives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import notebooks as nbs
from tests.integration.conftest import Listener
from tests.integration.processes import KernelWatch, describe, watched_run

pytestmark = pytest.mark.integration

CELL_TIMEOUT_S, NOTEBOOK_TIMEOUT_S = 8, 15


def probe(port: int) -> list[str]:
    """The homework, then what the kernel was given: its address-space limit, whether it
    reaches this machine's listener, and which process started it."""
    return nbs.homework() + [
        "import resource\nprint('RLIMIT_AS', resource.getrlimit(resource.RLIMIT_AS)[1])",
        nbs.report(
            "LOOPBACK",
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).close()",
        ),
        'import os\nprint("PARENT", open(f"/proc/{os.getppid()}/cmdline", "rb").read())',
    ]


HUNG = nbs.homework()[:2] + [
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
]
SLOW = nbs.homework() + ["import time\ntime.sleep(6)"] * 4  # each under the cell limit


def grade(folder: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out),
        "--jobs", "2", "--lang", "en", "--cell-timeout", str(CELL_TIMEOUT_S),
        "--notebook-timeout", str(NOTEBOOK_TIMEOUT_S), "--format", "html,csv", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("promises")
    out = tmp_path_factory.mktemp("promises_out")
    listener = Listener()
    nbs.write_notebook(probe(listener.port), folder / "kim_101_1_hw.ipynb")
    nbs.write_notebook(HUNG, folder / "hung.ipynb")
    nbs.write_notebook(SLOW, folder / "slow.ipynb")
    runs = {}
    runs["first"] = watched_run(grade(folder, out, "--memory-limit", "0", "--allow-network"))
    runs["first_document"] = json.loads((out / "results.json").read_text("utf-8"))
    runs["first_connections"] = listener.accepted
    runs["first_page"] = printed(out, "kim_101_1_hw.ipynb")
    (out / "index.html").unlink()
    (out / "grades.csv").unlink()
    runs["reuse"] = watched_run(grade(folder, out, "--memory-limit", "0", "--allow-network"))
    runs["reuse_document"] = json.loads((out / "results.json").read_text("utf-8"))
    runs["reuse_files"] = [(out / "index.html").is_file(), (out / "grades.csv").is_file()]
    runs["forced"] = watched_run(grade(folder, out, "--force", "--memory-limit", "5"))
    runs["forced_document"] = json.loads((out / "results.json").read_text("utf-8"))
    runs["forced_page"] = printed(out, "kim_101_1_hw.ipynb")
    listener.close()
    runs["connections"] = listener.accepted
    runs["out"] = out
    return runs


def printed(out: Path, name: str) -> str:
    import nbformat

    executed = nbformat.read(out / "submissions" / name / "executed.ipynb", 4)
    return "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))


def by_name(document: dict) -> dict[str, dict]:
    return {s["submission"]: s for s in document["submissions"]}


def test_every_run_exits_zero_and_leaves_no_process(small):
    for run in ("first", "reuse", "forced"):
        completed = small[run]
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert completed.kernels_left == {}, (run, completed.kernels_left)
    assert small["first"].kernels_started >= 3  # one per kernel, the hung one too
    assert small["forced"].kernels_started >= 3


def test_a_hung_kernel_is_killed(small):
    hung = by_name(small["first_document"])["hung.ipynb"]
    assert hung["status"] == "error"
    assert "stopped answering" in hung["messages"][0], hung["messages"]


def test_notebook_timeout_on_the_pool(small):
    assert "zygote.py" in small["first_page"]  # a forked, pooled kernel
    slow = by_name(small["first_document"])["slow.ipynb"]
    assert slow["status"] == "timeout"
    assert f"limit of {NOTEBOOK_TIMEOUT_S} s" in slow["messages"][0]
    assert slow["beta"] is not None  # the homework's facts before the limit were kept


def test_memory_limit_zero_and_other_values(small):
    assert f"RLIMIT_AS {resource_infinity()}" in small["first_page"]
    assert f"RLIMIT_AS {5 * 1024**3}" in small["forced_page"]


def resource_infinity() -> int:
    """No cap: the kernel keeps the hard limit the grader (started from here) has."""
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)[1]


def test_allow_network_reaches_the_listener_and_its_absence_does_not(small):
    assert "LOOPBACK: OK" in small["first_page"]
    assert small["first_connections"] >= 1
    assert "LOOPBACK: OK" not in small["forced_page"]
    assert small["connections"] == small["first_connections"]  # nothing more arrived


def test_reuse_starts_no_kernel_and_rebuilds_the_class_page(small):
    reuse = small["reuse"]
    assert reuse.stderr.count("(unchanged)") == 3
    assert reuse.kernels_started == 0 and reuse.kernel_namespaces == set()
    assert small["reuse_files"] == [True, True]
    assert small["reuse_document"]["submissions"] == small["first_document"]["submissions"]


def test_force_grades_every_notebook_again(small):
    forced = small["forced"]
    assert "(unchanged)" not in forced.stderr
    assert forced.stderr.count("[") >= 3  # a progress line per notebook
    before, after = by_name(small["first_document"]), by_name(small["forced_document"])
    assert set(after) == set(before)
    for name in after:
        assert after[name]["sha256"] == before[name]["sha256"]  # same files, graded again
        assert after[name]["seconds"] != before[name]["seconds"], name


def test_the_english_messages_reach_the_results(small):
    kim = by_name(small["first_document"])["kim_101_1_hw.ipynb"]
    assert kim["status"] == "graded" and kim["score"] == 100
    assert kim["lang"] == "en" and "homework" in kim["messages"][0].lower()


# -- an interrupted batch --------------------------------------------------------------
def test_ctrl_c_mid_batch_leaves_finished_results_and_no_process(tmp_path):
    """SIGINT to the grader once the first notebook is done (three more are stuck in
    long loops): it exits with 130 and one line, results.json holds the finished
    submission, and no kernel process is left."""
    folder, out = tmp_path / "in", tmp_path / "out"
    nbs.write_notebook(nbs.homework(), folder / "a_homework.ipynb")
    for name in ("b_loop", "c_loop", "d_loop"):
        nbs.write_notebook(nbs.infinite_loop(), folder / f"{name}.ipynb")
    command = [
        sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out),
        "--jobs", "2", "--cell-timeout", "300", "--format", "html,csv",
    ]  # fmt: skip
    grader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = KernelWatch(grader)
    watch.start()
    results = out / "results.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and grader.poll() is None:
        if results.is_file() and json.loads(results.read_text("utf-8") or "{}").get("submissions"):
            break
        time.sleep(0.2)
    time.sleep(1)  # the loops are running
    os.kill(grader.pid, signal.SIGINT)
    stdout, stderr = grader.communicate(timeout=120)
    watch.join()
    left = {pid: describe(pid) for pid in watch.alive()}
    assert grader.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "interrupted" in stderr
    document = json.loads(results.read_text("utf-8"))
    finished = by_name(document)
    assert set(finished) == {"a_homework.ipynb"}
    assert finished["a_homework.ipynb"]["score"] == 100
    own = out / "submissions" / "a_homework.ipynb" / "result.json"
    assert json.loads(own.read_text("utf-8"))["status"] == "graded"
    assert len(watch.inits) >= 2  # the loops' kernels were seen running
    assert left == {}
