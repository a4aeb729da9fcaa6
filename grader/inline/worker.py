"""``python -m grader.inline.worker NOTEBOOK OUT``: grade one notebook for the inline
check, in a process of its own; writes ``OUT/result.json`` and ``OUT/report.html``.

The student's kernel starts this, so grading never runs in the kernel it judges."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.api import grade_notebook
from grader.assignment import AssignmentError, load_assignment
from grader.report import write_student_report
from grader.result import write_json_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.inline.worker")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--assignment", default="exp_decay")
    parser.add_argument("--lang", choices=("ko", "en"), default="ko")
    args = parser.parse_args(argv)
    try:
        assignment = load_assignment(args.assignment)
    except AssignmentError as error:
        print(error, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    result = grade_notebook(args.notebook, assignment, lang=args.lang, facts_dir=args.out / "facts")
    write_student_report(
        result, assignment, args.out / "report.html", args.lang, args.out / "facts" / "facts.json"
    )
    write_json_atomic(args.out / "result.json", result.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
