"""Grading on Dask workers (``--dask local:2``): real Dask, real kernels, nothing mocked.

One small mixed folder is graded once here (``--jobs 2``) and once on two Dask worker
processes (one job each) while a killer watches for two submissions and SIGKILLs
the worker process running them: one is killed the first time only (it must be graded on
the retry), the other every time (it must end as ``error``).  Everything else must come
out as it does locally."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from tests import notebooks as nbs
from tests import semester_notebooks as sn
from tests.integration.conftest import Listener, folder_digest
from tests.integration.processes import foreign_namespace_processes, watched_run

pytestmark = pytest.mark.integration
pytest.importorskip("distributed")

CELL_TIMEOUT_S = 30
KILLED_ONCE = "70_killed_once.ipynb"
KILLS_ITS_WORKER = "71_kills_its_worker.ipynb"


def victim() -> list[str]:
    """The homework with a cell that waits, so the killer finds the kernel running it."""
    cells = nbs.homework()
    cells.insert(3, "import time\ntime.sleep(8)")
    return cells


class Killer(threading.Thread):
    """SIGKILLs the Dask worker process whose kernel runs one of ``times``' files: a
    kernel is found by the file in its working folder, and its worker is the last
    argument of the pool parent's command line, which a forked kernel keeps."""

    def __init__(self, times: dict[str, int]):
        super().__init__(daemon=True)
        self.times = dict(times)  # file name -> how many times to kill its worker
        self.killed: dict[str, list[int]] = {name: [] for name in times}
        self.unexpected: list[list[bytes]] = []
        self.running = True

    def run(self):
        while self.running:
            for pid in foreign_namespace_processes():
                for name, times in self.times.items():
                    try:
                        if not os.path.exists(f"/proc/{pid}/cwd/{name}"):
                            continue
                        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    except OSError:
                        continue
                    if len(argv) < 3 or not argv[1].endswith(b"zygote.py"):
                        self.unexpected.append(argv)  # not a kernel forked by a worker's pool
                        continue
                    worker = int(argv[-2])
                    if worker in self.killed[name] or len(self.killed[name]) >= times:
                        continue
                    try:
                        os.kill(worker, signal.SIGKILL)
                    except OSError:
                        continue
                    self.killed[name].append(worker)
            time.sleep(0.05)


def grade(folder: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(folder),
        "--out",
        str(out),
        "--cell-timeout",
        str(CELL_TIMEOUT_S),
        "--lang",
        "en",
        *extra,
    ]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    common, dask_only = root / "common", root / "dask_only"
    listener = Listener()
    cells = {
        # the file the files probes try to read; seeded: the same β wherever it trains
        "01_homework.ipynb": sn.seeded(nbs.homework(), call=sn.KERAS_SEED),
        "02_wrong_features.ipynb": nbs.wrong_features(),
        "03_raising_cell.ipynb": nbs.raising_cell(),
        "04_kernel_exit.ipynb": nbs.kernel_exit(),
        "30_memory_hog.ipynb": nbs.memory_hog(),
        "31_network.ipynb": nbs.network_probe(listener.port),
    }
    outs = {"local": root / "out_local", "dask": root / "out_dask"}
    folders = {"local": common, "dask": dask_only}
    for run, folder in folders.items():
        for name, notebook in cells.items():
            nbs.write_notebook(notebook, folder / name)
        (folder / "05_broken.ipynb").write_bytes(b'{"cells": [')
        for mark in ("a", "b"):
            probe = nbs.files_probe(str(folder), str(outs[run]), mark)
            nbs.write_notebook(probe, folder / f"32_files_{mark}.ipynb")
    # Dask grades the same files plus the two whose worker is killed
    for name in (KILLED_ONCE, KILLS_ITS_WORKER):
        nbs.write_notebook(victim(), dask_only / name)
    before = {run: folder_digest(folder) for run, folder in folders.items()}

    local = subprocess.run(
        grade(common, outs["local"], "--jobs", "2"), capture_output=True, text=True, timeout=1800
    )
    killer = Killer({KILLED_ONCE: 1, KILLS_ITS_WORKER: 10})
    killer.start()
    dask = watched_run(grade(dask_only, outs["dask"], "--dask", "local:2", "--jobs", "1"))
    killer.running = False
    killer.join()
    listener.close()
    documents = {k: json.loads((o / "results.json").read_text("utf-8")) for k, o in outs.items()}
    return {
        "local": local,
        "dask": dask,
        "killed": (killer.killed, killer.unexpected),
        "outs": outs,
        "files": sorted(p.name for p in dask_only.iterdir()),
        "unchanged": before == {run: folder_digest(f) for run, f in folders.items()},
        "connections": listener.accepted,
        "by_name": {
            k: {s["submission"]: s for s in d["submissions"]} for k, d in documents.items()
        },
    }


def printed(graded, run: str, name: str) -> str:
    path = graded["outs"][run] / "submissions" / name / "executed.ipynb"
    executed = nbformat.read(path, 4)
    return "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )


def test_dask_gives_the_local_results(graded):
    assert graded["local"].returncode == 0, graded["local"].stderr[-2000:]
    assert graded["dask"].returncode == 0, graded["dask"].stderr[-2000:]
    local, dask = graded["by_name"]["local"], graded["by_name"]["dask"]
    assert set(local) <= set(dask)
    for name, here in local.items():
        there = dask[name]
        assert (there["status"], there["score"]) == (here["status"], here["score"]), name
        checks = [(c["name"], c["passed"], c["points"], c["key"]) for c in there["checks"]]
        assert checks == [(c["name"], c["passed"], c["points"], c["key"]) for c in here["checks"]]
        assert [c["ename"] for c in there["failed_cells"]] == [
            c["ename"] for c in here["failed_cells"]
        ]
    # a seeded notebook trains to the same β wherever it runs; the others start at random
    assert dask["01_homework.ipynb"]["beta"] == pytest.approx(local["01_homework.ipynb"]["beta"])
    assert local["01_homework.ipynb"]["score"] == 100
    assert local["05_broken.ipynb"]["status"] == "invalid"
    assert local["04_kernel_exit.ipynb"]["status"] == "error"


def test_a_killed_worker_loses_nothing_and_leaves_no_kernel(graded):
    dask = graded["dask"]
    assert len(graded["killed"][0][KILLED_ONCE]) == 1, graded["killed"]
    entries = json.loads((graded["outs"]["dask"] / "results.json").read_text("utf-8"))
    names = [s["submission"] for s in entries["submissions"]]
    assert sorted(names) == graded["files"]  # every file exactly one result
    for name in names:
        assert (graded["outs"]["dask"] / "submissions" / name / "result.json").is_file()
    retried = graded["by_name"]["dask"][KILLED_ONCE]
    assert (retried["status"], retried["score"]) == ("graded", 100)
    assert dask.kernel_namespaces, "the watch saw no kernel: it would prove nothing"
    assert not dask.kernels_left, dask.kernels_left


def test_a_submission_that_kills_its_worker_every_time_is_an_error(graded):
    assert len(graded["killed"][0][KILLS_ITS_WORKER]) == 2, graded["killed"]
    entry = graded["by_name"]["dask"][KILLS_ITS_WORKER]
    assert entry["status"] == "error" and entry["score"] == 0
    assert "died each of the 2 times it ran it" in entry["messages"][0]


def test_hostile_submissions_get_the_same_verdicts_on_workers(graded):
    for run in ("local", "dask"):
        hog = graded["by_name"][run]["30_memory_hog.ipynb"]
        assert hog["score"] == 100
        assert [c["ename"] for c in hog["failed_cells"]] == ["MemoryError"]
        text = printed(graded, run, "31_network.ipynb")
        assert "LOOPBACK: BLOCKED" in text and "PUBLIC: BLOCKED" in text
        for mark, other in (("a", "b"), ("b", "a")):
            text = printed(graded, run, f"32_files_{mark}.ipynb")
            assert f"mark_{mark}.txt" in text and f"mark_{other}.txt" not in text
            for attempt in ("READ_SUBMISSIONS", "WRITE_SUBMISSIONS", "WRITE_OUT"):
                assert f"{attempt}: BLOCKED" in text, (run, mark, attempt)
    assert graded["connections"] == 0
    assert graded["unchanged"]  # neither submissions folder was written to


def test_the_worker_preload_starts_the_pool_parent_that_the_plugin_takes():
    """``--preload grader.dask_preload``: the worker's pool parent starts with the worker
    (its ``import tensorflow`` overlaps the cluster's start); the plugin takes that very
    process, and it is gone when the cluster is."""
    from distributed import Client, LocalCluster

    from grader.distributed import KernelPool

    settings = dict(n_workers=1, threads_per_worker=1, processes=True, memory_limit=0)
    with (
        LocalCluster(
            dashboard_address=None, preload=["grader.dask_preload"], **settings
        ) as cluster,
        Client(cluster) as client,
    ):
        started = client.run(lambda dask_worker: dask_worker._grader_zygote.process.pid)
        plugin = KernelPool(pooled=True)
        client.register_plugin(plugin, name=plugin.name)
        used = client.run(
            lambda dask_worker: dask_worker.plugins[plugin.name].source.zygote.process.pid
        )
        left = client.run(lambda dask_worker: dask_worker._grader_zygote)
    assert list(used.values()) == list(started.values()), (started, used)
    assert list(left.values()) == [None]  # taken: the worker's teardown leaves it alone
    parent = next(iter(started.values()))
    deadline = time.monotonic() + 20
    while os.path.exists(f"/proc/{parent}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{parent}"), "the pool's parent outlived its worker"
