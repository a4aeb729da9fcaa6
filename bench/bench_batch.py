"""Benchmark: the warm pool against plain kernels and against plain nbclient.

Grades K copies of the homework notebook with `grader grade` (warm pool, on Dask with
`--dask local:J` and one job per worker (the same J slots), then `--no-pool`), executes
the same notebooks with plain nbclient one after another (as nbgrader's autograde does,
no grading at all), grades the lecture notebook with the
homework at its end, and times `grader check` from a cold start.  Prints seconds per
submission, the ratios and the peak memory (proportional set size of the grader and
every process under it, sampled in a second run: sampling costs CPU, so the timed runs
are not sampled).  Not a test: its numbers go in the README.

    .venv/bin/python bench/bench_batch.py [--copies 24] [--jobs 2] [--dask-only]

``--dask-only``: the warm pool here and on Dask, nothing else (Dask's overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from grader.run.kernel import OwnInterpreterKernelManager, kernel_environment  # noqa: E402
from tests import notebooks as nbs  # noqa: E402


def _children(pid: int) -> list[int]:
    """Children by their PPid (/proc/<pid>/task/*/children is not in every kernel)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nPPid:\t{pid}\n" in status.read_text():
                found.append(int(status.parent.name))
        except OSError:
            pass
    return found


def _tree_pss_bytes(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        stack += _children(pid)
    return total


def timed(command: list[str], sample: bool = False) -> tuple[float, int]:
    """Seconds, and with ``sample`` the peak memory of the command's whole process tree
    (sampling reads every process's smaps_rollup five times a second, which costs CPU:
    the memory is measured in a run of its own, not in the one that is timed)."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0

    def sampler():
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, _tree_pss_bytes(process.pid))
            time.sleep(0.2)

    thread = threading.Thread(target=sampler)
    if sample:
        thread.start()
    process.wait()
    if sample:
        thread.join()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{command} exited {process.returncode}")
    return time.monotonic() - started, peak


def plain_nbclient(paths: list[Path]) -> float:
    """Execute each notebook in a fresh kernel, one after another; no judging."""
    os.environ.update(kernel_environment())
    started = time.monotonic()
    for path in paths:
        client = NotebookClient(
            nbformat.read(path, 4),
            kernel_name="python3",
            kernel_manager_class=OwnInterpreterKernelManager,
            allow_errors=True,
            timeout=600,
        )
        client.execute(cwd=str(path.parent))
    return time.monotonic() - started


def grade_command(folder: Path, out: Path, jobs: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(folder),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--force",
        *extra,
    ]


def grade(folder: Path, out: Path, jobs: int, *extra: str) -> tuple[float, int]:
    """Seconds of one timed run, and the peak memory of another run of the same."""
    command = grade_command(folder, out, jobs, *extra)
    seconds, _ = timed(command)
    _, peak = timed(command, sample=True)
    return seconds, peak


def scores(out: Path) -> dict:
    document = json.loads((out / "results.json").read_text("utf-8"))
    return {
        s["submission"]: (s["status"], s["score"], [c["passed"] for c in s["checks"]])
        for s in document["submissions"]
    }


PHASES = ("kernel_ready", "cells", "shutdown", "facts", "judge")


def phases(out: Path) -> dict[str, float]:
    """Mean seconds per phase over the submissions of a graded folder (from run.json)."""
    records = [
        json.loads(p.read_text("utf-8")).get("phases", {})
        for p in (out / "submissions").glob("*/run.json")
    ]
    return {name: sum(r.get(name, 0.0) for r in records) / max(1, len(records)) for name in PHASES}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dask-only", action="store_true", help="pool vs Dask, nothing else")
    args = parser.parse_args()
    gib = 1024**3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        homework = root / "homework"
        paths = [
            nbs.write_notebook(nbs.homework(), homework / f"hw_{i:03d}.ipynb")
            for i in range(args.copies)
        ]
        lecture = root / "lecture"
        nbs.write_notebook(nbs.lecture_notebook(), lecture / "lecture.ipynb")
        single = nbs.write_notebook(nbs.homework(), root / "single" / "hw.ipynb")

        pooled, pooled_peak = grade(homework, root / "pool", args.jobs)
        dask_address = f"local:{args.jobs}"
        dasked, dask_peak = grade(homework, root / "dask", 1, "--dask", dask_address)
        same_on_dask = scores(root / "pool") == scores(root / "dask")
        if not args.dask_only:
            unpooled, _ = timed(grade_command(homework, root / "nopool", args.jobs, "--no-pool"))
            lecture_s, _ = timed(grade_command(lecture, root / "lecture_out", 1))
            check_s, _ = timed([sys.executable, "-m", "grader", "check", str(single)])
            plain = plain_nbclient(paths)
            same = scores(root / "pool") == scores(root / "nopool")
            pool_phases, plain_phases = phases(root / "pool"), phases(root / "nopool")

    n = args.copies
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"homework x{n}, grader grade --jobs {args.jobs} (warm pool): "
        f"{pooled / n:.2f} s per submission ({pooled:.1f} s), peak {pooled_peak / gib:.2f} GiB"
    )
    print(
        f"homework x{n}, grader grade --dask {dask_address} --jobs 1 (warm pool per worker): "
        f"{dasked / n:.2f} s per submission ({dasked:.1f} s), peak {dask_peak / gib:.2f} GiB; "
        f"Dask's overhead {100 * (dasked - pooled) / pooled:+.0f}%"
    )
    print(f"statuses, scores and checks identical here and on Dask: {same_on_dask}")
    if args.dask_only:
        return
    print(
        f"homework x{n}, grader grade --jobs {args.jobs} --no-pool: "
        f"{unpooled / n:.2f} s per submission ({unpooled:.1f} s)"
    )
    print(
        f"homework x{n}, plain nbclient one after another: {plain / n:.2f} s per "
        f"submission ({plain:.1f} s)"
    )
    print(
        f"warm pool vs plain nbclient: {plain / pooled:.1f}x; vs --no-pool: "
        f"{unpooled / pooled:.1f}x"
    )
    print(f"lecture notebook with the homework at its end: {lecture_s:.1f} s")
    print(f"grader check, one notebook, cold start: {check_s:.1f} s")
    print(f"statuses, scores and checks identical with and without the pool: {same}")
    print("mean seconds per submission and phase (each job runs one submission at a time):")
    print("| phase | warm pool | --no-pool |")
    print("|---|---|---|")
    for name in PHASES:
        print(f"| {name} | {pool_phases[name]:.3f} | {plain_phases[name]:.3f} |")


if __name__ == "__main__":
    main()
