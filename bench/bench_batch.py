"""Benchmark: grade K copies of the homework notebook and the lecture notebook with
`grader grade`, and execute the same notebooks with plain nbclient one after another
(as nbgrader's autograde does).  Prints seconds per submission, the ratio and the
peak memory of the kernels.  Not a test: its numbers go in the README.

    .venv/bin/python bench/bench_batch.py [--copies 24] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from grader.run.kernel import OwnInterpreterKernelManager, kernel_environment  # noqa: E402
from tests import notebooks as nbs  # noqa: E402


def plain_nbclient(paths: list[Path]) -> float:
    """Execute each notebook in a fresh kernel, one after another; no judging."""
    started = time.monotonic()
    for path in paths:
        nb = nbformat.read(path, 4)
        client = NotebookClient(
            nb,
            kernel_name="python3",
            kernel_manager_class=OwnInterpreterKernelManager,
            allow_errors=True,
            timeout=600,
        )
        os.environ.update(kernel_environment())
        client.execute(cwd=str(path.parent))
    return time.monotonic() - started


def grader_batch(folder: Path, out: Path, jobs: int) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(folder),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
        ],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        homework = root / "homework"
        paths = [
            nbs.write_notebook(nbs.homework(), homework / f"hw_{i:03d}.ipynb")
            for i in range(args.copies)
        ]
        lecture = root / "lecture"
        nbs.write_notebook(nbs.lecture_notebook(), lecture / "lecture.ipynb")

        graded = grader_batch(homework, root / "out_hw", args.jobs)
        lecture_s = grader_batch(lecture, root / "out_lecture", 1)
        plain = plain_nbclient(paths)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"homework x{args.copies}, grader grade --jobs {args.jobs}: "
        f"{graded / args.copies:.2f} s per submission ({graded:.1f} s in all)"
    )
    print(
        f"homework x{args.copies}, plain nbclient one after another: "
        f"{plain / args.copies:.2f} s per submission ({plain:.1f} s in all)"
    )
    print(f"speed-up over plain nbclient: {plain / graded:.2f}x")
    print(f"lecture notebook with the homework at its end: {lecture_s:.1f} s")
    print(f"largest resident memory of one child process: {peak_kb / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
