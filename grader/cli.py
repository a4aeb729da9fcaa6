"""Command line: argument parsing and console output only.

  grader grade DIR --out OUT [--jobs N]   grade a folder (instructor, LMS batch job)
  grader check NOTEBOOK                   one notebook, a table and a report (student)
  grader reference build [ASSIGNMENT]     regenerate reference/<assignment>/reference.json

Exit codes: grade: 0 when grading happened, whatever the scores; check: 0 when every
check passes, 1 when some fail; 2 on a usage error or when the grader itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from grader import __version__
from grader.assignment import AssignmentError, load_assignment
from grader.result import Result
from grader.run.executor import Limits

EXIT_OK, EXIT_FAILED_CHECKS, EXIT_USAGE = 0, 1, 2


class Progress:
    """A progress bar on a terminal; one line per submission otherwise (CI logs, LMS)."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, result: Result, done: int, total: int) -> None:
        score = f"{result.score:g}/{result.max_score:g}"
        if self.tty:
            width = 30
            filled = int(width * done / max(total, 1))
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                f"{elapsed:5.0f}s  {result.submission[:40]:<40} {score}"
            )
            if done == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{done}/{total}] {result.submission}: {result.status} {score}\n")
        self.stream.flush()


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(cell_timeout_s=args.cell_timeout, notebook_timeout_s=args.notebook_timeout)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--assignment",
        default="exp_decay",
        help="assignment name under assignments/, or a path to its TOML (default: exp_decay)",
    )
    parser.add_argument(
        "--lang",
        choices=("ko", "en"),
        default="ko",
        help="language of messages and reports (default: ko)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds one cell may run before it is interrupted (120)",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds one notebook may run in all (600)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("folder", type=Path)
    grade.add_argument("--out", type=Path, required=True, help="output folder")
    grade.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="notebooks run at once (default: the number of cores)",
    )
    _add_common(grade)

    check = commands.add_parser("check", help="check one notebook before handing it in")
    check.add_argument("notebook", type=Path)
    check.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the report goes (default: beside the notebook)",
    )
    _add_common(check)

    reference = commands.add_parser("reference", help="reference results")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    build = reference_commands.add_parser("build", help="regenerate reference.json")
    build.add_argument("assignment", nargs="?", default="exp_decay")
    build.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="Keras seeds to confirm the set with (default: the assignment's)",
    )
    return parser


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.batch import BatchOptions, find_submissions, grade_folder

    if not args.folder.is_dir():
        print(f"grader: {args.folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs < 1:
        print("grader: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    assignment = load_assignment(args.assignment)
    total = len(find_submissions(args.folder))
    print(
        f"grading {total} notebook(s) in {args.folder} for '{assignment.name}' "
        f"with {args.jobs} job(s)",
        file=sys.stderr,
    )
    options = BatchOptions(jobs=args.jobs, limits=_limits(args), lang=args.lang)
    results = grade_folder(args.folder, args.out, assignment, options, Progress())
    from grader.report import write_class_report

    write_class_report(args.out, assignment, args.lang)
    statuses = {
        s: sum(r.status == s for r in results) for s in ("graded", "invalid", "timeout", "error")
    }
    print("  ".join(f"{k}: {v}" for k, v in statuses.items()))
    print(f"results: {args.out / 'results.json'}")
    print(f"report:  {args.out / 'index.html'}")
    internal = [r.submission for r in results if r.extras.get("internal_error")]
    if internal:
        print(f"grader: internal errors on {', '.join(internal)}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from grader.api import grade_notebook
    from grader.report import write_student_report

    if not args.notebook.is_file():
        print(f"grader: {args.notebook} is not a file", file=sys.stderr)
        return EXIT_USAGE
    assignment = load_assignment(args.assignment)
    out = args.out or args.notebook.resolve().parent
    with tempfile.TemporaryDirectory(prefix="grader-check-") as facts_dir:
        result = grade_notebook(
            args.notebook,
            assignment,
            limits=_limits(args),
            lang=args.lang,
            facts_dir=Path(facts_dir),
        )
        report = write_student_report(
            result,
            assignment,
            out,
            args.lang,
            beside=True,
            facts_path=Path(facts_dir) / "facts.json",
        )
    print(f"{result.submission}: {result.status}, {result.score:g} / {result.max_score:g}")
    for message in result.messages:
        print(f"  {message}")
    for check in result.checks:
        mark = "✓" if check.passed else "✗"
        print(
            f"  {mark} {check.name:<11} {check.points:>5g}/{check.max_points:<4g} {check.message}"
        )
    print(f"report: {report}")
    passed = result.status == "graded" and all(c.passed for c in result.checks)
    return EXIT_OK if passed else EXIT_FAILED_CHECKS


def cmd_reference(args: argparse.Namespace) -> int:
    from grader.reference import build_reference, reference_path

    assignment = load_assignment(args.assignment)
    document = build_reference(assignment, args.seeds)
    worst = max(r["distance_to_set"] for r in document["keras_runs"])
    print(
        f"{reference_path(assignment)}: OLS {document['beta_ols']}, "
        f"{len(document['keras_runs'])} Keras runs, largest distance to the set {worst:.2g}"
        f" (tolerance {document['tolerance']:.2g})"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "grade":
            return cmd_grade(args)
        if args.command == "check":
            return cmd_check(args)
        return cmd_reference(args)
    except AssignmentError as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grader: interrupted; finished results are in the output folder", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
